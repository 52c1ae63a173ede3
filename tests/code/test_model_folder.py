"""Loading a trained model folder is loud about anything that is not what was trained: weights that
do not match the recorded hash, encoder weights that leave keys missing or unexpected, a head that
does not fit. A partly random model would otherwise answer without an error."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from emoheal.emotion.artifacts import ModelFolderError, load_model_folder, read_meta
from emoheal.utils.hashing import sha256_files
from emoheal.utils.io import write_json
from tests.code.test_onnx import _tiny_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("model_folder")
    _tiny_model(root, "mean")
    return root / "model"


@pytest.fixture
def copy(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / "model")


def _encoder_weights(folder):
    (path,) = folder.glob("encoder/*.safetensors")
    return path


def _rehash(folder) -> None:
    """Record the current files' hash, as a (mis)guided hand edit would: only the key check is left."""
    meta = read_meta(folder)
    weights = sorted(folder.glob("encoder/*.safetensors")) + [folder / "head.safetensors"]
    write_json(folder / "emotion_model.json", {**meta, "weights_sha256": sha256_files(weights, folder)})


def test_the_folder_as_trained_loads(trained):
    classifier, _, meta = load_model_folder(trained)
    assert meta["version"].startswith("emotion-tiny-") and not classifier.training


def test_a_changed_weight_file_is_refused_by_its_hash(copy):
    head = load_file(str(copy / "head.safetensors"))
    head["bias"] = head["bias"] + 0.01
    save_file(head, str(copy / "head.safetensors"))
    with pytest.raises(ModelFolderError, match="do not match the hash recorded at training"):
        load_model_folder(copy)


def test_a_missing_weight_file_is_named(copy):
    (copy / "head.safetensors").unlink()
    with pytest.raises(ModelFolderError, match="head.safetensors"):
        load_model_folder(copy)


@pytest.mark.parametrize("change, kind", [("drop", "missing_keys"), ("add", "unexpected_keys")])
def test_encoder_weights_that_do_not_fill_the_network_are_refused(copy, change, kind):
    path = _encoder_weights(copy)
    state = load_file(str(path))
    if change == "drop":
        state.pop(next(k for k in state if k.endswith("attention.self.query.weight")))
    else:
        state["encoder.layer.9.extra.weight"] = torch.zeros(2, 2)
    save_file(state, str(path), metadata={"format": "pt"})
    _rehash(copy)
    with pytest.raises(ModelFolderError, match=kind):
        load_model_folder(copy)


def test_a_head_of_the_wrong_shape_is_refused(copy):
    head = load_file(str(copy / "head.safetensors"))
    save_file({k: v[:5].contiguous() for k, v in head.items()}, str(copy / "head.safetensors"))
    _rehash(copy)
    with pytest.raises(ModelFolderError, match="does not fit the head"):
        load_model_folder(copy)
