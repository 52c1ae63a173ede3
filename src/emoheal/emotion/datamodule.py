"""Lightning DataModule: cached tokenisation, dynamic padding, length-grouped batches."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from emoheal.emotion.sampler import LengthGroupedBatchSampler, ResumableDataLoader
from emoheal.utils.hashing import sha256_json


def label_columns(frame: pd.DataFrame, label_names: list[str]) -> np.ndarray:
    return frame[label_names].to_numpy(dtype=np.float32)


class TokenCache:
    """Token ids of a split, stored once per (tokenizer, max length, texts)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def key(self, tokenizer, max_length: int, texts: list[str]) -> str:
        return sha256_json({
            "tokenizer": sha256_json(tokenizer.backend_tokenizer.to_str()),
            "max_length": max_length,
            "texts": sha256_json(texts),
        })[:24]

    def encode(self, tokenizer, texts: list[str], max_length: int) -> list[np.ndarray]:
        path = self.folder / f"tokens-{self.key(tokenizer, max_length, texts)}.npz"
        if path.is_file():
            stored = np.load(path)
            flat, offsets = stored["ids"], stored["offsets"]
            return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        ids = tokenizer(texts, truncation=True, max_length=max_length, add_special_tokens=True)["input_ids"]
        arrays = [np.asarray(x, dtype=np.int32) for x in ids]
        offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.concatenate(arrays) if arrays else np.zeros(0, np.int32), offsets=offsets)
        tmp.replace(path)
        return arrays


class EncodedTexts(Dataset):
    def __init__(self, ids: list[np.ndarray], labels: np.ndarray | None):
        self.ids = ids
        self.labels = labels

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.ids[i], "row": i}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


class PadCollator:
    """Pads a batch only to its own longest sequence."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(x["input_ids"]) for x in items)
        input_ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for r, item in enumerate(items):
            n = len(item["input_ids"])
            input_ids[r, :n] = torch.as_tensor(item["input_ids"], dtype=torch.long)
            mask[r, :n] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask, "row": torch.tensor([x["row"] for x in items])}
        if "labels" in items[0]:
            batch["labels"] = torch.as_tensor(np.stack([x["labels"] for x in items]))
        return batch


def sorted_batches(lengths: np.ndarray, batch_size: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """Evaluation batches: longest first (fast, little padding), rows split across ranks."""
    order = np.argsort(-lengths, kind="stable")[rank::world_size]
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


class GoEmotionsDataModule(L.LightningDataModule):
    def __init__(
        self,
        train: pd.DataFrame,
        dev: pd.DataFrame,
        label_names: list[str],
        tokenizer,
        max_length: int,
        batch_size: int,
        eval_batch_size: int,
        seed: int,
        cache_dir: str | Path,
        length_group_pool: int = 50,
        num_workers: int = 0,
        teacher_targets: np.ndarray | None = None,
    ):
        super().__init__()
        self.frames = {"train": train, "dev": dev}
        # distillation: the teachers' probabilities ride beside train's labels ([n, 2 * labels]);
        # the loss splits them (losses.DistillationLoss)
        self.teacher_targets = teacher_targets
        self.label_names = label_names
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.cache = TokenCache(cache_dir)
        self.length_group_pool = length_group_pool
        self.num_workers = num_workers
        self.datasets: dict[str, EncodedTexts] = {}
        self.collate = PadCollator(tokenizer.pad_token_id)

    def setup(self, stage: str | None = None) -> None:
        for split, frame in self.frames.items():
            if split not in self.datasets:
                ids = self.cache.encode(self.tokenizer, frame["text"].tolist(), self.max_length)
                targets = label_columns(frame, self.label_names)
                if split == "train" and self.teacher_targets is not None:
                    targets = np.hstack([targets, self.teacher_targets.astype(np.float32)])
                self.datasets[split] = EncodedTexts(ids, targets)

    def _rank_world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _own_generator(self) -> torch.Generator:
        # A DataLoader draws its worker seed from the global RNG each time it is
        # iterated; with its own generator, a resumed run's dropout masks match.
        return torch.Generator().manual_seed(self.seed)

    def _batches_trained_this_epoch(self) -> int:
        return int(self.trainer.fit_loop.epoch_loop.batch_progress.current.processed)

    def _train_sampler(self) -> LengthGroupedBatchSampler:
        self.setup("fit")
        rank, world = self._rank_world()
        lengths = [len(x) for x in self.datasets["train"].ids]
        return LengthGroupedBatchSampler(lengths, self.batch_size, self.length_group_pool, self.seed, rank, world)

    def train_batches_per_epoch(self) -> int:
        """Without building a DataLoader: Lightning's own estimate builds one before a
        checkpoint is restored, and the restored loader state is then never applied."""
        return len(self._train_sampler())

    def train_dataloader(self) -> DataLoader:
        dataset = self.datasets["train"]
        sampler = self._train_sampler()
        return ResumableDataLoader(
            dataset, batch_sampler=sampler, collate_fn=self.collate,
            num_workers=self.num_workers, progress=self._batches_trained_this_epoch,
            generator=self._own_generator(),
        )

    def val_dataloader(self) -> DataLoader:
        dataset = self.datasets["dev"]
        rank, world = self._rank_world()
        lengths = np.array([len(x) for x in dataset.ids])
        return DataLoader(
            dataset, batch_sampler=sorted_batches(lengths, self.eval_batch_size, rank, world),
            collate_fn=self.collate, num_workers=self.num_workers, generator=self._own_generator(),
        )
