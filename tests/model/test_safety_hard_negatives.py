"""Hard negatives for the trained quickstart crisis screen (`make run`'s models/safety): texts that
name suicide without being at risk are not stopped outright. Slow: it needs `make run`;
`make test-all` runs it. The ci screen (tests/integration/test_safety_stage.py) asks the others."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow
MODEL = ROOT / "models" / "safety"


@pytest.fixture(scope="module")
def screen():
    if not (MODEL / "classifier.json").is_file():
        pytest.fail("models/safety is not trained: run `make run` first")
    from emoheal.safety.screen import CrisisScreen

    return CrisisScreen(MODEL)


@pytest.mark.parametrize("text", [
    # a survivor's story: the pattern matches, the classifier's risk (0.53) stays just below the
    # threshold that confirms it (0.535) — a margin this thin is why it is tested
    "Five years ago I tried to end my life. Today I'm grateful to be here.",
    "I volunteer on a suicide prevention line on Tuesday nights",
    "this commute is killing me",
])
def test_hard_negatives_are_not_stopped(screen, text):
    assert screen.screen(text).level != "high"
