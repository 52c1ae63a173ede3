"""Proof of fidelity: recompute every case of an oracle folder (made by running the official
code) and compare, and check the full-size model's keys and shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from emoheal.encoder.clamp3.checkpoint import load_clamp3, meta_state_shapes
from emoheal.encoder.clamp3.config import Clamp3Config
from emoheal.encoder.clamp3.segments import encode_audio_rows, encode_text_ids

TOLERANCE = 1e-5
_SEQUENCE_OUTPUTS = ("global", "segment_globals", "nonglobal")


class FixtureError(RuntimeError):
    """The oracle folder is incomplete or malformed."""


@dataclass(frozen=True)
class CaseResult:
    name: str
    max_abs_error: float
    tensors: int
    plan_matches: bool = True

    @property
    def ok(self) -> bool:
        return self.plan_matches and self.max_abs_error <= TOLERANCE


def _err(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


def verify_fixture(folder: str | Path) -> list[CaseResult]:
    folder = Path(folder)
    for name in ("config.json", "weights.safetensors", "cases.safetensors", "cases.json"):
        if not (folder / name).is_file():
            raise FixtureError(f"{folder / name} is missing: an oracle folder holds config.json, "
                               "weights.safetensors, cases.safetensors and cases.json")
    from safetensors.torch import load_file

    model, _ = load_clamp3(folder / "weights.safetensors", Clamp3Config.from_fixture(folder / "config.json"))
    cases = load_file(str(folder / "cases.safetensors"))
    meta = json.loads((folder / "cases.json").read_text())
    results: list[CaseResult] = []
    for kind, encode, source in (("text_cases", encode_text_ids, "input_ids"), ("audio_cases", encode_audio_rows,
                                                                                  "mert")):
        for case in meta.get(kind, []):
            p = case["name"]
            out = encode(model, cases[f"{p}_{source}"])
            errors = [_err(out[k], cases[f"{p}_{k}"]) for k in _SEQUENCE_OUTPUTS if f"{p}_{k}" in cases]
            plan = (out["segment_starts"].tolist() == cases[f"{p}_segment_starts"].tolist()
                    and out["segment_weights"].tolist() == cases[f"{p}_segment_weights"].tolist())
            results.append(CaseResult(p, max(errors), len(errors), plan))
    with torch.no_grad():
        for case in meta.get("batch_cases", []):
            p = case["name"]
            if p == "batch_text":
                got = model.get_text_features(cases["batch_text_input_ids"], cases["batch_text_masks"])
            elif p == "batch_audio":
                got = model.get_audio_features(cases["batch_audio_inputs"], cases["batch_audio_masks"])
            elif p == "batch_symbolic":
                got = model.get_symbolic_features(cases["batch_symbolic_patches"], cases["batch_symbolic_masks"])
            else:
                raise FixtureError(f"unknown batch case {p!r} in cases.json")
            results.append(CaseResult(p, _err(got, cases[f"{p}_global"]), 1))
    return results


def report_lines(results: list[CaseResult], keys_name: str | None = None,
                 key_problems: list[str] | None = None) -> list[str]:
    """`emoheal clamp3 verify` in a terminal: one line per case, the key check when one ran
    (`keys_name` and its `check_full_keys` problems), then the total."""
    lines = []
    for r in results:
        status = "ok" if r.ok else "FAIL"
        plan = "" if r.plan_matches else "  (segment plan differs)"
        lines.append(f"{status:4}  {r.name:<18} max abs error {r.max_abs_error:.3e} over {r.tensors} tensor(s){plan}")
    if key_problems is not None:
        lines.extend(f"FAIL  full-size keys: {line}" for line in key_problems[:20])
        if not key_problems:
            lines.append(f"ok    full-size model (meta device) has exactly the keys and shapes of {keys_name}")
    failed = failed_checks(results, key_problems)
    lines.append(f"{len(results) - sum(not r.ok for r in results)}/{len(results)} cases within {TOLERANCE:g}"
                 + ("" if not failed else f"; {failed} check(s) failed"))
    return lines


def failed_checks(results: list[CaseResult], key_problems: list[str] | None = None) -> int:
    """Cases out of tolerance, plus one when the key check found differences."""
    return sum(not r.ok for r in results) + bool(key_problems)


def check_full_keys(keys_file: str | Path) -> list[str]:
    """Differences between the full-size model (meta device) and keys_full.json; empty when equal."""
    expected = json.loads(Path(keys_file).read_text())["keys"]
    want = {k: (list(shape), dtype) for k, shape, dtype in expected}
    have = {k: (shape, dtype) for k, shape, dtype in meta_state_shapes()}
    problems = [f"missing {k}" for k in want if k not in have]
    problems += [f"unexpected {k}" for k in have if k not in want]
    problems += [f"{k}: shape {have[k][0]} vs {want[k][0]}" for k in want if k in have and have[k][0] != want[k][0]]
    problems += [f"{k}: dtype {have[k][1]} vs {want[k][1]}" for k in want if k in have and have[k][1] != want[k][1]]
    # the order is not compared: transformers 5 registers BERT's embedding tables in another
    # order than 4.40 did, which changes nothing for a strict load
    return problems
