import numpy as np

from emoheal.emotion.sampler import LengthGroupedBatchSampler

LENGTHS = np.random.default_rng(0).integers(3, 60, size=1003).tolist()


def _flat(batches):
    return [i for b in batches for i in b]


def test_every_row_once_per_epoch_and_batches_group_lengths():
    sampler = LengthGroupedBatchSampler(LENGTHS, batch_size=32, pool=10, seed=1)
    batches = list(sampler)
    assert sorted(_flat(batches)) == list(range(len(LENGTHS)))
    assert len(batches) == len(sampler)
    # padding waste inside length-grouped batches is far below random batching
    waste = np.mean([max(LENGTHS[i] for i in b) - np.mean([LENGTHS[i] for i in b]) for b in batches])
    assert waste < 5


def test_order_depends_on_seed_and_epoch_only():
    a = LengthGroupedBatchSampler(LENGTHS, 32, seed=1)
    b = LengthGroupedBatchSampler(LENGTHS, 32, seed=1)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)


def test_ranks_get_disjoint_equal_shares():
    ranks = [LengthGroupedBatchSampler(LENGTHS, 32, seed=1, rank=r, world_size=2) for r in range(2)]
    shares = [list(s) for s in ranks]
    assert len(shares[0]) == len(shares[1]) == len(ranks[0])
    assert not set(_flat(shares[0])) & set(_flat(shares[1]))


def test_skip_resumes_where_a_killed_run_stopped():
    sampler = LengthGroupedBatchSampler(LENGTHS, 32, seed=1)
    full = list(sampler)
    sampler.skip_next(7)
    assert list(sampler) == full[7:]
    assert list(sampler) == full  # the skip applies once
