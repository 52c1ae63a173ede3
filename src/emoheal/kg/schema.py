"""What each curated CSV under data/kg/ must contain: columns, types, units and ranges.

The schema is data, so the validator, the docs (data/kg/README.md) and the tests
read one definition. Units are part of the column names on purpose: a reviewer
reading `tempo_min_bpm` cannot mistake beats per minute for a 0..1 score.
"""

from __future__ import annotations

from dataclasses import dataclass

# The nine GEMS factors (Zentner, Grandjean & Scherer 2008), in the paper's order.
GEMS_FACTORS: tuple[str, ...] = (
    "wonder", "transcendence", "tenderness", "nostalgia", "peacefulness",
    "power", "joyful_activation", "tension", "sadness",
)

# The three iso-principle stages, in session order. The planner relies on these names.
STAGES: tuple[str, ...] = ("match", "guide", "target")

CURVES: tuple[str, ...] = ("none", "linear", "smoothstep", "sigmoid")
DIRECTIONS: tuple[str, ...] = ("down", "up", "any")
FAMILIES: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")

# Musical parameters a stage targets: name -> (unit, what it measures).
PARAMETERS: dict[str, tuple[str, str]] = {
    "tempo_bpm": ("BPM", "beats per minute"),
    "mode_major": ("probability", "probability that the music is in a major mode"),
    "loudness_lufs": ("LUFS", "integrated loudness (ITU-R BS.1770)"),
    "articulation_legato": ("share", "share of notes played legato (0 staccato .. 1 legato)"),
    "consonance": ("share", "share of consonant simultaneities (0 dissonant .. 1 consonant)"),
    "register_midi": ("MIDI note", "pitch centre as a MIDI note number (60 = middle C)"),
    "density_onsets_per_s": ("onsets/s", "note onsets per second"),
    "brightness_hz": ("Hz", "spectral centroid"),
}

# Ranged parameters: parameter -> (low column, high column) in gems.csv and goals.csv.
RANGED: dict[str, tuple[str, str]] = {
    "tempo_bpm": ("tempo_min_bpm", "tempo_max_bpm"),
    "loudness_lufs": ("loudness_min_lufs", "loudness_max_lufs"),
    "register_midi": ("register_low_midi", "register_high_midi"),
    "density_onsets_per_s": ("density_min_per_s", "density_max_per_s"),
    "brightness_hz": ("brightness_min_hz", "brightness_max_hz"),
}
# Single-valued parameters: parameter -> column.
SINGLE: dict[str, str] = {
    "mode_major": "mode_major",
    "articulation_legato": "articulation_legato",
    "consonance": "consonance",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "float", "int", "list" (';'-separated), "enum", "sources"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = True  # a required cell may not be empty (a "list" may be empty if not required)
    doc: str = ""


@dataclass(frozen=True)
class Table:
    file: str
    key: str
    columns: tuple[Column, ...]
    doc: str

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _profile_columns() -> tuple[Column, ...]:
    """The musical profile shared by GEMS factors and goals, in explicit units."""
    return (
        Column("tempo_min_bpm", "float", 30, 220, doc="slowest tempo, BPM"),
        Column("tempo_max_bpm", "float", 30, 220, doc="fastest tempo, BPM"),
        Column("mode_major", "float", 0, 1, doc="probability of a major mode"),
        Column("loudness_min_lufs", "float", -60, 0, doc="quietest integrated loudness, LUFS"),
        Column("loudness_max_lufs", "float", -60, 0, doc="loudest integrated loudness, LUFS"),
        Column("articulation_legato", "float", 0, 1, doc="share of legato notes"),
        Column("consonance", "float", 0, 1, doc="share of consonant simultaneities"),
        Column("register_low_midi", "float", 21, 108, doc="lowest pitch, MIDI note (21 = A0, 108 = C8)"),
        Column("register_high_midi", "float", 21, 108, doc="highest pitch, MIDI note"),
        Column("density_min_per_s", "float", 0, 20, doc="sparsest note density, onsets per second"),
        Column("density_max_per_s", "float", 0, 20, doc="densest note density, onsets per second"),
        Column("brightness_min_hz", "float", 100, 8000, doc="darkest spectral centroid, Hz"),
        Column("brightness_max_hz", "float", 100, 8000, doc="brightest spectral centroid, Hz"),
        Column("prefer_timbres", "list", required=True, doc="timbres that suit, best first (timbres.csv)"),
        Column("avoid_timbres", "list", required=False, doc="timbres that do not suit (timbres.csv)"),
    )


def _gems_columns() -> tuple[Column, ...]:
    return tuple(Column(f, "float", 0, 1, doc=f"GEMS weight of {f}") for f in GEMS_FACTORS)


SOURCE = Column("source", "sources", doc="citation keys from sources.csv and/or 'curated: <reasoning>', ';'-separated")

TABLES: dict[str, Table] = {
    "sources": Table("sources.csv", "key", (
        Column("key", "str", doc="citation key used in source columns"),
        Column("citation", "str", doc="full reference"),
        Column("url", "str", required=False, doc="DOI or address"),
    ), "the references every number cites"),
    "timbres": Table("timbres.csv", "timbre", (
        Column("timbre", "str", doc="timbre tag"),
        Column("phrase", "str", doc="how a text prompt names it"),
        Column("gm_family", "str", doc="General MIDI instrument family"),
        SOURCE,
    ), "timbre tags that factors and goals prefer or avoid"),
    "emotions": Table("emotions.csv", "label", (
        Column("label", "str", doc="GoEmotions label"),
        Column("family", "enum", choices=FAMILIES, doc="Ekman group (GoEmotions mapping) or neutral"),
        Column("valence", "float", -1, 1, doc="valence on [-1, 1]"),
        Column("arousal", "float", -1, 1, doc="arousal on [-1, 1]"),
        *_gems_columns(),
        SOURCE,
    ), "one row per GoEmotions label: valence, arousal and GEMS weights summing to 1"),
    "gems": Table("gems.csv", "factor", (
        Column("factor", "enum", choices=GEMS_FACTORS, doc="GEMS factor"),
        Column("description", "str", doc="the GEMS adjectives of the factor"),
        *_profile_columns(),
        SOURCE,
    ), "one row per GEMS factor: its musical profile"),
    "goals": Table("goals.csv", "goal", (
        Column("goal", "str", doc="goal name"),
        Column("description", "str", doc="what the session aims at"),
        Column("valence", "float", -1, 1, doc="target valence"),
        Column("arousal", "float", -1, 1, doc="target arousal"),
        *_profile_columns(),
        *_gems_columns(),
        Column("max_tempo_step_bpm", "float", 1, 100, doc="largest tempo change between consecutive stages, BPM"),
        Column("loudness_ceiling_lufs", "float", -60, 0, doc="no stage may be louder, LUFS"),
        Column("arousal_direction", "enum", choices=DIRECTIONS,
               doc="down: arousal, tempo, loudness and density never rise across stages; up: never fall"),
        SOURCE,
    ), "goals: the target state, its musical profile and its constraints"),
    "schedule": Table("schedule.csv", "stage", (
        Column("stage", "enum", choices=STAGES, doc="stage name"),
        Column("order", "int", 1, 3, doc="position in the session"),
        Column("share", "float", 0.05, 0.9, doc="share of the session's minutes"),
        Column("progress", "float", 0, 1, doc="how far from the current state toward the goal (0..1)"),
        Column("curve", "enum", choices=CURVES, doc="shape of the approach to this stage"),
        Column("purpose", "str", doc="what the stage is for"),
        SOURCE,
    ), "the iso-principle schedule"),
}

# Tolerance for weights and shares that must sum to 1 (two-decimal CSV values add up exactly
# in decimal; this only absorbs binary floating point).
SUM_TOLERANCE = 1e-6
