"""Session retrieval on a synthetic corpus whose items' character is known by construction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emoheal.retrieval.assemble import assemble_session, key_distance
from emoheal.retrieval.index import IndexLoadError, build_index, descriptor_vectors, load_index
from emoheal.retrieval.retrieve import retrieve
from tests.helpers import index_settings, retrieval_settings

ONE_ITEM = retrieval_settings()[0]  # conf/retrieval `session`

# (valence, arousal, tempo, mode, loudness, density, register, brightness) per quadrant
QUADRANT = {1: (0.7, 0.7, 130, 0.9, -22, 4.0, 66, 900), 2: (-0.7, 0.8, 135, 0.2, -21, 4.5, 60, 950),
            3: (-0.6, -0.7, 70, 0.3, -34, 1.2, 55, 500), 4: (0.6, -0.8, 62, 0.9, -35, 1.0, 57, 550)}
KEYS = ["C major", "G major", "A minor", "E minor", "F major", "D minor"]


def synthetic_items(per_quadrant: int = 10, seed: int = 0, spread: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for q, (v, a, tempo, mode, loud, dens, reg, bright) in QUADRANT.items():
        for i in range(per_quadrant):
            rows.append({
                "id": f"q{q}_{i}", "title": f"q{q} {i}", "media_type": "audio", "media_path": f"q{q}_{i}.flac",
                "audio_path": f"q{q}_{i}.flac", "poster_path": None, "duration_s": float(rng.uniform(20, 400)),
                "source": "emopia", "quadrant": q, "split": "test", "content_sha256": f"{q}{i}",
                "tempo_bpm": tempo * rng.uniform(1 - spread, 1 + spread),
                "mode_major": float(np.clip(mode + rng.normal(0, .05), 0, 1)),
                "key": KEYS[(q + i) % len(KEYS)], "loudness_lufs": loud + rng.normal(0, 1),
                "density_onsets_per_s": dens * rng.uniform(1 - 1.5 * spread, 1 + 1.5 * spread),
                "register_midi": reg + rng.normal(0, 2),
                "brightness_hz": bright * rng.uniform(0.9, 1.1),
                "valence": float(np.clip(v + rng.normal(0, .1), -1, 1)),
                "arousal": float(np.clip(a + rng.normal(0, .1), -1, 1)),
            })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def corpus():
    items = synthetic_items()
    return items, descriptor_vectors(items)[0]


def session(planner, corpus, emotions, goal="sleep", **kwargs):
    items, unit = corpus
    plan = planner.plan(emotions, goal).to_dict()
    return plan, assemble_session(plan, items, unit, ONE_ITEM, planner.goals[goal], **kwargs)


def quadrant_of(corpus, item_id):
    return int(corpus[0].set_index("id").loc[item_id, "quadrant"])


def test_the_iso_path_meets_then_calms(planner, corpus):
    for emotion, person in (("fear", 2), ("joy", 1), ("sadness", 3)):
        _, result = session(planner, corpus, {emotion: 0.9})
        stages = {s["stage"]: s for s in result["stages"]}
        assert [s["stage"] for s in result["stages"]] == ["match", "guide", "target"]
        assert result["backend"] == "descriptors" and result["status"] == "ok"
        assert quadrant_of(corpus, stages["match"]["item"]["id"]) == person, emotion
        assert quadrant_of(corpus, stages["target"]["item"]["id"]) == 4, emotion
        arousal = [s["item"]["measured"]["arousal"] for s in result["stages"]]
        assert arousal == sorted(arousal, reverse=True)  # never rises toward sleep


def test_no_item_twice_and_recently_heard_items_left_out(planner, corpus):
    _, first = session(planner, corpus, {"nervousness": 0.9})
    chosen = [s["item"]["id"] for s in first["stages"]]
    assert len(set(chosen)) == 3
    for s in first["stages"]:
        assert s["item"]["id"] not in {a["id"] for a in s["alternatives"]}
    _, second = session(planner, corpus, {"nervousness": 0.9}, exclude=set(chosen))
    assert not set(chosen) & {s["item"]["id"] for s in second["stages"]}


def test_the_score_breakdown_explains_the_choice(planner, corpus):
    _, result = session(planner, corpus, {"anger": 0.8})
    target = result["stages"][2]
    score = target["score"]
    assert {"total", "descriptors", "valence_arousal", "text_cosine", "per_parameter"} <= set(score)
    assert score["text_cosine"] is None  # the descriptors backend has no text cosine
    assert set(score["per_parameter"]) == {"tempo_bpm", "mode_major", "loudness_lufs", "density_onsets_per_s",
                                           "register_midi", "brightness_hz"}
    assert any("LUFS" in c for c in target["constraints"])
    assert len(target["alternatives"]) == 4


def test_alternatives_are_diverse(planner, corpus):
    items, unit = corpus
    plan = planner.plan({"joy": 0.9}, "sleep").to_dict()
    goal = planner.goals["sleep"]
    plain = assemble_session(plan, items, unit, ONE_ITEM.model_copy(update={"mmr_lambda": 1.0}), goal)
    diverse = assemble_session(plan, items, unit, ONE_ITEM.model_copy(update={"mmr_lambda": 0.3}), goal)
    index = {i: k for k, i in enumerate(items["id"])}

    def spread(result):
        alts = [index[a["id"]] for a in result["stages"][0]["alternatives"]]
        sims = unit[alts] @ unit[alts].T
        return float(sims[np.triu_indices(len(alts), 1)].mean())
    assert spread(diverse) < spread(plain)


def test_an_empty_index(planner):
    plan = planner.plan({"fear": 0.5}).to_dict()
    empty = synthetic_items().iloc[0:0]
    result = assemble_session(plan, empty, np.zeros((0, 8), np.float32), ONE_ITEM, planner.goals["sleep"])
    assert result["status"] == "empty_index"
    assert all(s["status"] == "no_suitable_item" and s["item"] is None for s in result["stages"])


def test_no_item_meets_the_goal_is_a_clear_outcome(planner):
    loud = synthetic_items()
    loud = loud[loud["quadrant"].isin([1, 2])].reset_index(drop=True)  # only energetic music
    unit = descriptor_vectors(loud)[0]
    plan = planner.plan({"fear": 0.9}).to_dict()
    result = assemble_session(plan, loud, unit, ONE_ITEM, planner.goals["sleep"])
    target = result["stages"][2]
    assert result["status"] == "partial" and target["status"] == "no_suitable_item" and target["item"] is None
    assert "limits" in target["reason"] and target["constraints"]
    assert result["stages"][0]["status"] == "ok"  # the rest of the session still stands


def test_key_distance_on_the_circle_of_fifths():
    assert key_distance("C major", "A minor") == 0 and key_distance("C major", "G major") == 1
    assert key_distance("C major", "F# major") == 6 and key_distance("E minor", "D major") == 1


def test_index_round_trip_and_mismatched_vector_tags(tmp_path):
    items = synthetic_items(4)
    manifest = items.assign(loudness_before_lufs=items["loudness_lufs"])
    descriptors = items.rename(columns={"density_onsets_per_s": "onset_density_per_s"}).assign(
        pitch_centroid_midi=items["register_midi"])
    estimates = items[["id", "valence", "arousal"]]
    scores = pd.DataFrame(columns=["id", "score_pitch_centroid_midi"])
    emb = tmp_path / "embeddings"
    emb.mkdir()
    # stand-in vectors derived from the items (the test is about tags, not about music)
    vectors = descriptor_vectors(items)[0] @ np.ones((8, 6), np.float32)
    np.save(emb / "vectors.npy", vectors)
    pd.DataFrame({"id": items["id"]}).to_parquet(emb / "index.parquet")
    tags = {"checkpoint_sha256": "a" * 64, "mert_revision": "sha256:1", "preprocessing": "p/1"}
    (emb / "report.json").write_text(json.dumps({"backend": "clamp3", "tags": tags}))
    cuts = pd.DataFrame({"id": items["id"].iloc[:3], "cut_points_s": [[3.5, 9.0], [], [12.25]]})
    meta = build_index(manifest, descriptors, estimates, scores, emb, tmp_path / "index", index_settings(), cuts=cuts)
    assert meta["backend"] == "hybrid" and meta["vector_tags"] == tags and meta["items"] == len(items)
    index = load_index(tmp_path / "index", expected_tags=tags)
    assert index.clamp3_vectors.shape == (len(items), 6)
    cut_lists = [list(c) for c in index.items["cut_points_s"]]
    assert cut_lists[:3] == [[3.5, 9.0], [], [12.25]] and cut_lists[3] == []  # no cut points: trimmed with a fade
    assert list(index.arrays.cuts[0]) == [3.5, 9.0]
    with pytest.raises(IndexLoadError, match="other tags"):
        load_index(tmp_path / "index", expected_tags={**tags, "mert_revision": "sha256:2"})
    with pytest.raises(ValueError, match="text encoder"):
        retrieve({"stages": []}, index, ONE_ITEM)
    with pytest.raises(IndexLoadError, match="build_index"):
        load_index(tmp_path / "nowhere")


def test_evaluation_reports_the_system_and_its_baselines(planner, corpus):
    from emoheal.retrieval.evaluation import evaluate_sessions
    from emoheal.retrieval.index import RetrievalIndex

    items, unit = corpus
    index = RetrievalIndex(items, unit, {"backend": "descriptors"}, None)
    plans = [planner.plan({label: 1.0}, "sleep").to_dict() for label in ("fear", "joy", "sadness", "relief", "anger")]
    metrics = evaluate_sessions(plans, index, planner.goals["sleep"], ONE_ITEM, seed=3)
    assert set(metrics) == {"system", "descriptors_only", "va_nearest", "random", "chance"}
    system, random = metrics["system"], metrics["random"]
    assert system["sessions"] == system["complete_sessions"] == 5
    assert system["target_q4_precision_at_1"] == 1.0 and system["arousal_never_rises"] == 1.0
    assert system["match_quadrant_agreement"] >= 0.8 > random["match_quadrant_agreement"]
    assert metrics["chance"]["target_q4"] == 0.25
    assert 0 < system["item_coverage"] <= 1 and system["most_repeated_item_share"] == 1.0  # the same calm item


def test_large_indexes_score_faiss_candidates_with_the_same_result(planner):
    from emoheal.retrieval.index import RetrievalIndex, _faiss_index

    items = synthetic_items(per_quadrant=400, seed=5)
    unit, mean, scale = descriptor_vectors(items)
    meta = {"backend": "descriptors", "mean": mean.tolist(), "scale": scale.tolist()}
    index = RetrievalIndex(items, unit, meta, None, _faiss_index(unit, "flat", 16))
    plan = planner.plan({"fear": 0.9}).to_dict()
    everything = retrieve(plan, index, ONE_ITEM, goal=planner.goals["sleep"], candidate_threshold=10 ** 9)
    candidates = retrieve(plan, index, ONE_ITEM, goal=planner.goals["sleep"], candidate_threshold=100,
                          candidates_per_stage=400)
    # the candidates approximate: the ends (the strongest targets) agree, and no stage's pick
    # scores much below what scoring every item finds
    picks = {s["stage"]: s for s in candidates["stages"]}
    exact = {s["stage"]: s for s in everything["stages"]}
    assert picks["match"]["item"]["id"] == exact["match"]["item"]["id"]
    assert picks["target"]["item"]["id"] == exact["target"]["item"]["id"]
    for name in exact:
        assert picks[name]["score"]["total"] >= 0.95 * exact[name]["score"]["total"], name
