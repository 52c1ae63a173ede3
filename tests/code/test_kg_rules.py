"""The curated rules in data/kg: the shipped files are valid, and every kind of mistake a
reviewer could miss fails validation with the file, row and column named."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from emoheal.kg.compile import load_validated_rules
from emoheal.kg.rules import KGValidationError
from emoheal.kg.schema import GEMS_FACTORS, TABLES
from tests.helpers import ROOT

RULES = ROOT / "data" / "kg"
RAW = ROOT / "data" / "raw" / "goemotions"


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def _line_of(path: Path, key: str) -> int:
    """The spreadsheet row (header = 1) of the record whose first cell is `key`."""
    return next(i for i, row in enumerate(_rows(path), start=1) if row and row[0] == key)


def set_cell(folder: Path, file: str, key: str, column: str, value: str) -> int:
    path = folder / file
    rows = _rows(path)
    col = rows[0].index(column)
    line = _line_of(path, key)
    rows[line - 1][col] = value
    _write(path, rows)
    return line


@pytest.fixture
def rules_copy(tmp_path) -> Path:
    folder = tmp_path / "kg"
    shutil.copytree(RULES, folder)
    return folder


def _problems(folder: Path):
    with pytest.raises(KGValidationError) as info:
        load_validated_rules(folder, RAW)
    return info.value


def _assert_problem(error: KGValidationError, file: str, row: int | None, column: str | None, fragment: str) -> None:
    for p in error.problems:
        if Path(p.file).name == file and p.row == row and p.column == column and fragment in p.message:
            where = f"{file}, row {row}, column '{column}'" if row is not None else f"{file}, column '{column}'"
            assert where in str(error), str(error)  # the message a person reads names all three
            return
    raise AssertionError(f"no problem ({file}, {row}, {column}, {fragment!r}) in:\n{error}")


def test_the_shipped_rules_are_valid():
    rules = load_validated_rules(RULES, RAW)
    labels = (RAW / "emotions.txt").read_text().split()
    assert list(rules.emotions) == labels  # every label exactly once, in the dataset's order
    assert set(rules.gems) == set(GEMS_FACTORS)
    assert {"sleep", "calm", "uplift"} <= set(rules.goals)
    assert [rules.schedule[s]["share"] for s in ("match", "guide", "target")] == [0.25, 0.5, 0.25]
    assert rules.schedule["guide"]["progress"] == 0.6
    sleep = rules.goals["sleep"]
    assert (sleep["valence"], sleep["arousal"]) == (0.2, -0.6)
    assert (sleep["tempo_min_bpm"], sleep["tempo_max_bpm"]) == (45, 60)
    for row in rules.emotions.values():
        assert row["source"], "every emotion row cites a source"
    assert set(rules.file_hashes) == {t.file for t in TABLES.values()}


def test_broken_cells_name_file_row_and_column(rules_copy):
    out_of_range = set_cell(rules_copy, "emotions.csv", "fear", "arousal", "1.7")
    not_a_number = set_cell(rules_copy, "gems.csv", "power", "tempo_min_bpm", "fast")
    not_finite = set_cell(rules_copy, "goals.csv", "calm", "valence", "nan")
    bad_enum = set_cell(rules_copy, "schedule.csv", "guide", "curve", "wiggly")
    error = _problems(rules_copy)
    _assert_problem(error, "emotions.csv", out_of_range, "arousal", "1.7 is outside [-1, 1]")
    _assert_problem(error, "gems.csv", not_a_number, "tempo_min_bpm", "'fast' is not a number")
    _assert_problem(error, "goals.csv", not_finite, "valence", "not a finite number")
    _assert_problem(error, "schedule.csv", bad_enum, "curve", "'wiggly' is not one of")
    assert len(error.problems) == 4  # all of them at once, not one per run


def test_missing_and_unknown_columns(rules_copy):
    path = rules_copy / "emotions.csv"
    rows = _rows(path)
    col = rows[0].index("arousal")
    _write(path, [r[:col] + r[col + 1:] for r in rows])
    gems = rules_copy / "gems.csv"
    rows = _rows(gems)
    _write(gems, [rows[0] + ["x"]] + [r + ["1"] for r in rows[1:]])  # a column nobody defined
    error = _problems(rules_copy)
    _assert_problem(error, "emotions.csv", 1, "arousal", "missing column")
    _assert_problem(error, "gems.csv", 1, "x", "unknown column")


@pytest.mark.parametrize(
    ("file", "key", "column", "value", "fragment"),
    [
        ("gems.csv", "peacefulness", "prefer_timbres", "piano; kazoo", "unknown timbre 'kazoo'"),
        ("emotions.csv", "joy", "source", "nrc_vad2018; smith1999", "'smith1999' is neither a key"),
        ("emotions.csv", "joy", "source", "curated: ok", "'curated:' needs its reasoning"),
        ("emotions.csv", "joy", "wonder", "0.30", "GEMS weights sum to 1.1000, not 1"),
        ("emotions.csv", "fear", "family", "anger", "disagrees with the GoEmotions Ekman mapping"),
        ("gems.csv", "power", "tempo_min_bpm", "200", "is below tempo_min_bpm"),
        ("goals.csv", "sleep", "loudness_ceiling_lufs", "-40", "the target would break its ceiling"),
        ("goals.csv", "sleep", "avoid_timbres", "percussion; piano", "piano both preferred and avoided"),
        ("schedule.csv", "match", "progress", "0.1", "starts from the current state"),
        ("schedule.csv", "guide", "order", "3", "guide must be stage 2"),
    ],
)
def test_wrong_values_and_references(rules_copy, file, key, column, value, fragment):
    line = set_cell(rules_copy, file, key, column, value)
    if column == "wonder":
        column = f"{GEMS_FACTORS[0]}..{GEMS_FACTORS[-1]}"
    if column == "tempo_min_bpm":
        column = "tempo_max_bpm"  # the pair is reported at its upper end
    _assert_problem(_problems(rules_copy), file, line, column, fragment)


def test_every_label_exactly_once(rules_copy):
    path = rules_copy / "emotions.csv"
    rows = _rows(path)
    grief = _line_of(path, "grief")
    joy = _line_of(path, "joy")
    rows = [r for i, r in enumerate(rows, start=1) if i != grief] + [rows[joy - 1]]
    _write(path, rows)
    error = _problems(rules_copy)
    assert any(p.column == "label" and "no row for GoEmotions label 'grief'" in p.message for p in error.problems)
    _assert_problem(error, "emotions.csv", len(rows), "label", "'joy' already defined in row")


def test_unknown_label_and_shares_not_summing(rules_copy):
    line = set_cell(rules_copy, "emotions.csv", "grief", "label", "griefs")
    set_cell(rules_copy, "schedule.csv", "guide", "share", "0.6")
    error = _problems(rules_copy)
    _assert_problem(error, "emotions.csv", line, "label", "'griefs' is not a GoEmotions label")
    assert any(p.column == "share" and "shares sum to 1.1000" in p.message for p in error.problems)


def test_orphans_are_rejected(rules_copy):
    with open(rules_copy / "timbres.csv", "a", encoding="utf-8") as handle:
        handle.write("kazoo,kazoo,pipe,general_midi\n")
    with open(rules_copy / "sources.csv", "a", encoding="utf-8") as handle:
        handle.write("nobody2020,Nobody (2020). Never cited.,\n")
    error = _problems(rules_copy)
    _assert_problem(error, "timbres.csv", len(_rows(rules_copy / "timbres.csv")), "timbre", "orphaned")
    _assert_problem(error, "sources.csv", len(_rows(rules_copy / "sources.csv")), "key", "orphaned")


def test_an_unweighted_gems_factor_is_orphaned(rules_copy):
    # move every emotion's and goal's "nostalgia" weight onto "sadness"
    for file in ("emotions.csv", "goals.csv"):
        path = rules_copy / file
        rows = _rows(path)
        n, s = rows[0].index("nostalgia"), rows[0].index("sadness")
        for r in rows[1:]:
            r[s] = f"{float(r[s]) + float(r[n]):.2f}"
            r[n] = "0.00"
        _write(path, rows)
    error = _problems(rules_copy)
    _assert_problem(error, "gems.csv", _line_of(rules_copy / "gems.csv", "nostalgia"), "factor", "orphaned")


def test_a_missing_file_and_a_missing_folder(rules_copy, tmp_path):
    (rules_copy / "goals.csv").unlink()
    error = _problems(rules_copy)
    assert any(Path(p.file).name == "goals.csv" and "file is missing" in p.message for p in error.problems)
    with pytest.raises(KGValidationError, match="rules folder not found"):
        load_validated_rules(tmp_path / "nowhere", RAW)


def test_wrong_cell_count_and_non_utf8(rules_copy):
    with open(rules_copy / "timbres.csv", "a", encoding="utf-8") as handle:
        handle.write("kazoo,kazoo\n")
    (rules_copy / "sources.csv").write_bytes(b"key,citation,url\n\xff\xfe,x,y\n")
    error = _problems(rules_copy)
    assert any("has 2 cells but the header has 4" in p.message for p in error.problems)
    assert any("is not UTF-8" in p.message for p in error.problems)


def test_the_rules_readme_documents_every_column():
    readme = (RULES / "README.md").read_text()
    for table in TABLES.values():
        assert f"`{table.file}`" in readme, table.file
        for column in table.columns:
            if column.name in GEMS_FACTORS or table.file in ("sources.csv", "timbres.csv"):
                continue  # documented as a group ("wonder … sadness") or self-explanatory
            if column.name in ("label", "goal", "factor", "stage", "description", "purpose", "source"):
                continue
            assert f"`{column.name}`" in readme, f"{table.file}: {column.name}"
