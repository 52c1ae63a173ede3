"""Loading CLaMP 3 weights from a local file — never from a hub.

An official checkpoint is a `torch.save` dict whose `model` entry is the state dict (plus
~0.7 GB of optimiser state we never touch): it is read with `weights_only=True` and
`mmap=True`, only `model` is used, and it loads strictly. A `.safetensors` state dict (as in
the oracle fixtures) loads the same way. The file's sha256 tags every vector made with it.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from emoheal.encoder.clamp3.config import Clamp3Config
from emoheal.encoder.clamp3.model import Clamp3Model
from emoheal.utils.hashing import sha256_file

OFFICIAL_FILE = ("weights_clamp3_saas_h_size_768_t_model_FacebookAI_xlm-roberta-base_t_length_128_a_size_768_"
                 "a_layers_12_a_length_128_s_size_768_s_layers_12_p_size_64_p_length_512.pth")
WHERE = (f"download {OFFICIAL_FILE} (2.57 GB, MIT licence) from https://huggingface.co/sander-wood/clamp3 on a "
         "machine with network access and put it at the path configured as encoder.checkpoint "
         "(default models/clamp3/clamp3_saas.pth)")


class CheckpointError(RuntimeError):
    """The CLaMP 3 checkpoint is missing, unreadable or does not fit the model."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"CLaMP 3 checkpoint not found at {path}: {WHERE}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path} is not a readable safetensors file ({exc}); download it again") from None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200]}); it may be truncated or corrupt: {WHERE}") from None
    if not isinstance(blob, dict) or "model" not in blob or not isinstance(blob["model"], dict):
        raise CheckpointError(f"{path} has no 'model' state dict: it is not a CLaMP 3 training checkpoint")
    return blob["model"]


def load_clamp3(path: str | Path, config: Clamp3Config = Clamp3Config()) -> tuple[Clamp3Model, str]:
    """The model in eval mode with the file's weights (strict), and the file's sha256."""
    state = read_state_dict(path)
    model = Clamp3Model(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[:4]
        raise CheckpointError(f"{path} does not fit the configured CLaMP 3 model: {' '.join(first)[:600]}") from None
    return model.eval(), sha256_file(path)


def meta_state_shapes(config: Clamp3Config = Clamp3Config()) -> list[tuple[str, list[int], str]]:
    """(key, shape, dtype) of the model's state dict, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = Clamp3Model(config)
    return [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()]
