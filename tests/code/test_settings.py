"""Typed settings (emoheal.settings): every profile and group option composes into valid settings,
params.yaml is valid, and a bad params file — or a bad service bundle's settings.json — is refused
naming the file, the dotted key and where that key is defined; a stage ends with that message
(exit 2). The retrieval settings come from the config: changing a weight there changes the music."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from emoheal.settings import Params, ParamsError, load_settings, validate_params
from emoheal.utils.io import load_params
from tests.helpers import ROOT, compose, run_stage, write_params

# conf/experiments holds the recipe lists `emoheal candidates` trains, not a group the pipeline composes
GROUPS = sorted(p.name for p in (ROOT / "conf").iterdir() if p.is_dir() and p.name not in ("profile", "experiments"))
PROFILES = sorted(p.stem for p in (ROOT / "conf" / "profile").glob("*.yaml"))
OPTIONS = [(group, p.stem) for group in GROUPS for p in sorted((ROOT / "conf" / group).glob("*.yaml"))]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_composes_into_valid_settings(profile):
    settings = validate_params(compose(f"profile={profile}"))
    assert isinstance(settings, Params) and settings.profile == profile


@pytest.mark.parametrize("group, option", OPTIONS)
def test_every_group_option_composes_into_valid_settings(group, option):
    assert validate_params(compose(f"{group}={option}"))


def test_params_yaml_is_valid_and_load_params_returns_it_as_read():
    assert load_settings(ROOT / "params.yaml").serving.max_text_chars == compose()["serving"]["max_text_chars"]
    assert load_params(ROOT / "params.yaml") == yaml.safe_load((ROOT / "params.yaml").read_text())


def bad_file(tmp_path, change) -> str:
    params = copy.deepcopy(compose())
    change(params)
    return str(write_params(params, tmp_path / "bad.yaml"))


def refused(path) -> str:
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_an_unknown_key_is_named_with_its_file_and_home(tmp_path):
    path = bad_file(tmp_path, lambda p: p["train"].update(keep_checkpoint=True))
    assert refused(path) == f"{path}: train.keep_checkpoint: unknown key (defined in conf/train/*.yaml)"
    path = bad_file(tmp_path, lambda p: p.update(colour="blue"))
    assert "colour: unknown key (a root key: defined in conf/config.yaml)" in refused(path)


def test_a_wrong_type_is_named_with_the_value(tmp_path):
    path = bad_file(tmp_path, lambda p: p["serving"].update(max_text_chars="abc"))
    assert refused(path) == (f"{path}: serving.max_text_chars: expected an integer, got 'abc' "
                             "(defined in conf/serving/*.yaml)")
    path = bad_file(tmp_path, lambda p: p["retrieval"]["index"].update(kind="annoy"))
    assert "retrieval.index.kind: expected one of 'flat', 'ivf' or 'hnsw', got 'annoy'" in refused(path)
    path = bad_file(tmp_path, lambda p: p["trainer"].update(deterministic="yes"))
    assert "trainer.deterministic: expected true or false, got 'yes'" in refused(path)


def test_a_missing_key_is_named(tmp_path):
    path = bad_file(tmp_path, lambda p: p["retrieval"]["sequence"].pop("near_equal"))
    assert refused(path) == f"{path}: retrieval.sequence.near_equal: missing key (defined in conf/retrieval/*.yaml)"


def test_a_section_chosen_by_a_key_names_the_key_not_the_union(tmp_path):
    """The backbone's shape depends on its `source`: errors name the file's keys only."""
    path = bad_file(tmp_path, lambda p: p["backbone"].update(hub_id="x"))  # minilm is a package backbone
    assert refused(path) == f"{path}: backbone.hub_id: unknown key (defined in conf/backbone/*.yaml)"
    path = bad_file(tmp_path, lambda p: p["encoder"].update(name="clamp4"))
    assert "encoder.name: expected one of 'none', 'clamp3', got 'clamp4'" in refused(path)


def test_every_problem_is_listed(tmp_path):
    def change(p):
        p["train"]["keep_checkpoint"] = True
        p["kg"]["planner"]["floor"] = "low"
        del p["profile"]
    message = refused(bad_file(tmp_path, change))
    assert len(message.splitlines()) == 3 and "profile: missing key (set by each conf/profile/*.yaml)" in message


def test_a_stage_with_a_bad_params_file_exits_2_with_the_message(tmp_path):
    path = bad_file(tmp_path, lambda p: p["kg"]["planner"].update(flor=0.1))
    result = run_stage("compile_kg", path, check=False, timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"error: {path}: kg.planner.flor: unknown key (defined in conf/kg/*.yaml)" in result.stderr
    assert "Traceback" not in result.stderr


def bundle_folder(tmp_path, change=None):
    """A session bundle's settings.json (as `emoheal bento import` writes it), nothing else."""
    from emoheal.bento.store import bundle_settings

    settings = bundle_settings(compose(), {"hash": "0" * 64}, "descriptors", "safety-test")
    if change:
        change(settings)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    return tmp_path


def test_the_service_reads_its_bundle_settings_checked(tmp_path, monkeypatch):
    from serving.backend import load_settings as load_bundle

    for env in ("EMOHEAL_MAX_TEXT_CHARS", "EMOHEAL_WORKERS", "EMOHEAL_SESSION_THREADS", "EMOHEAL_LOCALE",
                "EMOHEAL_DETECTOR_RUNTIME"):
        monkeypatch.delenv(env, raising=False)
    folder = bundle_folder(tmp_path / "good")
    assert load_bundle(folder)["max_text_chars"] == compose()["serving"]["max_text_chars"]
    monkeypatch.setenv("EMOHEAL_MAX_TEXT_CHARS", "500")
    assert load_bundle(folder)["max_text_chars"] == 500
    monkeypatch.setenv("EMOHEAL_MAX_TEXT_CHARS", "abc")
    with pytest.raises(ParamsError, match=r"with EMOHEAL_MAX_TEXT_CHARS: max_text_chars: expected an integer, "
                                          r"got 'abc' \(.*fix EMOHEAL_MAX_TEXT_CHARS\)"):
        load_bundle(folder)
    monkeypatch.delenv("EMOHEAL_MAX_TEXT_CHARS")
    monkeypatch.setenv("EMOHEAL_SESSION_THREADS", "2")
    assert load_bundle(folder)["session_threads"] == 2
    monkeypatch.setenv("EMOHEAL_SESSION_THREADS", "0")
    with pytest.raises(ParamsError, match=r"EMOHEAL_SESSION_THREADS: session_threads: .*fix EMOHEAL_SESSION_THREADS"):
        load_bundle(folder)
    monkeypatch.delenv("EMOHEAL_SESSION_THREADS")
    old = bundle_folder(tmp_path / "old", lambda s: s["retrieval"]["session"]["scoring"].pop("personal_weight"))
    with pytest.raises(ParamsError) as info:
        load_bundle(old)
    assert str(info.value) == (f"{old / 'settings.json'}: retrieval.session.scoring.personal_weight: missing key "
                               "(written from conf/retrieval/*.yaml by `emoheal bento import`: rebuild the bundle "
                               "with `make bento-models`)")


def test_a_retrieval_weight_in_the_config_changes_the_session(planner, tmp_path):
    """The same settings objects the runner and the service pass to retrieve_sequence: composed
    from conf/, a weight changed there (as `-S` or a conf edit would) changes the tracks."""
    from emoheal.retrieval.config import settings_from_config
    from emoheal.retrieval.index import load_index, write_items
    from emoheal.retrieval.retrieve import retrieve_sequence
    from tests.code.test_retrieval import synthetic_items

    write_items(synthetic_items(per_quadrant=8, spread=0.35), tmp_path / "index")
    index = load_index(tmp_path / "index")
    plan = planner.plan({"nervousness": 0.7, "fear": 0.4}, "sleep", 15).to_dict()

    def tracks(*overrides: str) -> list[list[str]]:
        _, sequence = settings_from_config(compose(*overrides)["retrieval"])
        found = retrieve_sequence(plan, index, sequence, goal=planner.goals["sleep"], seed=3)
        return [[t["item_id"] for t in stage["tracks"]] for stage in found["stages"]]

    assert tracks() == tracks()  # the same config and seed give the same session ...
    assert tracks("retrieval.session.scoring.weights.valence_arousal=0.0") != tracks()  # ... a weight changes it
    assert tracks("retrieval.sequence.path_tempo_weight=3.0") != tracks()


def test_every_emotion_candidate_composes_into_valid_settings(tmp_path):
    from emoheal.emotion.candidates import candidate_params, read_candidates

    base, candidates = read_candidates(ROOT / "conf" / "experiments" / "emotion_candidates.yaml")
    assert "baseline" in candidates and candidates["baseline"] == []
    for name, overrides in candidates.items():
        params = candidate_params(name, base, overrides, tmp_path, ROOT / "conf")
        assert params["paths"]["model"] == str(tmp_path / name)
