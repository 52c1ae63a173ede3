"""The crisis screen's parts that need no model: the pattern layer, the rules that combine the
layers (and their vectorised twin used to measure them), threshold choice, Wilson intervals, the
corpus validator and the frozen held-out check."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from emoheal.safety.corpus import CorpusError, Example, check_rows, leaks, load_categories, load_heldout
from emoheal.safety.evaluation import Corpus, choose_thresholds, levels_array, pattern_floor, wilson
from emoheal.safety.patterns import load_rules
from emoheal.safety.screen import LEVELS, Assessment, Thresholds, combine
from tests.helpers import ROOT

SAFETY = ROOT / "data" / "safety"


@pytest.fixture(scope="module")
def rules():
    return load_rules(str(SAFETY))


@pytest.mark.parametrize("text, pattern", [
    ("I want to kill myself", "en_kill_myself"),
    ("honestly kms", "en_kill_myself"),
    ("I've been feeling really suicidal", "en_suicidal_self"),
    ("i dont want to be alive anymore", "en_want_to_die"),
    ("I hope I never wake up", "en_not_wake_up"),
    ("everyone would be better off without me", "en_better_off"),
    ("I took all my pills an hour ago", "en_overdose"),
    ("I hurt myself again last night", "en_self_harm"),
    ("我想自杀", "zh_suicide"),
    ("我不想活了", "zh_suicide"),
    ("ngl ending it has crossed my mind this week", "en_ending_it"),
])
def test_explicit_statements_match_their_pattern(rules, text, pattern):
    assert pattern in [p.id for p in rules.match(text)]


@pytest.mark.parametrize("text", [
    "this commute is killing me", "I'm dying to see the new film", "I cut myself shaving this morning",
    "my friend is suicidal and I don't know how to help", "I overdosed five years ago and I'm doing well now",
    "I burned myself on the oven", "my phone is dead again", "that cake is to die for",
    "I don't want to wake up early tomorrow, my flight is at seven",
])
def test_idioms_accidents_and_other_people_match_no_pattern(rules, text):
    assert rules.match(text) == []


def test_resources_follow_the_locale_with_the_directory_last(rules):
    us, uk = rules.resources_for("us"), rules.resources_for("UK")
    assert us[0]["contact"] == "988" and uk[0]["contact"] == "116 123"
    assert "findahelpline" in us[-1]["contact"] and "findahelpline" in rules.resources_for("ZZ")[0]["contact"]


T = Thresholds(severe=0.7, confirm=0.5, check_in=0.3, low=0.1, distress=0.6, intense=0.9)


@pytest.mark.parametrize("risk, severe, patterns, emotions, level", [
    (0.05, 0.0, (), None, "none"),
    (0.2, 0.0, (), None, "low"),
    (0.35, 0.0, (), None, "medium"),
    (0.35, 0.8, (), None, "high"),                       # severe and risky
    (0.25, 0.9, (), None, "low"),                        # severe-looking but the risk head disagrees
    (0.6, 0.0, (("en_kill_myself", "high"),), None, "high"),
    (0.4, 0.0, (("en_kill_myself", "high"),), None, "medium"),   # a matched phrase, context unsure: ask
    (0.02, 0.0, (("en_kill_myself", "high"),), None, "medium"),  # never dropped below a check-in
    (0.05, 0.0, (("en_ending_it", "medium"),), None, "low"),     # read as not risk: one step down
    (0.2, 0.0, (("en_ending_it", "medium"),), None, "medium"),
    (0.2, 0.0, (), {"sadness": 0.5, "grief": 0.2}, "low"),       # distress never adds a check-in ...
    (0.05, 0.0, (), {"sadness": 0.5, "grief": 0.2}, "low"),      # ... it lifts none to a gentle pointer
    (0.05, 0.0, (), {"grief": 0.95}, "low"),                      # intense grief lifts none
    (0.05, 0.0, (), {"joy": 0.9}, "none"),
])
def test_combination_rules(risk, severe, patterns, emotions, level):
    found, reasons = combine(Assessment(patterns, risk, severe), T, emotions)
    assert found == level
    assert all(isinstance(r, str) for r in reasons) and reasons[0].startswith("classifier:")


def test_the_vectorised_rules_agree_with_the_screen():
    rng = np.random.default_rng(0)
    n = 3000
    risk, severe = rng.random(n), rng.random(n)
    kinds = [(), (("p", "medium"),), (("p", "high"),), (("p", "medium"), ("q", "high"))]
    found = [kinds[i] for i in rng.integers(0, len(kinds), n)]
    sadness, grief = rng.random(n) * 0.7, rng.random(n)
    slow = [LEVELS.index(combine(Assessment(f, r, s), T, {"sadness": a, "grief": g})[0])
            for f, r, s, a, g in zip(found, risk, severe, sadness, grief)]
    # the detector's signals: distress sums the distress labels, `intense` is max(grief, sadness)
    fast = levels_array(risk, severe, pattern_floor(found), T, sadness + grief, np.maximum(sadness, grief))
    assert fast.tolist() == slow
    assert len(set(slow)) == 4  # every level was exercised


def _toy_corpus(n_per: int = 60, seed: int = 1):
    """Risk texts score high, hard negatives low, with overlap; families of 3."""
    categories = load_categories(SAFETY)
    rng = np.random.default_rng(seed)
    examples, risk, severe = [], [], []
    for cat, mean in (("plan", 0.8), ("wish_dead", 0.6), ("recovered", 0.3), ("distress", 0.2)):
        for i in range(n_per):
            fam = f"{cat}-{i // 3:03d}"
            examples.append(Example(f"{fam}.{i % 3 + 1}", fam, cat, "en", ("plain",), f"{cat} {i}", "toy"))
            risk.append(np.clip(rng.normal(mean, 0.15), 0, 1))
            severe.append(np.clip(rng.normal(0.8 if cat == "plan" else 0.2, 0.15), 0, 1))
    return Corpus(examples, categories), np.asarray(risk), np.asarray(severe)


def test_thresholds_put_recall_first_and_keep_high_false_alarms_in_budget():
    corpus, risk, severe = _toy_corpus()
    floor = np.zeros(len(risk), dtype=int)
    cfg = {"low_recall": 0.995, "target_recall": 0.95, "category_recall": 0.9, "max_high_false_alarm": 0.02,
           "max_high_false_alarm_ordinary": 0.005, "distress": 0.6, "intense": 0.9}
    chosen = choose_thresholds(risk, severe, floor, corpus, cfg)
    assert chosen["met"] == {"check_in": True, "high": True}
    t = Thresholds.from_dict(chosen)
    level = levels_array(risk, severe, floor, t)
    asked, high = level >= 2, level == 3
    assert asked[corpus.positive].mean() >= 0.95
    assert high[corpus.label == "safe"].mean() <= 0.02
    assert high[corpus.category == "plan"].mean() > 0.5  # the severe head does its job
    assert t.low <= t.check_in


def test_wilson_interval():
    assert wilson(35, 35)[0] == pytest.approx(0.9011, abs=1e-3)  # safety.md: 35/35 bounds recall above ~0.90
    low, high = wilson(8, 35)
    assert low < 8 / 35 < high
    assert wilson(0, 0) is None


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError):
        Thresholds.from_dict({"severe": 0.5, "confirm": 0.5, "check_in": 0.2, "low": 0.3})


def _write(path, rows):
    header = "id,family,category,lang,style,text\n"
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")


def test_the_validator_names_file_row_and_column(tmp_path):
    categories = load_categories(SAFETY)
    path = tmp_path / "plan.csv"
    _write(path, ["plan-001.1,plan-001,plan,en,plain,Friday after my shift.",
                  "plan-001.2,plan-001,plann,en,plain,another",
                  "plan-002.1,plan-001,plan,en,plain,wrong family in the id",
                  "plan-003.1,plan-003,plan,zh,plain,no Chinese here",
                  "plan-004.1,plan-004,plan,en,shouting,style unknown"])
    examples, problems = check_rows(path, categories, heldout=False)
    assert len(examples) == 1
    text = "\n".join(problems)
    assert "plan.csv:3: category: unknown 'plann'" in text
    assert "plan.csv:4: id" in text and "plan.csv:5: lang" in text and "plan.csv:6: style" in text


def test_the_held_out_file_is_frozen(tmp_path):
    folder = tmp_path / "safety"
    shutil.copytree(SAFETY, folder)
    held = load_heldout(folder)
    assert held and all(e.family.startswith("H-") for e in held)
    with open(folder / "heldout.csv", "a", encoding="utf-8") as handle:
        handle.write("H-plan-099.1,H-plan-099,plan,en,plain,a late addition\n")
    with pytest.raises(CorpusError, match="frozen"):
        load_heldout(folder)


def test_leaks_finds_a_held_out_text_in_the_corpus():
    a = Example("plan-001.1", "plan-001", "plan", "en", ("plain",), "Tonight  it ENDS.", "x")
    b = Example("H-plan-001.1", "H-plan-001", "plan", "en", ("plain",), "tonight it ends.", "y")
    assert leaks([a], [b]) == ["H-plan-001.1"]


def test_the_fast_character_features_equal_scikit_learns():
    from sklearn.feature_extraction.text import HashingVectorizer

    from emoheal.safety.classifier import FeatureSpec, char_matrix
    from emoheal.safety.patterns import normalise

    spec = FeatureSpec()
    texts = ["I can't fall asleep, I keep worrying about tomorrow's exam.", "我不想活了", "", "ok ok ok",
             "Ünïcödé — “quotes” it’s 💀"]
    reference = HashingVectorizer(analyzer="char_wb", ngram_range=(spec.ngram_min, spec.ngram_max),
                                  n_features=spec.n_features, alternate_sign=False, norm="l2",
                                  preprocessor=normalise, dtype=np.float32).transform(texts)
    assert abs(reference - char_matrix(texts, spec)).max() == 0.0


def test_the_training_design_is_scipys_stack_entry_for_entry():
    """`design` builds [embedding | n-grams] by index arithmetic and reuses precomputed n-gram rows;
    the matrix must be scipy's hstack exactly (same entries, order and zeros dropped), so the
    fitted classifier does not change."""
    from scipy import sparse

    from emoheal.safety.classifier import FeatureSpec, char_matrix, design

    rng = np.random.default_rng(5)
    spec = FeatureSpec(standardize=False, n_features=2048, char_weight=0.5)
    texts = ["bought a rope today", "", "我不想活了", "a long evening, tired", "x"] * 7
    embeddings = rng.normal(size=(len(texts), 24)).astype(np.float32)
    embeddings[3, :4] = 0.0  # exact zeros: csr_matrix(dense) does not store them
    embeddings = embeddings.astype(np.float64)  # as the scaler gives them: the stack stays float64
    expected = sparse.hstack([sparse.csr_matrix(embeddings), char_matrix(texts, spec) * spec.char_weight],
                             format="csr")
    rows = np.array([4, 0, 2, 2, 9])
    for found, want in ((design(embeddings, texts, spec), expected),
                        (design(embeddings[rows], [texts[r] for r in rows], spec,
                                chars=char_matrix(texts, spec)[rows]), expected[rows])):
        assert found.shape == want.shape and found.dtype == want.dtype
        assert np.array_equal(found.indptr, want.indptr) and np.array_equal(found.indices, want.indices)
        assert np.array_equal(found.data, want.data)


@pytest.mark.parametrize("standardize, char_ngrams", [(True, True), (False, True), (True, False)])
def test_folded_weights_score_like_the_training_design(standardize, char_ngrams):
    from emoheal.safety.classifier import FeatureSpec, Folded, Scaler, design, unit_logits

    rng = np.random.default_rng(3)
    spec = FeatureSpec(standardize=standardize, char_ngrams=char_ngrams, n_features=1024, char_weight=0.7)
    texts = ["bought a rope today", "I feel calm", "我不想活了", "a long evening, tired"]
    embeddings = rng.normal(size=(len(texts), 48)).astype(np.float32)
    scaler = Scaler.fit(rng.normal(size=(50, 48)).astype(np.float32)) if standardize else None
    coef = rng.normal(size=(2, 48 + (spec.n_features if char_ngrams else 0))).astype(np.float32)
    intercept = np.array([0.3, -1.2])
    expected = np.asarray(design(embeddings, texts, spec, scaler) @ coef.T) + intercept
    found = unit_logits(embeddings, texts, spec, Folded.of(coef, intercept, spec, scaler, 48))
    assert np.allclose(found, expected, atol=1e-4)


def test_a_family_subsample_keeps_whole_families_of_every_category_and_is_seeded():
    from emoheal.safety.corpus import load_corpus, sample_families

    corpus = load_corpus(ROOT / "data" / "safety")
    assert sample_families(corpus, None, 0) is corpus
    kept = sample_families(corpus, 3, seed=7)
    families = {(e.category, e.family) for e in kept}
    assert {e.category for e in kept} == {e.category for e in corpus}
    assert all(sum(1 for c, _ in families if c == category) <= 3 for category, _ in families)
    whole = {key: sum(1 for e in corpus if (e.category, e.family) == key) for key in families}
    assert all(sum(1 for e in kept if (e.category, e.family) == key) == n for key, n in whole.items())
    assert sample_families(corpus, 3, seed=7) == kept and sample_families(corpus, 3, seed=8) != kept


class _HashEncoder:
    """A deterministic stand-in for the sentence encoder: the property under test (candidates
    scored in parallel equal candidates scored one by one) does not depend on what the vectors mean."""

    dim = 16

    def encode(self, texts):
        import zlib

        return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts]
                        ).astype(np.float32)


def test_candidates_scored_over_several_processes_equal_one_by_one():
    from emoheal.safety.classifier import FeatureSpec
    from emoheal.safety.corpus import load_corpus, sample_families
    from emoheal.safety.evaluation import grouped_folds
    from emoheal.safety.search import Embedded, candidate_scores

    corpus = Corpus(sample_families(load_corpus(SAFETY), 2, seed=1), load_categories(SAFETY))
    embedded = Embedded(corpus.texts, _HashEncoder(), max_segments=4)
    folds = grouped_folds(corpus, 3, seed=0)
    fit = {"C": 1.0, "ordinary_weight": 0.3}
    candidates = [(FeatureSpec(char_ngrams=False, segments=False), fit),
                  (FeatureSpec(n_features=1024, segments=False), fit),
                  (FeatureSpec(n_features=1024, segments=True, max_segments=4), {**fit, "C": 10.0})]
    serial = candidate_scores(embedded, corpus, folds, candidates, seed=0, workers=1)
    parallel = candidate_scores(embedded, corpus, folds, candidates, seed=0, workers=2)
    assert len(parallel) == 3 and all(np.array_equal(a, b) for a, b in zip(serial, parallel, strict=True))
    assert not np.array_equal(serial[0], serial[1])  # the candidates really differ


def test_the_winners_heads_fitted_apart_equal_both_at_once():
    """select_candidate fits only the risk head for every candidate, and the winner's severe head
    afterwards: its out-of-fold scores must be the ones fitting both heads together gives."""
    from emoheal.safety.corpus import load_corpus, sample_families
    from emoheal.safety.evaluation import grouped_folds
    from emoheal.safety.search import Embedded, candidate_scores, select_candidate

    corpus = Corpus(sample_families(load_corpus(SAFETY), 2, seed=1), load_categories(SAFETY))
    embedded = Embedded(corpus.texts, _HashEncoder(), max_segments=4)
    folds = grouped_folds(corpus, 3, seed=0)
    cfg = {"classifier": {"n_features": 1024, "segments": False, "C": 1.0}, "ordinary": {"weight": 0.3},
           "selection": {"false_alarm": 0.05, "ordinary_false_alarm": 0.05,
                         "candidates": [{"char_ngrams": False}, {"char_ngrams": True, "C": 10.0}]}}
    chosen = select_candidate(embedded, corpus, folds, cfg, seed=0, workers=1)
    both = candidate_scores(embedded, corpus, folds, [(chosen.spec, chosen.fit_args)], seed=0, workers=1)[0]
    assert chosen.oof.shape == (len(corpus.examples), 2) and np.array_equal(chosen.oof, both)
    assert len(chosen.tried) == 2 and not np.array_equal(chosen.oof[:, 0], chosen.oof[:, 1])
