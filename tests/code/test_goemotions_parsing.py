import json

import numpy as np
import pytest

from emoheal.data.goemotions import DataValidationError, multi_hot, read_groups, read_split
from emoheal.data.prepare import subsample
from emoheal.data.validate import validate_splits
from tests.helpers import ROOT

RAW = ROOT / "data" / "raw" / "goemotions"


def _write(folder, name, lines):
    (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_quotes_are_kept_verbatim(tmp_path):
    _write(tmp_path, "train", ['He said "hi" and left\t1,27\tid1'])
    frame = read_split(tmp_path, "train").frame
    assert frame["text"][0] == 'He said "hi" and left'
    assert frame["labels"][0] == (1, 27)


@pytest.mark.parametrize("line, message", [
    ("text\t28\tid1", r"train.tsv:1: column 'labels' has ids outside 0..27"),
    ("text\tx\tid1", r"train.tsv:1: column 'labels' is not a comma-separated list"),
    ("text\t1", r"train.tsv:1: expected 3 tab-separated fields"),
    ("   \t1\tid1", r"train.tsv:1: column 'text' is empty"),
])
def test_bad_rows_name_file_row_and_column(tmp_path, line, message):
    _write(tmp_path, "train", [line])
    with pytest.raises(DataValidationError, match=message):
        read_split(tmp_path, "train")


def _splits(tmp_path, rows_by_split):
    for name, rows in rows_by_split.items():
        _write(tmp_path, name, rows)
    return {name: read_split(tmp_path, name) for name in rows_by_split}


def _all_labels(prefix):
    return [f"text {prefix} {i}\t{i}\t{prefix}{i}" for i in range(28)]


def test_cross_split_duplicates_are_reported_not_fatal(tmp_path):
    rows = {"train": _all_labels("a"), "dev": _all_labels("b"), "test": _all_labels("c")}
    rows["test"][0] = "text a 0\t0\tc0"  # same text as in train, different id
    findings = validate_splits(_splits(tmp_path, rows), [f"l{i}" for i in range(28)])
    assert findings["texts_duplicated_across_splits"]["train-test"] == 1
    assert findings["texts_duplicated_across_splits"]["train-dev"] == 0


def test_shared_ids_across_splits_fail(tmp_path):
    rows = {"train": _all_labels("a"), "dev": _all_labels("a")}
    rows["dev"] = [r.replace("text a", "other") for r in rows["dev"]]
    with pytest.raises(DataValidationError, match="share 28 comment ids"):
        validate_splits(_splits(tmp_path, rows), [f"l{i}" for i in range(28)])


def test_split_missing_a_label_fails(tmp_path):
    rows = {"train": _all_labels("a")[:-1]}
    with pytest.raises(DataValidationError, match="never present"):
        validate_splits(_splits(tmp_path, rows), [f"l{i}" for i in range(28)])


def test_groups_add_neutral_and_reject_unknown_names(tmp_path):
    names = (RAW / "emotions.txt").read_text().split()
    groups = read_groups(RAW, names)
    assert groups["ekman"]["neutral"] == ["neutral"]
    assert set(groups["sentiment"]) == {"positive", "negative", "ambiguous", "neutral"}
    for f in ("ekman_mapping.json", "sentiment_dict.json"):
        (tmp_path / f).write_text(json.dumps({"joy": ["joy", "glee"]}))
    with pytest.raises(DataValidationError, match="glee"):
        read_groups(tmp_path, names)


def test_multi_hot():
    hot = multi_hot([(0, 27), (3,)])
    assert hot.shape == (2, 28) and hot.dtype == np.uint8
    assert hot[0].nonzero()[0].tolist() == [0, 27] and hot[1].nonzero()[0].tolist() == [3]


def test_subsample_keeps_every_label_and_is_seeded(tmp_path):
    frame = read_split(RAW, "dev").frame
    a = subsample(frame, 300, seed=1, num_labels=28)
    b = subsample(frame, 300, seed=1, num_labels=28)
    assert len(a) == 300 and a["id"].tolist() == b["id"].tolist()
    assert {label for row in a["labels"] for label in row} == set(range(28))
