"""The MERT-v1-95M front end CLaMP 3's audio path needs: audio → one 768-d vector per 5 s.

MERT-v1 is a HuBERT variant; with its MERT-only options off (no CQT extractor, no deepnorm,
no attention relaxation) it is transformers' `HubertModel`, which we build from the local
folder's config.json. Its checkpoint stores the positional convolution's weight norm under
the old names `weight_g` / `weight_v`; transformers 5 names them
`parametrizations.weight.original0/1`. We rename them and then compare the loaded tensors
with the file's, because a silently missed positional convolution makes every vector garbage.

Preprocessing (CLaMP 3's): mono, 24 kHz (torchaudio's default resampler), the WHOLE track
normalised to zero mean and unit variance, non-overlapping 5 s windows, a final partial
window kept only if it lasts at least 1 s; per window the 13 hidden states (input + 12
layers) are averaged over time and then over layers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from emoheal.utils.hashing import sha256_file

HUB_ID = "m-a-p/MERT-v1-95M"
SAMPLE_RATE = 24000
WINDOW_SAMPLES = 5 * SAMPLE_RATE
MIN_LAST_SAMPLES = 1 * SAMPLE_RATE
PREPROCESS_VERSION = "mert-v1/24k/whole-norm/5s-min1s/mean-time-then-13-layers/1"
WHERE = (f"download {HUB_ID} (config.json, preprocessor_config.json and model.safetensors or "
         f"pytorch_model.bin; licence CC-BY-NC-4.0) from https://huggingface.co/{HUB_ID} on a machine with "
         "network access and put the folder at the path configured as encoder.mert "
         "(default models/mert/MERT-v1-95M)")
_OLD_POS_CONV = {
    "encoder.pos_conv_embed.conv.weight_g": "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
    "encoder.pos_conv_embed.conv.weight_v": "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
}
_NOT_HUBERT = {"architectures", "auto_map", "model_type", "transformers_version", "_name_or_path", "torch_dtype"}


class MertError(RuntimeError):
    """MERT is missing, unsupported, or the audio cannot be embedded."""


def _hubert_config(raw: dict):
    from transformers import HubertConfig

    if raw.get("feature_extractor_cqt") or raw.get("deepnorm") or raw.get("conv_pos_batch_norm") \
            or float(raw.get("attention_relax", -1.0)) > 0:
        raise MertError("this MERT variant uses options HuBERT does not have (CQT extractor, deepnorm, "
                        f"batch-norm positional conv or attention relaxation); {HUB_ID} does not")
    known = set(HubertConfig().to_dict())
    config = HubertConfig(**{k: v for k, v in raw.items() if k in known and k not in _NOT_HUBERT})
    config._attn_implementation = "eager"
    return config


def _weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    raise MertError(f"no MERT weights (model.safetensors or pytorch_model.bin) in {folder}: {WHERE}")


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # any decoding failure means the same thing to the user
        raise MertError(f"{path} is not readable ({type(exc).__name__}); it may be truncated: {WHERE}") from None


class MertFrontEnd:
    """Load once per process; `embed` turns samples into (windows, hidden) vectors."""

    def __init__(self, folder: str | Path):
        from transformers import HubertModel

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise MertError(f"MERT not found at {folder}: {WHERE}")
        self.config = _hubert_config(json.loads((folder / "config.json").read_text()))
        weights = _weights_file(folder)
        state = {(_OLD_POS_CONV.get(k, k)): v for k, v in _read_weights(weights).items()}
        state = {k.removeprefix("model."): v for k, v in state.items()}  # some exports nest under "model."
        self.model = HubertModel(self.config)
        try:
            self.model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise MertError(f"{weights} does not fit the HuBERT built from {folder / 'config.json'}: "
                            f"{' '.join(str(exc).splitlines()[:3])[:500]}") from None
        loaded = self.model.state_dict()
        for new in _OLD_POS_CONV.values():
            if new in state and not torch.equal(loaded[new], state[new]):
                raise MertError(f"the positional convolution {new} did not load from {weights}")
        self.model.eval()
        self.revision = f"sha256:{sha256_file(weights)[:16]}"
        self.hidden_size = self.config.hidden_size

    @staticmethod
    def windows(samples: np.ndarray, rate: int) -> list[torch.Tensor]:
        """The normalised 24 kHz track cut into 5 s windows; a final partial window is kept
        only if it lasts at least 1 s."""
        import torchaudio.functional as AF

        x = torch.as_tensor(np.asarray(samples, dtype=np.float32))
        if x.ndim == 2:  # (channels, time) or (time, channels): average to mono
            x = x.mean(dim=0 if x.shape[0] < x.shape[1] else 1)
        if rate != SAMPLE_RATE:
            x = AF.resample(x, rate, SAMPLE_RATE)
        if x.numel() < MIN_LAST_SAMPLES:
            raise MertError(f"audio of {x.numel() / SAMPLE_RATE:.2f} s is shorter than 1 s: MERT gets no window")
        x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)  # whole-track normalisation
        full = x.numel() // WINDOW_SAMPLES
        pieces = [x[i * WINDOW_SAMPLES:(i + 1) * WINDOW_SAMPLES] for i in range(full)]
        rest = x[full * WINDOW_SAMPLES:]
        if rest.numel() >= MIN_LAST_SAMPLES:
            pieces.append(rest)
        return pieces

    @torch.no_grad()
    def embed(self, samples: np.ndarray, rate: int, batch_size: int = 8) -> torch.Tensor:
        """(windows, hidden): per window, the mean over time of each of the 13 hidden states,
        then their mean."""
        pieces = self.windows(samples, rate)
        out: list[torch.Tensor] = []
        full = [p for p in pieces if p.numel() == WINDOW_SAMPLES]
        for i in range(0, len(full), batch_size):  # equal lengths: batching is exact (no padding)
            out.append(self._vectors(torch.stack(full[i:i + batch_size])))
        if len(full) < len(pieces):
            out.append(self._vectors(pieces[-1].unsqueeze(0)))
        return torch.cat(out, dim=0)

    def _vectors(self, batch: torch.Tensor) -> torch.Tensor:
        states = self.model(input_values=batch, output_hidden_states=True).hidden_states
        return torch.stack([h.mean(dim=1) for h in states], dim=0).mean(dim=0)
