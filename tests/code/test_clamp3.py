"""CLaMP 3 fidelity against the oracle computed by the official code (a copy lives in
tests/fixtures/clamp3), its sensitivity to the mistakes the oracle is designed to catch,
and clear errors for missing or broken weights."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from emoheal.encoder.clamp3 import segments
from emoheal.encoder.clamp3.checkpoint import CheckpointError, load_clamp3, read_state_dict
from emoheal.encoder.clamp3.config import Clamp3Config
from emoheal.encoder.clamp3.segments import encode_audio_rows, encode_text_ids, plan_segments
from emoheal.encoder.clamp3.verify import check_full_keys, verify_fixture
from tests.helpers import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "clamp3"


@pytest.fixture(scope="module")
def tiny():
    model, sha = load_clamp3(FIXTURE / "weights.safetensors", Clamp3Config.from_fixture(FIXTURE / "config.json"))
    return model, sha


def test_verify_command_passes_on_the_oracle(cli):
    result = cli("clamp3", "verify", "--fixture", str(FIXTURE))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("ok")]
    assert len(lines) == 13  # 12 cases + the full-size key check
    assert "12/12 cases within 1e-05" in result.stdout


def test_every_case_is_within_tolerance():
    results = verify_fixture(FIXTURE)
    assert {r.name for r in results} >= {"text_long", "audio_n_eq_max", "batch_audio", "batch_symbolic"}
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_full_size_model_has_the_official_keys_and_shapes():
    assert check_full_keys(FIXTURE / "keys_full.json") == []


def test_the_key_check_can_fail(tmp_path):
    keys = json.loads((FIXTURE / "keys_full.json").read_text())
    keys["keys"] = keys["keys"][1:] + [["audio_proj.extra", [3], "float32"]]
    keys["keys"][0][1] = [1, 1]
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    problems = check_full_keys(tmp_path / "keys.json")
    assert any(p.startswith("missing audio_proj.extra") for p in problems)
    assert any(p.startswith("unexpected text_model.embeddings.word_embeddings.weight") for p in problems)
    assert any("shape" in p for p in problems)


def test_a_changed_oracle_output_fails_verification(cli, tmp_path):
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "oracle"
    shutil.copytree(FIXTURE, copy)
    cases = load_file(str(copy / "cases.safetensors"))
    cases["text_long_global"] = cases["text_long_global"] + 2e-5
    save_file(cases, str(copy / "cases.safetensors"))
    result = cli("clamp3", "verify", "--fixture", str(copy))
    assert result.returncode == 1 and "FAIL  text_long" in result.stdout


@pytest.mark.parametrize(
    ("mistake", "expected_failures"),
    [
        ("head_aligned_last_segment", {"text_long", "audio_long", "audio_n_eq_max"}),
        ("equal_segment_weights", {"text_long", "audio_long", "audio_n_eq_max"}),
        ("no_boundary_rows", {"audio_short", "audio_exact_max", "audio_n_eq_max", "audio_long", "audio_multiple"}),
    ],
)
def test_the_oracle_catches_segmenting_mistakes(monkeypatch, mistake, expected_failures):
    real_plan = segments.plan_segments
    if mistake == "head_aligned_last_segment":
        def plan(length, limit):
            p = real_plan(length, limit)
            return segments.SegmentPlan(list(range(0, length, limit)), p.weights, p.length, p.limit)
        monkeypatch.setattr(segments, "plan_segments", plan)
    elif mistake == "equal_segment_weights":
        def plan(length, limit):
            p = real_plan(length, limit)
            return segments.SegmentPlan(p.starts, [1] * len(p.starts), p.length, p.limit)
        monkeypatch.setattr(segments, "plan_segments", plan)
    else:
        real_cat = torch.cat

        def cat(tensors, dim=0):  # drop the two zero rows the audio path adds
            tensors = list(tensors)
            if len(tensors) == 3 and tensors[0].abs().sum() == 0 and tensors[0].shape[0] == 1:
                return tensors[1]
            return real_cat(tensors, dim=dim)
        monkeypatch.setattr(segments.torch, "cat", cat)
    failing = {r.name for r in verify_fixture(FIXTURE) if not r.ok}
    assert expected_failures <= failing


def test_the_oracle_catches_a_wrong_layer_norm_epsilon(monkeypatch):
    from emoheal.encoder.clamp3 import config as config_module

    real = config_module.Clamp3Config.from_fixture.__func__

    def wrong(cls, path):
        import dataclasses

        return dataclasses.replace(real(cls, path), bert_layer_norm_eps=1e-5)
    monkeypatch.setattr(config_module.Clamp3Config, "from_fixture", classmethod(wrong))
    failing = {r.name for r in verify_fixture(FIXTURE) if not r.ok}
    assert failing and all(name.startswith(("audio", "batch")) for name in failing)


@given(length=st.integers(1, 700), limit=st.sampled_from([16, 32, 128]))
def test_segment_plans_follow_the_upstream_rule(length, limit):
    plan = plan_segments(length, limit)
    assert plan.starts[0] == 0
    if length <= limit:
        assert plan.starts == [0] and plan.weights == [length]
        return
    assert plan.starts[-1] == length - limit  # tail-aligned
    assert plan.starts[:-1] == list(range(0, limit * (len(plan.starts) - 1), limit))
    assert plan.weights[:-1] == [limit] * (len(plan.starts) - 1)
    assert plan.weights[-1] == (length % limit or limit)
    covered = set()
    for start in plan.starts:
        covered |= set(range(start, start + limit))
    assert covered == set(range(length))


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        plan_segments(0, 16)


@pytest.mark.parametrize("n", [1, 13, 14, 15, 40, 61])
def test_unpadded_segments_give_the_same_vectors(tiny, n):
    model, _ = tiny
    rows = torch.randn(n, model.config.audio_hidden_size, generator=torch.Generator().manual_seed(n))
    padded, unpadded = encode_audio_rows(model, rows), encode_audio_rows(model, rows, pad_to_limit=False)
    assert torch.allclose(padded["global"], unpadded["global"], atol=1e-6)
    ids = torch.cat([torch.tensor([0]), torch.randint(3, 1000, (n,), generator=torch.Generator().manual_seed(n)),
                     torch.tensor([2])])
    assert torch.allclose(encode_text_ids(model, ids)["global"],
                          encode_text_ids(model, ids, pad_to_limit=False)["global"], atol=1e-6)


def test_wrong_row_width_is_an_error(tiny):
    model, _ = tiny
    with pytest.raises(ValueError, match="MERT rows of shape"):
        encode_audio_rows(model, torch.zeros(4, 7))


def test_an_official_style_checkpoint_loads_strictly_and_is_hashed(tiny, tmp_path):
    from safetensors.torch import load_file

    state = load_file(str(FIXTURE / "weights.safetensors"))
    path = tmp_path / "clamp3.pth"
    torch.save({"model": state, "epoch": 3, "min_eval_loss": 0.5, "optimizer": {"state": {}}}, path)
    model, sha = load_clamp3(path, Clamp3Config.from_fixture(FIXTURE / "config.json"))
    from emoheal.utils.hashing import sha256_file

    assert sha == sha256_file(path) and not model.training
    ids = torch.tensor([0, 5, 9, 2])
    assert torch.equal(encode_text_ids(model, ids)["global"], encode_text_ids(tiny[0], ids)["global"])


def test_missing_corrupt_and_mismatched_checkpoints_are_clear_errors(tmp_path):
    config = Clamp3Config.from_fixture(FIXTURE / "config.json")
    with pytest.raises(CheckpointError, match="huggingface.co/sander-wood/clamp3") as missing:
        load_clamp3(tmp_path / "nope.pth", config)
    assert "models/clamp3" in str(missing.value)
    (tmp_path / "corrupt.pth").write_bytes(b"PK\x03\x04 definitely not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_clamp3(tmp_path / "corrupt.pth", config)
    torch.save({"weights": {}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="no 'model' state dict"):
        read_state_dict(tmp_path / "other.pth")
    from safetensors.torch import load_file

    state = load_file(str(FIXTURE / "weights.safetensors"))
    state.pop("audio_proj.bias")
    torch.save({"model": state}, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_clamp3(tmp_path / "partial.pth", config)
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_clamp3(tmp_path / "bad.safetensors", config)
