"""Length-grouped, seeded, rank-aware batch sampling that can resume mid-epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from torch.utils.data import DataLoader, Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Batches of similar-length texts, in a shuffled order that depends on (seed, epoch).

    Texts are shuffled, cut into pools of `pool` batches, sorted by length inside
    each pool and cut into batches; the batches are then shuffled. Dynamic padding
    then pads each batch only to its own longest text. With several ranks, every
    rank gets the same number of distinct batches (a few leftover batches are
    dropped so no rank waits on another).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        pool: int = 50,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.pool = max(1, pool)
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip_next(self, batches: int) -> None:
        """The next iteration starts after this many batches (resuming a killed run)."""
        self._skip = max(0, int(batches))

    def _all_batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        pool_size = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), pool_size):
            chunk = order[start : start + pool_size]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        perm = rng.permutation(len(batches))
        batches = [batches[i] for i in perm]
        usable = len(batches) - len(batches) % self.world_size if self.world_size > 1 else len(batches)
        return batches[self.rank : usable : self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        skip, self._skip = self._skip, 0
        for batch in self._all_batches()[skip:]:
            yield batch.tolist()

    def __len__(self) -> int:
        n_batches = -(-len(self.lengths) // self.batch_size)
        if self.world_size > 1:
            # pools may leave short batches, so count exactly rather than estimate
            return len(self._all_batches())
        return n_batches


class ResumableDataLoader(DataLoader):
    """A DataLoader Lightning can checkpoint: it records how many batches of the
    epoch were trained, and on restore its sampler skips them."""

    def __init__(self, *args, progress: Callable[[], int], **kwargs):
        super().__init__(*args, **kwargs)
        self._progress = progress

    def state_dict(self) -> dict:
        return {"epoch": int(self.batch_sampler.epoch), "batches_done": int(self._progress())}

    def load_state_dict(self, state: dict) -> None:
        self.batch_sampler.set_epoch(state["epoch"])
        self.batch_sampler.skip_next(state["batches_done"])
