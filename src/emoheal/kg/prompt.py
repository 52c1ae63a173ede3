"""Words for a stage's musical targets: the text prompt a text-to-music retriever reads,
and the reading aids (dynamics markings) that people read."""

from __future__ import annotations

# Upper bounds (exclusive) and words, slowest/softest first.
_TEMPO = ((55, "very slow"), (70, "slow"), (90, "moderate"), (115, "lively"), (135, "fast"))
_LOUDNESS = ((-31, "very soft"), (-26, "soft"), (-19, "gentle"), (-13, "strong"))
_DYNAMICS = ((-31, "pp"), (-26, "p"), (-21, "mp"), (-16, "mf"), (-11, "f"))
_DENSITY = ((1.5, "sparse"), (3.5, "flowing"), (6.0, "busy"))
_BRIGHTNESS = ((1000, "warm and dark"), (2000, "warm"), (3000, "bright"))
_GEMS_WORD = {
    "wonder": "full of wonder", "transcendence": "spacious", "tenderness": "tender", "nostalgia": "nostalgic",
    "peacefulness": "peaceful", "power": "powerful", "joyful_activation": "joyful", "tension": "tense",
    "sadness": "sad",
}


def _band(value: float, bands: tuple[tuple[float, str], ...], top: str) -> str:
    for bound, word in bands:
        if value < bound:
            return word
    return top


def dynamics_marking(loudness_lufs: float) -> str:
    """A reading aid only: the rough dynamics marking of an integrated loudness."""
    return _band(loudness_lufs, _DYNAMICS, "ff")


def tempo_words(tempo_bpm: float) -> str:
    return _band(tempo_bpm, _TEMPO, "very fast")


def loudness_words(loudness_lufs: float) -> str:
    return _band(loudness_lufs, _LOUDNESS, "loud")


def mode_words(mode_major: float) -> str:
    if mode_major >= 0.65:
        return "major key"
    if mode_major <= 0.35:
        return "minor key"
    return "between major and minor"


def stage_prompt(targets: dict, top_factor: str, timbre_phrases: list[str]) -> str:
    """e.g. 'very slow, very soft ambient pads and solo piano, major key, around 52 BPM,
    sparse, warm and dark, legato, low register, peaceful'."""
    tempo = targets["tempo_bpm"]
    parts = [
        _band(tempo, _TEMPO, "very fast"),
        f"{_band(targets['loudness_lufs'], _LOUDNESS, 'loud')} {' and '.join(timbre_phrases[:2])}".strip(),
        mode_words(targets["mode_major"]),
        f"around {round(tempo)} BPM",
        _band(targets["density_onsets_per_s"], _DENSITY, "dense"),
        _band(targets["brightness_hz"], _BRIGHTNESS, "brilliant"),
    ]
    if targets["articulation_legato"] >= 0.75:
        parts.append("legato")
    elif targets["articulation_legato"] <= 0.4:
        parts.append("staccato")
    if targets["consonance"] <= 0.4:
        parts.append("dissonant")
    if targets["register_midi"] < 56:
        parts.append("low register")
    elif targets["register_midi"] > 70:
        parts.append("high register")
    parts.append(_GEMS_WORD[top_factor])
    return ", ".join(parts)
