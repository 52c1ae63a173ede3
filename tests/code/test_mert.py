"""The MERT front end on a tiny HuBERT saved the way MERT-v1 is (old weight-norm key names):
the positional convolution must really load, and CLaMP 3's preprocessing rules hold."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from emoheal.encoder.mert import HUB_ID, SAMPLE_RATE, MertError, MertFrontEnd
from tests.helpers import TINY_MERT as TINY
from tests.helpers import save_mert_like


@pytest.fixture(scope="module")
def mert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mert")
    state = save_mert_like(folder)
    return MertFrontEnd(folder), state


def test_the_positional_convolution_really_loads(mert):
    front, state = mert
    loaded = front.model.state_dict()
    assert torch.equal(loaded["encoder.pos_conv_embed.conv.parametrizations.weight.original0"],
                       state["encoder.pos_conv_embed.conv.weight_g"])
    assert torch.equal(loaded["encoder.pos_conv_embed.conv.parametrizations.weight.original1"],
                       state["encoder.pos_conv_embed.conv.weight_v"])
    assert front.revision.startswith("sha256:")


def test_a_positional_convolution_that_did_not_load_is_caught(tmp_path, monkeypatch):
    from transformers import HubertModel

    save_mert_like(tmp_path)
    real = HubertModel.load_state_dict

    def lossy(self, state, strict=True, **kwargs):  # as if the old names had been ignored
        state = {k: v for k, v in state.items() if "pos_conv_embed.conv.parametrizations" not in k}
        return real(self, state, strict=False)
    monkeypatch.setattr(HubertModel, "load_state_dict", lossy)
    with pytest.raises(MertError, match="did not load"):
        MertFrontEnd(tmp_path)


def test_windows_follow_the_5s_and_1s_rules():
    rng = np.random.default_rng(0)
    assert [w.numel() for w in MertFrontEnd.windows(rng.normal(size=int(12.5 * SAMPLE_RATE)), SAMPLE_RATE)] == \
        [120000, 120000, 60000]
    assert [w.numel() for w in MertFrontEnd.windows(rng.normal(size=int(10.9 * SAMPLE_RATE)), SAMPLE_RATE)] == \
        [120000, 120000]  # the last 0.9 s is under a second: dropped, as upstream does
    assert len(MertFrontEnd.windows(rng.normal(size=44100 * 6), 44100)) == 2  # resampled to 24 kHz first
    with pytest.raises(MertError, match="shorter than 1 s"):
        MertFrontEnd.windows(rng.normal(size=SAMPLE_RATE // 2), SAMPLE_RATE)


def test_the_whole_track_is_normalised_before_windowing(mert):
    front, _ = mert
    x = np.random.default_rng(1).normal(size=7 * SAMPLE_RATE).astype(np.float32)
    a = front.embed(x, SAMPLE_RATE)
    b = front.embed(3 * x + 0.25, SAMPLE_RATE)
    assert a.shape == (2, 32) and torch.allclose(a, b, atol=1e-4)
    # the windows are normalised together, not one by one
    y = x.copy()
    y[: 5 * SAMPLE_RATE] *= 4
    first, second = MertFrontEnd.windows(y, SAMPLE_RATE)
    whole = torch.cat([first, second])
    assert abs(float(whole.mean())) < 1e-4 and float(whole.std()) == pytest.approx(1.0, abs=1e-3)
    assert float(second.std()) < 0.5 < 1.0 < float(first.std())


def test_vectors_average_13_hidden_states_over_time(mert):
    front, _ = mert
    x = np.random.default_rng(2).normal(size=5 * SAMPLE_RATE).astype(np.float32)
    vec = front.embed(x, SAMPLE_RATE)[0]
    window = MertFrontEnd.windows(x, SAMPLE_RATE)[0].unsqueeze(0)
    with torch.no_grad():
        states = front.model(input_values=window, output_hidden_states=True).hidden_states
    assert len(states) == TINY["num_hidden_layers"] + 1
    manual = torch.stack([s[0].mean(dim=0) for s in states]).mean(dim=0)
    assert torch.allclose(vec, manual, atol=1e-6)


def test_batching_full_windows_changes_nothing(mert):
    front, _ = mert
    x = np.random.default_rng(3).normal(size=16 * SAMPLE_RATE).astype(np.float32)
    assert torch.allclose(front.embed(x, SAMPLE_RATE, batch_size=1), front.embed(x, SAMPLE_RATE, batch_size=8),
                          atol=1e-5)


def test_missing_and_unsupported_models_are_clear_errors(tmp_path):
    with pytest.raises(MertError, match=HUB_ID) as info:
        MertFrontEnd(tmp_path / "nowhere")
    assert "CC-BY-NC-4.0" in str(info.value) and "models/mert" in str(info.value)
    save_mert_like(tmp_path / "cqt")
    config = json.loads((tmp_path / "cqt" / "config.json").read_text())
    (tmp_path / "cqt" / "config.json").write_text(json.dumps({**config, "feature_extractor_cqt": True}))
    with pytest.raises(MertError, match="CQT"):
        MertFrontEnd(tmp_path / "cqt")
    save_mert_like(tmp_path / "broken")
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"\x00" * 32)
    with pytest.raises(MertError, match="not readable"):
        MertFrontEnd(tmp_path / "broken")
