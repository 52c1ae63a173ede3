"""The emotion model's lexical part: its own TF-IDF transform equals scikit-learn's, it saves as
plain arrays and loads back the same, and the mixing weight is chosen on dev by cross-fitting."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from emoheal.data.prepared import read_manifest, read_prepared
from emoheal.emotion.baseline import fit_lexical, fit_tfidf_logreg
from emoheal.emotion.devscore import choose_lexical_weight
from emoheal.emotion.lexical import LexicalModel, load_lexical
from tests.helpers import compose

CFG = compose()["train"]["lexical"]


@pytest.fixture(scope="module")
def split(prepared_ci):
    folder = prepared_ci["paths"]["prepared"]
    labels = read_manifest(folder)["labels"]
    return read_prepared(folder, "train"), read_prepared(folder, "dev"), labels


def test_own_transform_equals_scikit_learn(split):
    train, dev, labels = split
    lexical = fit_lexical(train["text"].tolist(), train[labels].to_numpy(), CFG, seed=0)
    with threadpool_limits(1):
        reference = fit_tfidf_logreg(train["text"].tolist(), train[labels].to_numpy(), CFG, 0)
    texts = dev["text"].tolist() + ["", "!!!", "ÉMOTION Überraschung 😂 don't", "thanks thanks thanks"]
    ours = lexical.decision_function(texts)
    assert ours.shape == (len(texts), len(labels))
    assert np.abs(ours - reference.decision_function(texts)).max() < 1e-5


def test_saved_arrays_load_back_identical(split, tmp_path):
    train, dev, labels = split
    lexical = fit_lexical(train["text"].tolist()[:800], train[labels].to_numpy()[:800], CFG, seed=0)
    lexical.save(tmp_path)
    again = load_lexical(tmp_path)
    texts = dev["text"].tolist()[:100]
    assert np.array_equal(again.decision_function(texts), lexical.decision_function(texts))
    assert load_lexical(tmp_path / "nowhere") is None


def test_unknown_words_give_the_intercept_and_bad_arrays_are_refused():
    model = LexicalModel(["calm", "calm down"], np.ones(2), np.array([[1.0, 2.0]]), np.array([-1.5]), ngram_max=2)
    assert model.decision_function(["zzz qqq"])[0, 0] == pytest.approx(-1.5)
    assert model.decision_function(["Calm down"])[0, 0] > model.decision_function(["calm"])[0, 0]
    with pytest.raises(ValueError, match="disagree"):
        LexicalModel(["a"], np.ones(2), np.ones((1, 2)), np.ones(1), ngram_max=1)


def test_mixing_weight_is_zero_without_a_lexical_part_and_found_when_it_helps():
    rng = np.random.default_rng(0)
    y = (rng.random((1500, 4)) < 0.2).astype(np.uint8)
    signal = (y.astype(float) * 2 - 1) * 2
    encoder = signal + rng.normal(0, 3, y.shape)  # weak
    lexical = signal + rng.normal(0, 1.5, y.shape)  # strong
    grid = np.round(np.arange(0.05, 0.951, 0.05), 3)
    assert choose_lexical_weight(encoder, None, y, grid, [0.0, 0.5]) == (0.0, {})
    weight, scores = choose_lexical_weight(encoder, lexical, y, grid, [0.0, 0.2, 0.4, 0.6, 0.8])
    assert weight >= 0.6 and scores["0"] < scores[f"{weight:g}"]
