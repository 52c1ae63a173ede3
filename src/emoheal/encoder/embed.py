"""Embedding the corpus with CLaMP 3's audio path at scale: Lightning `Trainer.predict` over
the manifest (CPU, one GPU or many with DDP), each vector cached under a key of
(checkpoint sha256, MERT revision, preprocessing version, audio content hash) and stored
with those tags. A vector made under other tags is never read: new tags, new vectors."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from emoheal.encoder.clamp3.checkpoint import load_clamp3
from emoheal.encoder.clamp3.config import Clamp3Config
from emoheal.encoder.clamp3.segments import encode_audio_rows
from emoheal.encoder.mert import PREPROCESS_VERSION, MertError, MertFrontEnd

log = logging.getLogger(__name__)
CLAMP3_AUDIO_VERSION = "clamp3-audio/boundary-rows/tail-segment/length-weighted/1"


@dataclass(frozen=True)
class VectorTags:
    checkpoint_sha256: str
    mert_revision: str
    preprocessing: str = f"{PREPROCESS_VERSION}+{CLAMP3_AUDIO_VERSION}"

    def key(self, content_sha256: str) -> str:
        text = f"{self.checkpoint_sha256}|{self.mert_revision}|{self.preprocessing}|{content_sha256}"
        return hashlib.sha256(text.encode()).hexdigest()[:40]


class VectorCache:
    """One small file per (tags, audio content): written by any rank, read by anyone."""

    def __init__(self, folder: str | Path, tags: VectorTags):
        self.folder = Path(folder)
        self.tags = tags

    def path(self, content_sha256: str) -> Path:
        key = self.tags.key(content_sha256)
        return self.folder / key[:2] / f"{key}.pt"

    def get(self, content_sha256: str) -> torch.Tensor | None:
        path = self.path(content_sha256)
        if not path.is_file():
            return None
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if entry.get("tags") != asdict(self.tags) or entry.get("content_sha256") != content_sha256:
            return None  # another model's vector: never mixed in
        return entry["vector"]

    def put(self, content_sha256: str, vector: torch.Tensor) -> None:
        path = self.path(content_sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{torch.randint(0, 1 << 30, (1,)).item()}.tmp")
        torch.save({"vector": vector.clone(), "tags": asdict(self.tags), "content_sha256": content_sha256}, tmp)
        tmp.replace(path)


class _Items(torch.utils.data.Dataset):
    def __init__(self, rows: list[dict]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


class AudioEmbedder(L.LightningModule):
    """predict_step: audio file → MERT windows → CLaMP 3 audio vector (unpadded segments)."""

    def __init__(self, clamp3, mert: MertFrontEnd):
        super().__init__()
        self.clamp3 = clamp3
        self.mert = mert

    def predict_step(self, batch: list[dict], batch_idx: int) -> list[dict]:
        from emoheal.corpus.audio import read_mono

        out = []
        for item in batch:
            try:
                samples, rate = read_mono(item["audio_path"])
                rows = self.mert.embed(samples, rate)
                vector = encode_audio_rows(self.clamp3, rows, pad_to_limit=False)["global"]
                out.append({**item, "vector": vector, "windows": int(rows.shape[0]), "error": None})
            except (MertError, ValueError, OSError) as exc:
                out.append({**item, "vector": None, "windows": 0, "error": str(exc)})
        return out


class _CacheWriter(BasePredictionWriter):
    def __init__(self, cache: VectorCache, failures: Path):
        super().__init__(write_interval="batch")
        self.cache = cache
        self.failures = failures

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0):
        for item in prediction:
            if item["vector"] is not None:
                self.cache.put(item["content_sha256"], item["vector"])
            else:  # every rank appends its own file: reported, never skipped silently
                path = self.failures / f"rank{trainer.global_rank}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"id": item["id"], "reason": item["error"]}) + "\n")


def _strategy(trainer_cfg: dict[str, Any]):
    if trainer_cfg["strategy"] == "ddp":
        from lightning.pytorch.strategies import DDPStrategy

        backend = "nccl" if torch.cuda.is_available() and trainer_cfg["accelerator"] != "cpu" else "gloo"
        return DDPStrategy(process_group_backend=backend)
    return trainer_cfg["strategy"]


def embed_corpus(manifest: pd.DataFrame, encoder: dict[str, Any], trainer_cfg: dict[str, Any], cache_dir: str | Path,
                 work_dir: str | Path) -> tuple[pd.DataFrame | None, np.ndarray | None, dict]:
    """(index of embedded items, their vectors (N, D), report). Only uncached items are
    computed. Returns (None, None, report) on non-zero DDP ranks: rank 0 assembles."""
    config = Clamp3Config.from_fixture(encoder["config_json"]) if encoder["config_json"] \
        else Clamp3Config.from_dict(encoder["sizes"])
    clamp3, checkpoint_sha = load_clamp3(encoder["checkpoint"], config)
    mert = MertFrontEnd(encoder["mert"])
    if mert.hidden_size != config.audio_hidden_size:
        raise ValueError(f"MERT gives {mert.hidden_size}-d vectors but the CLaMP 3 audio encoder takes "
                         f"{config.audio_hidden_size}: the two do not belong together")
    tags = VectorTags(checkpoint_sha, mert.revision)
    cache = VectorCache(cache_dir, tags)
    todo = [r for r in manifest[["id", "audio_path", "content_sha256"]].to_dict("records")
            if cache.get(r["content_sha256"]) is None]
    failures = Path(work_dir) / "failures"
    if failures.exists():
        for f in failures.glob("*.jsonl"):
            f.unlink()
    rank = 0
    if todo:
        torch.set_num_threads(trainer_cfg["num_threads"] or torch.get_num_threads())
        trainer = L.Trainer(accelerator=trainer_cfg["accelerator"], devices=trainer_cfg["devices"],
                            strategy=_strategy(trainer_cfg), precision="32-true", logger=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[_CacheWriter(cache, failures)])
        loader = torch.utils.data.DataLoader(_Items(todo), batch_size=encoder["batch_size"],
                                             collate_fn=list, shuffle=False)
        trainer.predict(AudioEmbedder(clamp3, mert), loader, return_predictions=False)
        rank = trainer.global_rank
        if rank != 0:
            return None, None, {}
    failed = [json.loads(line) for f in sorted(failures.glob("*.jsonl")) for line in f.read_text().splitlines()] \
        if failures.exists() else []
    failed = list({f["id"]: f for f in failed}.values())  # DDP may pad a shard with a repeated item
    rows, vectors = [], []
    for r in manifest[["id", "content_sha256"]].to_dict("records"):
        vector = cache.get(r["content_sha256"])
        if vector is not None:
            rows.append(r)
            vectors.append(vector.numpy())
    report = {"tags": asdict(tags), "items": len(manifest), "embedded": len(rows), "computed": len(todo),
              "from_cache": len(manifest) - len(todo), "failed": failed,
              "dimension": int(vectors[0].shape[0]) if vectors else 0}
    return pd.DataFrame(rows), (np.stack(vectors).astype(np.float32) if vectors else None), report
