"""The dev error analysis: a planted confusion is found first, calibration is measured per label,
failures are counted by kind, and the page escapes the texts it quotes."""

from __future__ import annotations

import numpy as np

from emoheal.emotion.error_analysis import analyse
from emoheal.emotion.error_report import render

LABELS = ["joy", "sadness", "anger", "neutral"]


def planted(rows: int = 800, seed: int = 0):
    """Calibrated probabilities, except that a third of the sadness texts are read as anger."""
    rng = np.random.default_rng(seed)
    y = np.zeros((rows, 4), dtype=np.uint8)
    y[np.arange(rows), rng.integers(0, 4, rows)] = 1
    probs = np.where(y == 1, rng.uniform(0.55, 0.95, y.shape), rng.uniform(0.0, 0.3, y.shape))
    confused = np.flatnonzero(y[:, 1] == 1)[::3]
    probs[confused, 1], probs[confused, 2] = 0.1, 0.8
    return y, probs


def test_the_planted_confusion_comes_first_with_its_share():
    y, probs = planted()
    analysis = analyse(y, probs, np.full(4, 0.5), LABELS)
    top = analysis.confusions[0]
    assert (top.true, top.read_as) == ("sadness", "anger")
    assert top.share_of_true == top.rows / y[:, 1].sum() and 0.3 < top.share_of_true < 0.36
    assert all(y[r, 1] == 1 and probs[r, 2] >= 0.5 for r in top.examples)
    assert len(analysis.confusions) == 1  # nothing else is ever read as another label


def test_calibration_and_f1_per_label():
    y, probs = planted()
    by_label = {c.label: c for c in analyse(y, probs, np.full(4, 0.5), LABELS).calibration}
    assert by_label["joy"].f1 == 1.0 and by_label["sadness"].recall < 0.7
    assert by_label["anger"].precision < 1.0
    assert all(sum(n for _, _, n in c.bins) == len(y) for c in by_label.values())
    assert all(0 <= c.ece <= 1 for c in by_label.values())


def test_failure_kinds_are_counted():
    y, probs = planted()
    kinds = {f.name: f for f in analyse(y, probs, np.full(4, 0.5), LABELS).failures}
    confused = len(np.flatnonzero(y[:, 1] == 1)[::3])
    assert kinds["wrong emotion"].rows == confused
    assert kinds["no label at all"].rows == 0 and kinds["emotion on a neutral text"].rows == 0


def test_the_page_escapes_quoted_texts():
    y, probs = planted(rows=60)
    texts = [f"text {i}" for i in range(60)]
    confused_row = int(np.flatnonzero(y[:, 1] == 1)[0])
    texts[confused_row] = "<script>alert(1)</script> & more"
    analysis = analyse(y, probs, np.full(4, 0.5), LABELS)
    page = render(analysis, texts, y, probs, np.full(4, 0.5), "emotion-test")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "Dev only" in page and page.count("<svg") == len(LABELS)
