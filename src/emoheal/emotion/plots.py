"""Plot data for `dvc plots show` (CSV) and a per-label precision–recall figure (PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve


def micro_pr_curve(probs: np.ndarray, y: np.ndarray, points: int) -> pd.DataFrame:
    """Precision–recall over every (text, label) pair, at the scores' own thresholds,
    thinned to about `points` rows for `dvc plots`."""
    precision, recall, thresholds = precision_recall_curve(y.ravel(), probs.ravel())
    keep = np.unique(np.linspace(0, len(thresholds) - 1, num=min(points, len(thresholds))).round().astype(int))
    return pd.DataFrame({
        "threshold": np.round(thresholds[keep], 4),
        "precision": np.round(precision[keep], 4),
        "recall": np.round(recall[keep], 4),
    })


def write_plots(
    out: str | Path, per_label: dict, baseline_per_label: dict, probs: np.ndarray,
    baseline_probs: np.ndarray, y: np.ndarray, names: list[str], points: int,
) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame([
        {"label": name, "f1": round(v["f1"], 4), "precision": round(v["precision"], 4),
         "recall": round(v["recall"], 4), "support": v["support"],
         "baseline_f1": round(baseline_per_label[name]["f1"], 4)}
        for name, v in per_label.items()
    ]).sort_values("f1", ascending=False)
    written = [out / "per_label_f1.csv", out / "pr_model.csv", out / "pr_baseline.csv", out / "pr_per_label.png"]
    table.to_csv(written[0], index=False)
    micro_pr_curve(probs, y, points).to_csv(written[1], index=False)
    micro_pr_curve(baseline_probs, y, points).to_csv(written[2], index=False)
    _per_label_figure(probs, baseline_probs, y, names, written[3])
    return written


def _per_label_figure(probs, baseline_probs, y, names, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 7, figsize=(21, 12), sharex=True, sharey=True)
    for j, (ax, name) in enumerate(zip(axes.ravel(), names)):
        for p, style, label in ((probs, "-", "model"), (baseline_probs, "--", "tf-idf")):
            if y[:, j].any():
                precision, recall, _ = precision_recall_curve(y[:, j], p[:, j])
                ax.plot(recall, precision, style, label=label, drawstyle="steps-post")
        ax.set_title(f"{name} (n={int(y[:, j].sum())})", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    axes[0, 0].legend(fontsize=8)
    fig.supxlabel("recall (test)")
    fig.supylabel("precision (test)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
