"""One retrieval configuration for evaluation, CLI and service: a weight changed in conf/retrieval
(composed as `make bento` composes it, carried in the bundle's settings.json) changes the session
the API serves."""

from __future__ import annotations

TEXT = "I'm a bit nervous about tomorrow's meeting and want to relax before sleep."


def served_tracks(bundle, tmp_path, predictor, *overrides: str) -> tuple[list, object]:
    """Per stage, the tracks and the scores (the stage's, each track's) of a seeded /session from a
    Backend whose bundle settings were composed with `overrides` (Hydra syntax, as `dvc exp run -S`
    takes them)."""
    from fastapi.testclient import TestClient

    from emoheal.bento.store import bundle_settings
    from serving.app import build_app
    from serving.backend import Backend
    from tests.helpers import compose

    params = compose(*overrides)
    params["serving"]["store_file"] = str(tmp_path / f"store-{len(overrides)}.sqlite")
    settings = bundle_settings(params, {"hash": "0" * 64}, "descriptors", "safety-ci")
    backend = Backend(bundle["emotion"], bundle["session"], predictor=predictor, settings=settings)
    client = TestClient(build_app(lambda: backend, settings["max_text_chars"]))
    r = client.post("/session", json={"text": TEXT, "goal": "sleep", "minutes": 15, "seed": 3})
    assert r.status_code == 200, r.text
    stages = r.json()["stages"]
    return [([t["item_id"] for t in stage["tracks"]], (stage["score"], [t["score"] for t in stage["tracks"]]))
            for stage in stages], backend.predictor


def test_a_retrieval_weight_in_the_config_changes_the_served_session(bundle, tmp_path):
    configured, predictor = served_tracks(bundle, tmp_path, None)
    again, _ = served_tracks(bundle, tmp_path, predictor)
    assert configured == again and all(tracks for tracks, _ in configured)  # same config and seed: same session ...

    def tracks(stages: list) -> list:
        return [t for t, _ in stages]
    # ... and each weight changed in the config changes the session the API serves (its scores at
    # least); the tracks themselves change where the choice turns on the weight — on this small
    # synthetic catalogue at least one of these choices does
    overrides = ("retrieval.session.scoring.weights.valence_arousal=0.0",
                 "retrieval.session.scoring.weights.descriptors=0.0", "retrieval.sequence.path_tempo_weight=0.0")
    served = {override: served_tracks(bundle, tmp_path, predictor, override)[0] for override in overrides}
    for override, changed in served.items():
        assert changed != configured, override
    assert any(tracks(changed) != tracks(configured) for changed in served.values()), served
