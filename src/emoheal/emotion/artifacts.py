"""The trained-model folder: encoder + tokenizer, head, and a metadata file.

Layout of `models/emotion/`:
    model/encoder/         transformers save_pretrained (weights, config, tokenizer)
    model/head.safetensors the multi-label head
    model/lexical.npz      the TF-IDF part whose logits are mixed with the encoder's (when trained)
    model/emotion_model.json labels, pooling, max length, version, provenance
    thresholds.json        per-label thresholds tuned on dev   (thresholds stage)
    calibration.json       temperature fitted on dev, ECE       (thresholds stage)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoTokenizer

from emoheal.emotion.lexical import FILE_NAME as LEXICAL_FILE
from emoheal.emotion.lexical import LexicalModel
from emoheal.emotion.model import EmotionClassifier
from emoheal.utils.hashing import sha256_files
from emoheal.utils.io import read_json, write_json

META_FILE = "emotion_model.json"


class ModelFolderError(FileNotFoundError):
    """A model folder is missing or incomplete."""


def _weight_files(folder: Path, meta: dict[str, Any]) -> list[Path]:
    """What the version hashes: the encoder's and head's weights, and the lexical part's when it has one."""
    files = sorted(folder.glob("encoder/*.safetensors")) + [folder / "head.safetensors"]
    return files + [folder / LEXICAL_FILE] if meta.get("lexical") else files


def save_model_folder(folder: str | Path, classifier: EmotionClassifier, tokenizer, meta: dict[str, Any],
                      lexical: LexicalModel | None = None) -> dict:
    folder = Path(folder)
    (folder / "encoder").mkdir(parents=True, exist_ok=True)
    classifier.encoder.save_pretrained(folder / "encoder", safe_serialization=True)
    tokenizer.save_pretrained(folder / "encoder")
    head = {k: v.detach().cpu().contiguous() for k, v in classifier.head.state_dict().items()}
    save_file(head, str(folder / "head.safetensors"))
    if lexical is not None:
        lexical.save(folder)
        meta = {**meta, "lexical": {"file": LEXICAL_FILE, "terms": len(lexical.terms), "ngram_max": lexical.ngram_max}}
    digest = sha256_files(_weight_files(folder, meta), folder)
    meta = {**meta, "weights_sha256": digest, "version": f"emotion-{meta['backbone']}-{digest[:12]}"}
    write_json(folder / META_FILE, meta)
    return meta


def read_meta(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise ModelFolderError(
            f"{folder} is not a trained emotion model (no {META_FILE}); train one with "
            "`dvc repro train` or `make run`"
        )
    return read_json(path)


def check_weights(folder: str | Path, meta: dict[str, Any]) -> None:
    """The weights on disk are the ones trained: their hash is the one the folder's metadata recorded
    (and its version names). A file swapped or damaged after training would otherwise load quietly and
    answer under the old version's name."""
    folder = Path(folder)
    weights = _weight_files(folder, meta)
    missing = [str(w.relative_to(folder)) for w in weights if not w.is_file()]
    if missing or len(weights) < 2:
        raise ModelFolderError(f"{folder} is incomplete: no {', '.join(missing) or 'encoder weights'}; "
                               "train the model again (`dvc repro train`)")
    digest = sha256_files(weights, folder)
    if digest != meta.get("weights_sha256"):
        raise ModelFolderError(
            f"{folder}: the weights do not match the hash recorded at training ({META_FILE} weights_sha256 "
            f"{str(meta.get('weights_sha256'))[:12]}..., on disk {digest[:12]}...); the files were changed after "
            "training: restore them or train again (`dvc repro train`)")


def load_model_folder(folder: str | Path, device: str | torch.device = "cpu"):
    """(classifier in eval mode, tokenizer, meta) from a folder written by save_model_folder; the
    weights are checked against the recorded hash and must fill the network exactly (no missing or
    unexpected keys: a partly random model would answer without an error)."""
    folder = Path(folder)
    meta = read_meta(folder)
    check_weights(folder, meta)
    encoder, info = AutoModel.from_pretrained(folder / "encoder", local_files_only=True, output_loading_info=True)
    problems = {kind: sorted(info.get(kind) or []) for kind in ("missing_keys", "unexpected_keys",
                                                                 "mismatched_keys", "error_msgs")}
    if any(problems.values()):
        shown = "; ".join(f"{kind}: {', '.join(map(str, keys[:5]))}" for kind, keys in problems.items() if keys)
        raise ModelFolderError(f"{folder}: the encoder's weights do not fit its network ({shown})")
    tokenizer = AutoTokenizer.from_pretrained(folder / "encoder", local_files_only=True)
    classifier = EmotionClassifier(encoder, len(meta["labels"]), meta["pooling"], meta.get("dropout", 0.1))
    try:
        classifier.head.load_state_dict(load_file(str(folder / "head.safetensors")))
    except RuntimeError as exc:  # strict loading: missing, unexpected or mis-shaped head weights
        raise ModelFolderError(f"{folder}: head.safetensors does not fit the head ({exc})") from None
    return classifier.to(device).eval(), tokenizer, meta
