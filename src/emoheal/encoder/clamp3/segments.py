"""Upstream's handling of long inputs: consecutive segments of `limit`, the last one replaced
by the last `limit` rows (so it may overlap the one before), combined by a weighted mean
where every full segment weighs `limit` and the final one `L % limit` (when not 0) — even
though it holds `limit` rows."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from emoheal.encoder.clamp3.model import Clamp3Model, masked_mean


@dataclass(frozen=True)
class SegmentPlan:
    starts: list[int]
    weights: list[int]
    length: int
    limit: int


def plan_segments(length: int, limit: int) -> SegmentPlan:
    if length <= 0:
        raise ValueError("nothing to encode: the sequence is empty")
    if length <= limit:
        return SegmentPlan([0], [length], length, limit)
    starts = list(range(0, length, limit))
    starts[-1] = length - limit  # tail-aligned last segment
    weights = [limit] * len(starts)
    if length % limit:
        weights[-1] = length % limit
    return SegmentPlan(starts, weights, length, limit)


def _weighted(vectors: torch.Tensor, weights: list[int]) -> torch.Tensor:
    w = torch.tensor(weights, dtype=vectors.dtype).unsqueeze(1)
    return (vectors * w).sum(dim=0) / w.sum()


def _stitch(hidden: list[torch.Tensor], plan: SegmentPlan) -> torch.Tensor:
    """Per-position states back to length L: the last segment gives only its final L % limit rows."""
    if len(hidden) == 1:
        return hidden[0]
    tail = plan.length % plan.limit or plan.limit
    return torch.cat([*hidden[:-1], hidden[-1][-tail:]], dim=0)


def _encode(framed: torch.Tensor, limit: int, pad_to_limit: bool, pad_value, mask_dtype, hidden_fn, proj
            ) -> dict[str, torch.Tensor]:
    """Segment `framed` (L, ...) by the upstream rule, run each segment (padded to `limit` or
    not), pool and project each, and combine them."""
    plan = plan_segments(framed.shape[0], limit)
    globals_, hidden = [], []
    for start in plan.starts:
        seg = framed[start:start + limit]
        n = seg.shape[0]
        size = limit if pad_to_limit else n
        x = torch.full((1, size, *seg.shape[1:]), pad_value, dtype=framed.dtype)
        x[0, :n] = seg
        mask = torch.zeros((1, size), dtype=mask_dtype)
        mask[0, :n] = 1
        h = hidden_fn(x, mask)
        globals_.append(proj(masked_mean(h, mask)))
        hidden.append(h[0, :n])
    segs = torch.cat(globals_, dim=0)
    return {"global": _weighted(segs, plan.weights), "segment_globals": segs, "nonglobal": _stitch(hidden, plan),
            "segment_starts": torch.tensor(plan.starts), "segment_weights": torch.tensor(plan.weights)}


@torch.no_grad()
def encode_text_ids(model: Clamp3Model, ids: torch.Tensor, pad_to_limit: bool = True) -> dict[str, torch.Tensor]:
    """`ids`: (L,) int64 with <s> first and </s> last. Returns global, segment globals and the
    stitched last hidden states (non-global). Padding uses <pad>."""
    return _encode(ids, model.config.max_text_length, pad_to_limit, model.config.text_pad_id, torch.long,
                   model.text_hidden, model.text_proj)


@torch.no_grad()
def encode_audio_rows(model: Clamp3Model, rows: torch.Tensor, pad_to_limit: bool = True) -> dict[str, torch.Tensor]:
    """`rows`: (n, hidden) MERT vectors, one per 5 s window. One zero row is put before and after
    (L = n + 2), then segmented like text; padding rows are zeros."""
    width = model.config.audio_hidden_size
    if rows.ndim != 2 or rows.shape[1] != width:
        raise ValueError(f"expected MERT rows of shape (n, {width}), got {tuple(rows.shape)}")
    zero = torch.zeros((1, width), dtype=rows.dtype)
    framed = torch.cat([zero, rows, zero], dim=0)
    return _encode(framed, model.config.max_audio_length, pad_to_limit, 0.0, rows.dtype, model.audio_hidden,
                   model.audio_proj)
