"""Read and validate the curated CSV rules under data/kg/.

Every problem is collected (not just the first) and names the file, the row as a
spreadsheet shows it (the header is row 1) and the column, so one run of the
compile stage tells a reviewer everything that is wrong with a change.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emoheal.kg.schema import GEMS_FACTORS, RANGED, STAGES, SUM_TOLERANCE, TABLES, Column, Table
from emoheal.utils.hashing import sha256_file

CURATED = "curated:"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class KGValidationError(ValueError):
    """The rules are invalid; `problems` lists every finding."""

    MAX_SHOWN = 40

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[: self.MAX_SHOWN])
        more = len(problems) - self.MAX_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge-graph rules:\n{shown}{tail}")


@dataclass(frozen=True)
class Row:
    line: int  # the spreadsheet row (header = 1)
    values: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.values[column]


@dataclass
class Rules:
    """The validated tables, keyed by each table's key column, in file order."""

    folder: Path
    tables: dict[str, dict[str, Row]]
    file_hashes: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> dict[str, Row]:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def file_of(self, table: str) -> str:
        return TABLES[table].file


# ----------------------------------------------------------------------------- cells

def _parse_cell(text: str, column: Column) -> tuple[Any, str | None]:
    """(value, problem message or None)."""
    text = text.strip()
    if column.kind in ("list", "sources"):
        parts = [p.strip() for p in text.split(";")]
        parts = [p for p in parts if p]
        if column.required and not parts:
            return (), "is empty"
        if len(set(parts)) != len(parts):
            return tuple(parts), "lists an entry twice"
        return tuple(parts), None
    if not text:
        return None, "is empty" if column.required else None
    if column.kind == "str":
        return text, None
    if column.kind == "enum":
        if text not in column.choices:
            return None, f"{text!r} is not one of: {', '.join(column.choices)}"
        return text, None
    if column.kind in ("float", "int"):
        try:
            value: float = int(text) if column.kind == "int" else float(text)
        except ValueError:
            kind = "a whole number" if column.kind == "int" else "a number"
            return None, f"{text!r} is not {kind}"
        if not math.isfinite(value):
            return None, f"{text!r} is not a finite number"
        if column.low is not None and column.high is not None and not column.low <= value <= column.high:
            return None, f"{text} is outside [{column.low:g}, {column.high:g}]"
        return value, None
    raise ValueError(f"unknown column kind {column.kind!r}")  # a schema bug, not a data problem


def _read_table(folder: Path, table: Table, problems: list[Problem]) -> tuple[dict[str, Row], bool]:
    """The table's rows by key, and whether every cell parsed (cross-checks need that)."""
    path = folder / table.file
    name = table.file  # load_rules prefixes the folder
    if not path.is_file():
        problems.append(Problem(name, None, None, "file is missing"))
        return {}, False
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return {}, False
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        problems.append(Problem(name, 1, None, "is empty: expected a header row"))
        return {}, False
    header = [h.strip() for h in header]
    known = {c.name for c in table.columns}
    for col in sorted({h for h in header if header.count(h) > 1}):
        problems.append(Problem(name, 1, col, "column appears more than once"))
    for col in header:
        if col not in known:
            problems.append(Problem(name, 1, col, f"unknown column (expected: {', '.join(table.names)})"))
    missing = [c for c in table.columns if c.name not in header]
    for col in missing:
        problems.append(Problem(name, 1, col.name, "missing column"))
    present = [c for c in table.columns if c.name in header]
    index = {h: i for i, h in enumerate(header)}

    rows: dict[str, Row] = {}
    first_line: dict[str, int] = {}
    complete = not missing
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) != len(header):
            problems.append(Problem(name, line, None, f"has {len(record)} cells but the header has {len(header)}"))
            complete = False
            continue
        values: dict[str, Any] = {}
        ok = True
        for col in present:
            value, message = _parse_cell(record[index[col.name]], col)
            if message:
                problems.append(Problem(name, line, col.name, message))
                ok = False
            values[col.name] = value
        complete = complete and ok
        key = values.get(table.key)
        if key is None:
            continue
        if key in first_line:
            problems.append(Problem(name, line, table.key, f"{key!r} already defined in row {first_line[key]}"))
            continue
        first_line[key] = line
        if ok and not missing:
            rows[key] = Row(line, values)
    return rows, complete


# ----------------------------------------------------------------------------- cross-checks

def _check_weights(table: str, rows: dict[str, Row], problems: list[Problem]) -> None:
    file = TABLES[table].file
    for row in rows.values():
        total = sum(row[f] for f in GEMS_FACTORS)
        if abs(total - 1.0) > SUM_TOLERANCE:
            problems.append(Problem(file, row.line, f"{GEMS_FACTORS[0]}..{GEMS_FACTORS[-1]}",
                                    f"GEMS weights sum to {total:.4f}, not 1"))


def _check_ranges(table: str, rows: dict[str, Row], problems: list[Problem]) -> None:
    file = TABLES[table].file
    for row in rows.values():
        for low, high in RANGED.values():
            if row[low] > row[high]:
                problems.append(Problem(file, row.line, high, f"{row[high]:g} is below {low} ({row[low]:g})"))


def _check_labels(rows: dict[str, Row], labels: list[str], ekman: dict[str, list[str]] | None,
                  problems: list[Problem]) -> None:
    file = TABLES["emotions"].file
    for label, row in rows.items():
        if label not in labels:
            problems.append(Problem(file, row.line, "label", f"{label!r} is not a GoEmotions label"))
    for label in labels:
        if label not in rows:
            problems.append(Problem(file, None, "label", f"no row for GoEmotions label {label!r}"))
    if ekman:
        family_of = {member: family for family, members in ekman.items() for member in members}
        for label, row in rows.items():
            expected = family_of.get(label, "neutral")
            if row["family"] != expected:
                problems.append(Problem(file, row.line, "family",
                                        f"{row['family']!r} disagrees with the GoEmotions Ekman mapping "
                                        f"({expected!r})"))


def _check_gems(rows: dict[str, Row], problems: list[Problem]) -> None:
    for factor in GEMS_FACTORS:
        if factor not in rows:
            problems.append(Problem(TABLES["gems"].file, None, "factor", f"no row for GEMS factor {factor!r}"))


def _check_goals(rows: dict[str, Row], problems: list[Problem]) -> None:
    file = TABLES["goals"].file
    for goal, row in rows.items():
        if not _NAME.match(goal):
            problems.append(Problem(file, row.line, "goal", f"{goal!r} must be lower-case letters, digits and _"))
        if row["loudness_ceiling_lufs"] < row["loudness_max_lufs"]:
            problems.append(Problem(file, row.line, "loudness_ceiling_lufs",
                                    f"{row['loudness_ceiling_lufs']:g} is below the goal's own loudness_max_lufs "
                                    f"({row['loudness_max_lufs']:g}): the target would break its ceiling"))


def _check_schedule(rows: dict[str, Row], problems: list[Problem]) -> None:
    file = TABLES["schedule"].file
    for stage in STAGES:
        if stage not in rows:
            problems.append(Problem(file, None, "stage", f"no row for stage {stage!r}"))
    if len(rows) != len(STAGES):
        return
    for position, stage in enumerate(STAGES, start=1):
        row = rows[stage]
        if row["order"] != position:
            problems.append(Problem(file, row.line, "order",
                                    f"{stage} must be stage {position} (match, guide, target)"))
    total = sum(r["share"] for r in rows.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        problems.append(Problem(file, None, "share", f"shares sum to {total:.4f}, not 1"))
    first, middle, last = (rows[s] for s in STAGES)
    if first["progress"] != 0:
        problems.append(Problem(file, first.line, "progress", "the match stage starts from the current state: 0"))
    if last["progress"] != 1:
        problems.append(Problem(file, last.line, "progress", "the target stage is the goal itself: 1"))
    if not 0 < middle["progress"] < 1:
        problems.append(Problem(file, middle.line, "progress", "the guide stage must lie strictly between 0 and 1"))
    if first["curve"] != "none":
        problems.append(Problem(file, first.line, "curve", "the first stage has no approach: 'none'"))
    for row in (middle, last):
        if row["curve"] == "none":
            problems.append(Problem(file, row.line, "curve", "a later stage needs an approach curve"))


def _check_references(tables: dict[str, dict[str, Row]], problems: list[Problem]) -> None:
    """Timbre and source references exist; nothing is left unreferenced."""
    timbres = tables["timbres"]
    sources = tables["sources"]
    used_timbres: set[str] = set()
    used_sources: set[str] = set()
    for name in ("gems", "goals"):
        file = TABLES[name].file
        for row in tables[name].values():
            for column in ("prefer_timbres", "avoid_timbres"):
                for tag in row[column]:
                    used_timbres.add(tag)
                    if tag not in timbres:
                        problems.append(Problem(file, row.line, column, f"unknown timbre {tag!r} (not in timbres.csv)"))
            both = set(row["prefer_timbres"]) & set(row["avoid_timbres"])
            if both:
                problems.append(Problem(file, row.line, "avoid_timbres",
                                        f"{', '.join(sorted(both))} both preferred and avoided"))
    for name, rows in tables.items():
        if "source" not in TABLES[name].names:
            continue
        file = TABLES[name].file
        for row in rows.values():
            for part in row["source"]:
                if part.startswith(CURATED):
                    if len(part[len(CURATED):].strip()) < 10:
                        problems.append(Problem(file, row.line, "source", "'curated:' needs its reasoning"))
                elif part in sources:
                    used_sources.add(part)
                else:
                    problems.append(Problem(file, row.line, "source",
                                            f"{part!r} is neither a key of sources.csv nor 'curated: <reasoning>'"))
    for tag, row in timbres.items():
        if tag not in used_timbres:
            problems.append(Problem(TABLES["timbres"].file, row.line, "timbre",
                                    f"{tag!r} is orphaned: no factor or goal prefers or avoids it"))
    for key, row in sources.items():
        if key not in used_sources:
            problems.append(Problem(TABLES["sources"].file, row.line, "key", f"{key!r} is orphaned: nothing cites it"))
    weighted = {f for name in ("emotions", "goals") for row in tables[name].values()
                for f in GEMS_FACTORS if row[f] > 0}
    for factor, row in tables["gems"].items():
        if factor not in weighted:
            problems.append(Problem(TABLES["gems"].file, row.line, "factor",
                                    f"{factor!r} is orphaned: no emotion or goal gives it weight"))


def load_rules(folder: str | Path, labels: Iterable[str], ekman: dict[str, list[str]] | None = None) -> Rules:
    """Read every table, validate it against the schema and the GoEmotions labels, or raise
    KGValidationError listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise KGValidationError([Problem(str(folder), None, None, "rules folder not found")])
    labels = list(labels)
    problems: list[Problem] = []
    read = {name: _read_table(folder, table, problems) for name, table in TABLES.items()}
    tables = {name: rows for name, (rows, _) in read.items()}
    if all(complete for _, complete in read.values()):  # cross-checks assume every cell parsed
        _check_weights("emotions", tables["emotions"], problems)
        _check_weights("goals", tables["goals"], problems)
        for name in ("gems", "goals"):
            _check_ranges(name, tables[name], problems)
        _check_labels(tables["emotions"], labels, ekman, problems)
        _check_gems(tables["gems"], problems)
        _check_goals(tables["goals"], problems)
        _check_schedule(tables["schedule"], problems)
        _check_references(tables, problems)
    if problems:
        files = {t.file for t in TABLES.values()}
        raise KGValidationError([Problem(str(folder / p.file), p.row, p.column, p.message) if p.file in files else p
                                 for p in problems])
    hashes = {t.file: sha256_file(folder / t.file) for t in TABLES.values()}
    return Rules(folder, tables, hashes)
