"""Data behaviour: the shipped GoEmotions copy is what we think it is."""

import pytest

from emoheal.data.checksums import verify_folder
from emoheal.data.goemotions import NUM_LABELS, read_label_names, read_split
from emoheal.data.validate import validate_splits
from tests.helpers import ROOT

RAW = ROOT / "data" / "raw" / "goemotions"


@pytest.fixture(scope="module")
def splits():
    verify_folder(RAW)
    return {name: read_split(RAW, name) for name in ("train", "dev", "test")}


def test_official_split_sizes(splits):
    assert {n: len(s.frame) for n, s in splits.items()} == {"train": 43410, "dev": 5426, "test": 5427}


def test_labels_and_splits_validate(splits):
    names = read_label_names(RAW)
    assert len(names) == NUM_LABELS and names[0] == "admiration" and names[-1] == "neutral"
    findings = validate_splits(splits, names)
    assert set(findings["texts_duplicated_across_splits"]) == {"train-dev", "train-test", "dev-test"}


def test_label_balance_matches_the_dataset_card(splits):
    train = splits["train"].frame
    neutral = sum(27 in labels for labels in train["labels"])
    multi = sum(len(labels) > 1 for labels in train["labels"]) / len(train)
    assert neutral == 14219
    assert 0.14 < multi < 0.18


def test_provenance_is_shipped():
    text = (RAW / "PROVENANCE.md").read_text()
    assert "Apache-2.0" in text and "Demszky" in text
