"""The page that compares fine-tuning recipes on dev, written from the candidates' results file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_HEAD = """# Fine-tuning recipes compared on dev

Each recipe is a full fine-tuning run of the quickstart MiniLM on the GoEmotions train split, scored
on **dev only**: temperature and per-label thresholds fitted on four fifths of dev and applied to the
fifth (5-fold cross-fitting), so a recipe cannot win by thresholds that fit dev's own noise. The
in-sample figure (thresholds tuned and scored on all of dev, what training's checkpoint choice sees)
is beside it. "With lexical" mixes the encoder's logits with the TF-IDF part's (model/lexical.npz;
the same one for every recipe, as it depends only on the training split) at the weight cross-fitting
picks, as the thresholds stage does; the weight is chosen on the same cross-fitted scores, a slight
optimism shared by every row. Test is read once, for the chosen recipe, by the `evaluate` stage
(metrics/emotion.json).

Rewritten by `emoheal candidates` (`make candidates`) from `metrics/emotion_candidates.json`; each
row is one run in the MLflow experiment `emoheal-emotion-candidates` (`make mlflow-ui`), named
`candidate-<name>`, with its overrides as a tag. Overrides are on top of `profile=quickstart`.

| candidate | overrides | dev macro-F1 | dev micro-F1 | with lexical: macro / micro (weight) | \
in-sample macro / micro | steps | train min |
|---|---|---|---|---|---|---|---|
"""


def _row(name: str, result: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    dev = result["dev"]
    gain = ""
    if baseline is not None and name != "baseline":
        gain = f" ({dev['macro_f1'] - baseline['dev']['macro_f1']:+.4f})"
    overrides = "<br>".join(f"`{o}`" for o in result["overrides"]) or "(quickstart as it was)"
    mixed = dev.get("with_lexical")
    with_lexical = (f"{mixed['macro_f1']:.4f} / {mixed['micro_f1']:.4f} ({mixed['weight']:g})" if mixed
                    else "not scored")
    return (f"| {name} | {overrides} | {dev['macro_f1']:.4f}{gain} | {dev['micro_f1']:.4f} | {with_lexical} | "
            f"{dev['macro_f1_in_sample']:.4f} / {dev['micro_f1_in_sample']:.4f} | {result['global_step']} | "
            f"{result['train_seconds'] / 60:.1f} |")


def write_table(results: dict[str, Any], candidates: dict[str, list[str]], path: str | Path) -> Path:
    """The table in the candidates file's order; candidates not run yet are listed as such."""
    baseline = results.get("baseline")
    lines = [_HEAD.rstrip("\n")]
    for name in candidates:
        if name in results:
            lines.append(_row(name, results[name], baseline))
        else:
            lines.append(f"| {name} | {'<br>'.join(f'`{o}`' for o in candidates[name])} | not run yet | | | | | |")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
