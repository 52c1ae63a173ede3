"""Model behaviour of the trained quickstart model (Made-With-ML style):
minimum functionality, invariance and direction. Slow: they need `make run`
to have produced models/emotion; `make test-all` runs them."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow
MODEL = ROOT / "models" / "emotion"


@pytest.fixture(scope="module")
def predictor():
    if not (MODEL / "thresholds.json").is_file():
        pytest.fail("models/emotion is not trained: run `make run` first")
    from emoheal.emotion.predictor import EmotionPredictor

    return EmotionPredictor(MODEL)


@pytest.mark.parametrize("text, expected", [
    ("Thank you so much for helping me!", "gratitude"),
    ("I'm so scared of what the doctor will say.", "fear"),
    ("This is hilarious, I can't stop laughing lol", "amusement"),
    ("I miss my grandmother so much since she died.", "sadness"),
    ("Why would you do that? That makes no sense to me.", "confusion"),
])
def test_minimum_functionality(predictor, text, expected):
    (pred,) = predictor.predict([text])
    top3 = sorted(pred.probabilities, key=pred.probabilities.get, reverse=True)[:3]
    assert expected in top3, (top3, pred.labels)


def test_names_do_not_change_the_emotion(predictor):
    a, b = predictor.predict(["Alex, I am so proud of you!", "Priya, I am so proud of you!"])
    assert a.labels == b.labels


def test_adding_a_negation_moves_away_from_joy(predictor):
    happy, unhappy = predictor.predict(["I am happy with how it went.", "I am not happy with how it went."])
    assert unhappy.probabilities["joy"] < happy.probabilities["joy"]
    assert unhappy.probabilities["disappointment"] > happy.probabilities["disappointment"]
