"""Which General MIDI program renders which timbre tag of the knowledge graph, and which tags
a GM soundfont cannot play honestly (data/corpus/gm_programs.csv, reviewed like the KG rules).

`plays` says what a program may be given: `any` (a polyphonic instrument: a piano score is
idiomatic enough), `melody` (a one-note-at-a-time instrument such as the flute: only the
composer's melody line, never a piano score's chords) or `none` (GM percussion: a pitched score
on a drum kit is not music).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

PLAYS = ("any", "melody", "none")
TIMBRE_SEPARATOR = "+"  # an item sounding in several timbres (a composed piece): "ambient_pad+flute"


class TimbreError(ValueError):
    """The program table is malformed, or a timbre was asked of a program that cannot play it."""


@dataclass(frozen=True)
class TimbreProgram:
    timbre: str
    program: int | None  # 0-based, as MIDI files and pretty_midi count (GM numbers are 1-based)
    gm_name: str
    plays: str
    reason: str

    @property
    def renders_scores(self) -> bool:
        """Whether a (polyphonic) piano score may be rendered in this timbre."""
        return self.plays == "any"


def read_programs(path: str | Path, known_tags: set[str] | None = None) -> dict[str, TimbreProgram]:
    """The table as {tag: program}; with `known_tags` (data/kg/timbres.csv), every KG tag must
    have exactly one row and no row may name an unknown tag."""
    path = Path(path)
    if not path.is_file():
        raise TimbreError(f"{path} not found: the timbre-to-program table lives in data/corpus/")
    table: dict[str, TimbreProgram] = {}
    with path.open(newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            tag, plays = row["timbre"].strip(), row["plays"].strip()
            where = f"{path}, row {line}"
            if plays not in PLAYS:
                raise TimbreError(f"{where}: plays {plays!r} is not one of {', '.join(PLAYS)}")
            if tag in table:
                raise TimbreError(f"{where}: timbre {tag!r} appears twice")
            number = row["gm_program"].strip()
            if plays == "none":
                program = None
            elif not number.isdigit() or not 1 <= int(number) <= 128:
                raise TimbreError(f"{where}: gm_program {number!r} is not a General MIDI program 1-128")
            else:
                program = int(number) - 1
            if not row.get("source", "").strip():
                raise TimbreError(f"{where}: no source")
            table[tag] = TimbreProgram(tag, program, row["gm_name"].strip(), plays, row["reason"].strip())
    if known_tags is not None:
        missing, unknown = sorted(known_tags - set(table)), sorted(set(table) - known_tags)
        if missing or unknown:
            raise TimbreError(f"{path} must map exactly the KG's timbre tags: missing {missing}, unknown {unknown}")
    return table


def kg_timbre_tags(kg_rules: str | Path) -> set[str]:
    """The timbre tags of the curated rules (data/kg/timbres.csv)."""
    with (Path(kg_rules) / "timbres.csv").open(newline="") as f:
        return {row["timbre"].strip() for row in csv.DictReader(f)}


def score_programs(table: dict[str, TimbreProgram], tags: list[str]) -> dict[str, int]:
    """{tag: program} for rendering scores in `tags`, refusing a tag that cannot play one."""
    out = {}
    for tag in tags:
        if tag not in table:
            raise TimbreError(f"unknown timbre {tag!r}: the table has {', '.join(sorted(table))}")
        if not table[tag].renders_scores:
            raise TimbreError(f"timbre {tag!r} cannot render a piano score ({table[tag].reason})")
        out[tag] = table[tag].program
    return out


def split_timbres(value: str | None) -> frozenset[str]:
    """An item's timbre tags ("ambient_pad+flute" -> both); none for unknown (user media)."""
    if not isinstance(value, str) or not value:
        return frozenset()
    return frozenset(t for t in value.split(TIMBRE_SEPARATOR) if t)
