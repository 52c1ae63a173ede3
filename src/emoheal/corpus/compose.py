"""A seeded, rule-based composer of calm music: from a stage's musical targets (tempo, mode
probability, register, density, loudness, timbre tags) it writes a MIDI piece of a requested
length that a GM soundfont renders (corpus/render.py).

The piece: 4-bar phrases over a chord progression in the key and mode (one chord a bar, the
dominant from the harmonic minor in minor keys), a bass note and a close-position chord voiced
low in the register, and a line above them — a slow stepwise melody with an arch per phrase, or
an arpeggio of the chord — at the target density, its notes on the beat grid so the pulse is
the composed tempo. The last phrase closes on the tonic: a cadence, a held final chord and a
decrescendo. Everything random comes from one seeded generator: the same spec writes the same
bytes.

Two instruments at most: the harmony in a sustained timbre (pad, strings, choir, organ) when the
stage's timbres hold one, the line in a struck or plucked one (piano, harp, guitar, celesta) so
its onsets — and the tempo — can be heard; a melody-only timbre (flute) may take the melody.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emoheal.corpus.key import PITCH_CLASSES  # the key names the audio's key estimate uses

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor; the dominant chord raises the 7th (harmonic minor)
# progressions of scale degrees (0 = tonic), one chord a bar, four bars a phrase; the final
# phrase closes on the tonic (authentic or plagal cadence)
PHRASES = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 5, 4), (0, 2, 3, 4), (5, 3, 0, 4), (3, 0, 4, 5), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 5, 4), (0, 5, 3, 4), (0, 6, 5, 6), (5, 3, 0, 4), (0, 3, 6, 2)),
}
# for a pleasant intent (valence > 0) in major: the primary triads (I, IV, V) only — the minor
# chords of the phrases above (ii, iii, vi) darkened calm pieces enough to be heard as sad
CONTENT_PHRASES = ((0, 3, 4, 0), (0, 4, 3, 4), (0, 3, 0, 4), (3, 0, 4, 0), (0, 0, 3, 4))
CADENCES = {"major": ((3, 4, 0, 0), (3, 3, 0, 0), (1, 4, 0, 0)), "minor": ((3, 4, 0, 0), (5, 3, 0, 0))}
SUSTAINED = ("ambient_pad", "strings", "choir", "organ")  # what holds the harmony best
STRUCK = ("piano", "harp", "acoustic_guitar", "celesta", "electric_guitar")  # whose onsets carry the pulse
# loudness before normalisation ≈ 0.32 * mean velocity - 51 LUFS: least squares over EMOPIA's
# piano renders (FluidR3_GM, gain 1.0; 299 clips, models/corpus/scores.parquet)
LUFS_PER_VELOCITY, LUFS_AT_ZERO = 0.32, -51.0


class ComposeError(ValueError):
    """A spec the composer cannot honour (no playable timbre, an impossible range)."""


@dataclass(frozen=True)
class ComposeSpec:
    tempo_bpm: float
    mode: str  # major | minor
    tonic: int  # pitch class, 0 = C
    register_midi: float  # where the notes' mean pitch should lie
    density_per_s: float  # note onsets per second (chords and line together)
    loudness_lufs: float  # the rendered loudness before normalisation to aim at
    harmony_program: int  # GM program, 0-based
    line_program: int
    timbres: tuple[str, ...]  # the tags the two programs sound as (harmony first)
    seconds: float
    seed: int
    beats_per_bar: int = 4
    line: str = "melody"  # melody | arpeggio
    intent: dict = field(default_factory=dict)  # what it was composed for (goal, stage, valence, arousal)

    def __post_init__(self):
        if self.mode not in ("major", "minor"):
            raise ComposeError(f"mode must be major or minor, not {self.mode!r}")
        if not 30 <= self.tempo_bpm <= 200:
            raise ComposeError(f"tempo {self.tempo_bpm} BPM is outside 30-200")
        if self.seconds < 4 * self.beats_per_bar * 60 / self.tempo_bpm:
            raise ComposeError(f"{self.seconds} s is shorter than one 4-bar phrase at {self.tempo_bpm} BPM")
        if self.line not in ("melody", "arpeggio"):
            raise ComposeError(f"line must be melody or arpeggio, not {self.line!r}")

    @property
    def key(self) -> str:
        return f"{PITCH_CLASSES[self.tonic % 12]} {self.mode}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["timbres"] = list(self.timbres)
        d["key"] = self.key
        return d


@dataclass(frozen=True)
class Composition:
    """The notes of a piece, per instrument: (pitch, start s, end s, velocity)."""
    spec: ComposeSpec
    bars: int
    bar_s: float
    progression: tuple[int, ...]  # scale degree of each bar's chord
    harmony: tuple[tuple[int, float, float, int], ...]
    line: tuple[tuple[int, float, float, int], ...]

    @property
    def seconds(self) -> float:
        return self.bars * self.bar_s

    def onsets(self) -> np.ndarray:
        """Distinct onset times (s) of all notes: what an onset detector can hear at most."""
        times = {round(n[1], 4) for n in (*self.harmony, *self.line)}
        return np.array(sorted(times))

    def write_midi(self, path: str | Path) -> Path:
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(initial_tempo=self.spec.tempo_bpm)
        pm.time_signature_changes.append(pretty_midi.TimeSignature(self.spec.beats_per_bar, 4, 0.0))
        for program, notes, name in ((self.spec.harmony_program, self.harmony, "harmony"),
                                     (self.spec.line_program, self.line, "line")):
            inst = pretty_midi.Instrument(program=program, name=name)
            inst.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for p, s, e, v in notes]
            pm.instruments.append(inst)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pm.write(str(path))
        return path


def velocity_for(lufs: float) -> int:
    return int(np.clip(round((lufs - LUFS_AT_ZERO) / LUFS_PER_VELOCITY), 20, 112))


def scale_of(spec: ComposeSpec) -> tuple[int, ...]:
    return MAJOR if spec.mode == "major" else MINOR


def chord_pitch_classes(spec: ComposeSpec, degree: int) -> tuple[int, int, int]:
    """Root, third and fifth of the triad on `degree`, as pitch classes; V is major in minor."""
    scale = scale_of(spec)
    pcs = [(spec.tonic + scale[(degree + k) % 7]) % 12 for k in (0, 2, 4)]
    if spec.mode == "minor" and degree == 4:
        pcs[1] = (pcs[1] + 1) % 12  # the raised leading tone
    return pcs[0], pcs[1], pcs[2]


def _pitch_at_or_above(pc: int, low: int) -> int:
    return low + (pc - low) % 12


def _progression(spec: ComposeSpec, bars: int, rng: np.random.Generator) -> tuple[int, ...]:
    content = spec.mode == "major" and float(spec.intent.get("valence", 0.0)) > 0
    phrases = CONTENT_PHRASES if content else PHRASES[spec.mode]
    chords: list[int] = []
    while len(chords) < bars - 4:
        chords.extend(phrases[int(rng.integers(len(phrases)))])
    cadences = CADENCES[spec.mode][:2] if content else CADENCES[spec.mode]  # IV-V-I or IV-IV-I (plagal)
    cadence = cadences[int(rng.integers(len(cadences)))]
    chords = chords[: max(bars - 4, 0)] + list(cadence)
    return tuple(chords[-bars:])


def _line_slots(spec: ComposeSpec, bar_s: float, final_phrase_bar: int | None) -> list[float]:
    """Onset times within a bar (s) for the line, on the beat grid (eighths when the density
    needs more than a note a beat, sixteenths past two); the chord's downbeat counts as one onset. A phrase's last
    bar and the final bars hold longer notes."""
    beats = spec.beats_per_bar
    per_bar = max(spec.density_per_s * bar_s, 1.0)  # onsets a bar, chords included
    sub = next((k for k in (1, 2, 4) if per_bar <= beats * k), 4)  # quarters, eighths or sixteenths
    grid = beats * sub
    # the nearest power of two a bar (1, 2, 4, 8 ...): evenly spaced on the grid, so the pulse is regular —
    # uneven groupings (7 notes on 16 slots) were heard at 4/3 of the composed tempo
    wanted = 2 ** int(np.round(np.log2(np.clip(per_bar, 1, grid))))
    if final_phrase_bar is not None:
        wanted = max(1, wanted // 2) if final_phrase_bar < 2 else 1
    step = grid / wanted
    return [int(math.floor(i * step + 1e-9)) * bar_s / grid for i in range(wanted)]


def compose(spec: ComposeSpec) -> Composition:
    rng = np.random.default_rng(spec.seed)
    beat_s = 60.0 / spec.tempo_bpm
    bar_s = spec.beats_per_bar * beat_s
    bars = max(8, int(round(spec.seconds / bar_s / 4)) * 4)  # whole phrases, at least two
    progression = _progression(spec, bars, rng)
    base_velocity = velocity_for(spec.loudness_lufs)
    register = float(spec.register_midi)
    bass_low = int(np.clip(round(register - 15), 28, 60))
    # a pad's sustained chords a fourth higher: low in the register they turned dark enough to be
    # heard as sad (estimated valence just below zero in calm, major pieces)
    lift = 5 if spec.timbres and spec.timbres[0] == "ambient_pad" else 0
    chord_low = int(np.clip(round(register - 4 + lift), 40, 72))
    # the line sits above the chords (an octave and a half wide), the bass below: their mean is the register
    line_low, line_high = int(np.clip(round(register + 5), 48, 84)), int(np.clip(round(register + 17), 60, 96))
    scale = scale_of(spec)
    line_pitches = [p for p in range(line_low, line_high + 1) if (p - spec.tonic) % 12 in scale]
    harmony, line = [], []
    melody_at = len(line_pitches) // 3  # index into line_pitches
    for bar, degree in enumerate(progression):
        start = bar * bar_s
        bars_left = bars - bar
        fade = 1.0 if bars_left > 4 else 0.55 + 0.1 * bars_left  # the decrescendo of the last phrase
        velocity = int(np.clip(round(base_velocity * fade), 16, 120))
        root, third, fifth = chord_pitch_classes(spec, degree)
        end = start + bar_s if bars_left > 1 else bars * bar_s
        if bars_left == 2 and progression[-1] == progression[-2]:
            end = bars * bar_s  # the final chord held over the last two bars
        if not (bars_left == 1 and progression[-1] == progression[-2]):
            bass = _pitch_at_or_above(root, bass_low)
            chord = sorted(_pitch_at_or_above(pc, chord_low) for pc in (root, third, fifth))
            for pitch in (bass, *chord):
                harmony.append((pitch, start, end, max(16, velocity - 8)))
        phrase_bar = bar % 4
        final_bar = bars_left - 1 if bars_left <= 2 else (None if phrase_bar < 3 else 2)
        slots = _line_slots(spec, bar_s, final_bar)
        tones = {root, third, fifth}
        for i, offset in enumerate(slots):
            onset = start + offset
            until = start + (slots[i + 1] if i + 1 < len(slots) else bar_s)
            if bars_left == 1:
                until = bars * bar_s
            if spec.line == "arpeggio":
                ring = sorted(p for p in line_pitches if p % 12 in tones)[:6] or line_pitches[:3]
                pitch = ring[(i if (bar // 2) % 2 == 0 else len(ring) - 1 - i) % len(ring)]
            else:
                # an arch per phrase: drift up in its first half, down in its second, by steps
                drift = 1 if phrase_bar < 2 else -1
                move = int(rng.choice((-1, 0, 1, 1, 2) if drift > 0 else (-2, -1, -1, 0, 1)))
                melody_at = int(np.clip(melody_at + move, 0, len(line_pitches) - 1))
                if i == 0 or bars_left <= 1:  # strong beats and the close land on a chord tone
                    targets = [k for k, p in enumerate(line_pitches) if p % 12 in ({root} if bars_left <= 1 else tones)]
                    melody_at = min(targets, key=lambda k: abs(k - melody_at)) if targets else melody_at
                pitch = line_pitches[melody_at]
            accent = 6 if offset == 0 else 0
            jitter = int(rng.integers(-4, 5))
            line.append((pitch, onset, until, int(np.clip(velocity + accent + jitter, 16, 120))))
    return Composition(spec, bars, bar_s, progression, tuple(harmony), tuple(line))
