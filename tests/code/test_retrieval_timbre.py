"""Retrieval and timbre: a stage's timbres are rewarded and its avoided ones never played, each
track says which stage timbre it matched, one piece is never played twice in two timbres (nor
after it was heard recently in another), and a commercial index holds licence-clean items only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoheal.retrieval.assemble import assemble_session
from emoheal.retrieval.index import build_index, load_index
from emoheal.retrieval.item_arrays import ItemArrays
from emoheal.retrieval.retrieve import retrieve_sequence
from emoheal.retrieval.sequence import sequence_session
from tests.code.test_sequence import calm_catalogue
from tests.helpers import retrieval_settings

ONE_ITEM, S = retrieval_settings()
TIMBRES = ("piano", "strings", "ambient_pad", "harp", "brass")


def rendered_catalogue(pieces: int = 160, seed: int = 0) -> pd.DataFrame:
    """Each synthetic piece rendered in every timbre of TIMBRES: the renders share the piece's
    measures (a little jitter) and its `source_id`."""
    base = calm_catalogue(pieces, seed)
    rng = np.random.default_rng(seed)
    parts = []
    for timbre in TIMBRES:
        part = base.copy()
        part["source_id"] = base["id"]
        part["id"] = base["id"] + "." + timbre
        part["timbre"] = timbre
        part["arousal"] = (part["arousal"] + rng.normal(0, 0.02, len(part))).clip(-1, 1)
        parts.append(part)
    items = pd.concat(parts, ignore_index=True)
    items["source"] = "emopia"
    items["licence"] = "CC BY-NC"
    return items


@pytest.fixture(scope="module")
def catalogue():
    return rendered_catalogue()


def sleep_plan(planner, emotion="sadness", minutes=20):
    return planner.plan({emotion: 1.0}, "sleep", minutes).to_dict()


def test_target_tracks_sound_in_the_stage_timbres_and_never_an_avoided_one(planner, catalogue):
    plan = sleep_plan(planner)
    result = sequence_session(plan, catalogue, S, planner.goals["sleep"], seed=1)
    stages = {st["name"]: st for st in plan["stages"]}
    for stage in result["stages"]:
        targets = stages[stage["stage"]]["targets"]
        assert stage["tracks"], stage
        for t in stage["tracks"]:
            assert t["timbre"] not in targets["avoid_timbres"]  # brass: avoided by sleep
            assert t["timbre_match"] == (t["timbre"] if t["timbre"] in targets["timbres"] else None)
    target = next(s for s in result["stages"] if s["stage"] == "target")
    matched = [t["timbre_match"] is not None for t in target["tracks"]]
    assert sum(matched) / len(matched) >= 0.8
    assert sum(target["sequence"]["timbres_matched"].values()) == sum(matched)
    assert all(t["timbre"] != "brass" for t in (tr for s in result["stages"] for tr in s["tracks"]))


def test_the_timbre_reward_moves_choices_toward_the_stage_timbres(planner, catalogue):
    plan = sleep_plan(planner)
    target_timbres = next(s for s in plan["stages"] if s["name"] == "target")["targets"]["timbres"]

    def share(weight: float) -> float:
        s = S.model_copy(update={"scoring": S.scoring.model_copy(update={
            "timbre": S.scoring.timbre.model_copy(update={"weight": weight})})})
        shares = []
        for seed in range(4):
            target = sequence_session(plan, catalogue, s, planner.goals["sleep"], seed=seed)["stages"][-1]
            shares += [t["timbre"] in target_timbres for t in target["tracks"]]
        return float(np.mean(shares))

    assert share(S.scoring.timbre.weight) > share(0.0)


def test_one_piece_is_never_played_in_two_timbres(planner, catalogue):
    plan = sleep_plan(planner, "nervousness", 30)
    for seed in range(3):
        result = sequence_session(plan, catalogue, S, planner.goals["sleep"], seed=seed)
        tracks = [t for s in result["stages"] for t in s["tracks"]]
        pieces = [t["item_id"].rsplit(".", 1)[0] for t in tracks]
        assert len(pieces) == len(set(pieces)) and len(tracks) > 10


def test_a_piece_heard_recently_in_one_timbre_is_left_out_in_all(planner, catalogue):
    plan = sleep_plan(planner)
    first = sequence_session(plan, catalogue, S, planner.goals["sleep"], seed=5)
    heard = [t["item_id"] for s in first["stages"] for t in s["tracks"]][:6]
    again = sequence_session(plan, catalogue, S, planner.goals["sleep"], exclude=heard, seed=5)
    heard_pieces = {h.rsplit(".", 1)[0] for h in heard}
    assert not heard_pieces & {t["item_id"].rsplit(".", 1)[0] for s in again["stages"] for t in s["tracks"]}


def test_the_one_item_session_refuses_avoided_timbres_and_repeated_pieces(planner, catalogue):
    plan = sleep_plan(planner)
    unit = np.ones((len(catalogue), 1), dtype=np.float32)
    result = assemble_session(plan, catalogue, unit, ONE_ITEM, planner.goals["sleep"])
    chosen = [st["item"] for st in result["stages"] if st["item"]]
    assert len({c["id"].rsplit(".", 1)[0] for c in chosen}) == len(chosen) == 3
    assert all(c["timbre"] != "brass" for c in chosen)
    assert all("timbre" in st["score"] for st in result["stages"])


def test_a_commercial_index_holds_licence_clean_items_only(tmp_path, planner, catalogue):
    items = catalogue.copy()
    composed = items.index % 7 == 0
    items.loc[composed, "source"] = "composed"
    items.loc[composed, "licence"] = "generated"
    manifest = items.assign(loudness_before_lufs=items["loudness_lufs"], content_sha256="x", sample_rate=24000,
                            split="unassigned", midi_path=None, gain_db=0.0, song_id=None, composition=None)
    descriptors = items.rename(columns={"density_onsets_per_s": "onset_density_per_s"}).assign(
        pitch_centroid_midi=items["register_midi"])
    estimates = items[["id", "valence", "arousal"]]
    scores = pd.DataFrame(columns=["id", "score_pitch_centroid_midi"])
    meta = build_index(manifest, descriptors, estimates, scores, tmp_path / "emb", tmp_path / "index",
                       None, licence="commercial")
    assert meta["items"] == composed.sum() and meta["left_out_by_licence"] == len(items) - composed.sum()
    index = load_index(tmp_path / "index")
    assert set(index.items["licence"]) == {"generated"}
    result = retrieve_sequence(sleep_plan(planner, minutes=10), index, S, planner.goals["sleep"], seed=0)
    assert all(t["item_id"] in set(index.items["id"]) for s in result["stages"] for t in s["tracks"])
    with pytest.raises(ValueError, match="any or commercial"):
        build_index(manifest, descriptors, estimates, scores, tmp_path / "emb", tmp_path / "i2", None, licence="nc")


def test_items_without_a_timbre_are_neither_rewarded_nor_refused(planner):
    items = calm_catalogue(80)
    arr = ItemArrays.from_items(items)  # an index made before timbres: no timbre column at all
    result = sequence_session(sleep_plan(planner, minutes=10), arr, S, planner.goals["sleep"], seed=0)
    tracks = [t for s in result["stages"] for t in s["tracks"]]
    assert tracks and all(t["timbre"] is None and t["timbre_match"] is None for t in tracks)
