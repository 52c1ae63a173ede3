"""The curated risk corpus and the frozen held-out file as data: valid by the protocol, broad
enough to mean something, frozen, and disjoint."""

from __future__ import annotations

from collections import Counter

import pytest

from emoheal.safety.corpus import STYLES, leaks, load_categories, load_corpus, load_heldout
from tests.helpers import ROOT

SAFETY = ROOT / "data" / "safety"


@pytest.fixture(scope="module")
def categories():
    return load_categories(SAFETY)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(SAFETY)  # raises CorpusError naming every broken row


@pytest.fixture(scope="module")
def heldout():
    return load_heldout(SAFETY)  # raises if the file differs from its frozen sha256


def test_every_curated_category_has_many_families_in_several_styles(corpus, categories):
    curated = [c for c, cat in categories.items() if cat.label != "ordinary"]
    for name in curated:
        rows = [e for e in corpus if e.category == name]
        families = {e.family for e in rows}
        styles = Counter(s for e in rows for s in e.styles)
        assert len(families) >= 20, name
        assert len(styles) >= 7 and set(styles) <= set(STYLES), name
        assert any(e.lang == "zh" for e in rows), name
        assert min(Counter(e.family for e in rows).values()) >= 3, name


def test_risk_categories_follow_the_cssrs_screener(categories):
    cssrs = {c.cssrs: c.name for c in categories.values() if c.cssrs}
    assert cssrs == {"1": "wish_dead", "2": "active_thoughts", "3": "method", "4": "intent", "5": "plan",
                     "6": "behaviour"}
    assert {c.name for c in categories.values() if c.expected == "high"} == {"intent", "plan", "behaviour"}
    assert {"nssi", "hopelessness", "burden"} <= {c.name for c in categories.values() if c.label == "risk"}


def test_the_held_out_file_covers_every_curated_category_and_shares_nothing(corpus, heldout, categories):
    found = {e.category for e in heldout}
    assert {c for c, cat in categories.items() if cat.label in ("risk", "ambiguous")} <= found
    # every hard-negative category that existed when the file was frozen (`bedtime` came later)
    assert {c for c, cat in categories.items() if cat.label == "safe"} - found == {"bedtime"}
    assert leaks(corpus, heldout) == []
    assert not {e.family for e in corpus} & {e.family for e in heldout}
    risk = [e for e in heldout if categories[e.category].label == "risk"]
    safe = [e for e in heldout if categories[e.category].label == "safe"]
    assert len(risk) >= 200 and len(safe) >= 300


def test_the_held_out_header_says_it_is_frozen():
    head = (SAFETY / "heldout.csv").read_text(encoding="utf-8").splitlines()[:6]
    assert head[0].startswith("# FROZEN HELD-OUT FILE") and any("never" in line for line in head)
