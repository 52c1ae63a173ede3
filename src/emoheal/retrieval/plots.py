"""The retrieval metrics as a CSV for `dvc plots` and a bar chart per session set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emoheal.retrieval.evaluation import METHODS

SHOWN = ("match_quadrant_agreement", "target_q4_precision_at_1", "target_q4_precision_at_5", "arousal_never_rises")


def write_plots(metrics: dict, folder: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"sessions": name, "method": method, "metric": metric, "value": metrics[name][method][metric]}
            for name in ("one_hot", "detected") for method in METHODS for metric in SHOWN]
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "metrics.csv", index=False)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, name in zip(axes, ("one_hot", "detected")):
        part = frame[frame["sessions"] == name].pivot(index="metric", columns="method", values="value")[list(METHODS)]
        part.loc[list(SHOWN)].plot.bar(ax=ax, rot=15)
        ax.set_title(f"{name.replace('_', '-')} sessions")
        ax.set_ylim(0, 1.05)
        ax.axhline(metrics[name]["chance"]["target_q4"], color="grey", linestyle=":", linewidth=1)
    fig.suptitle(f"Retrieval on EMOPIA quadrants ({metrics['backend']} backend, goal {metrics['goal']})")
    fig.tight_layout()
    fig.savefig(folder / "metrics.png", dpi=90)
    plt.close(fig)
