"""The sequenced-session metrics as a CSV for `dvc plots`, a bar chart per metric against the
baselines, and one example journey: each track's felt tempo and estimated arousal at its
minute against the plan's path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emoheal.retrieval.index import RetrievalIndex
from emoheal.retrieval.path_scoring import folded_tempo
from emoheal.retrieval.sequence import SequenceSettings, sequence_session
from emoheal.retrieval.timeline_evaluation import KEYS, SYSTEMS


def write_timeline_plots(metrics: dict, plan: dict, index: RetrievalIndex, goal: dict, s: SequenceSettings,
                         seed: int, folder: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    systems = {"system": metrics["system"], **metrics["baselines"]}
    rows = [{"system": name, "metric": key, "value": systems[name][key]} for name in SYSTEMS for key in KEYS
            if systems[name][key] is not None]
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "metrics.csv", index=False)
    fig, axes = plt.subplots(2, 5, figsize=(16, 6))
    for ax, key in zip(axes.flat, KEYS):
        part = frame[frame["metric"] == key]
        colours = ["tab:blue" if x == "system" else "tab:grey" for x in part["system"]]
        ax.bar(part["system"], part["value"], color=colours)
        ax.set_title(key, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.suptitle(f"Sequenced sessions vs baselines ({metrics['minutes']} min, goal {metrics['goal']}, "
                 f"{sum(metrics['sessions'].values())} sessions)")
    fig.tight_layout()
    fig.savefig(folder / "metrics.png", dpi=90)
    plt.close(fig)

    result = sequence_session(plan, index.arrays, s, goal, seed=seed)
    tracks = [t for st in result["stages"] for t in st["tracks"]]
    path_m = np.array([w["minute"] for w in plan["path"]])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(path_m, [w["tempo_bpm"] for w in plan["path"]], color="black", label="plan's path")
    bottom.plot(path_m, [w["arousal"] for w in plan["path"]], color="black", label="plan's path")
    for t in tracks:
        x = [t["at_s"] / 60, (t["at_s"] + t["duration_s"]) / 60]
        felt = float(folded_tempo(t["measured"]["tempo_bpm"], t["path"]["tempo_bpm"]))
        top.plot(x, [felt, felt], color="tab:blue", linewidth=3)
        bottom.plot(x, [t["measured"]["arousal"]] * 2, color="tab:orange", linewidth=3)
    top.set_ylabel("felt tempo (BPM)")
    bottom.set_ylabel("estimated arousal")
    bottom.set_xlabel("minute")
    for st in plan["stages"][1:]:
        for ax in (top, bottom):
            ax.axvline(st["start_minute"], color="grey", linestyle=":", linewidth=1)
    top.legend(loc="upper right")
    top.set_title(f"One session ({len(tracks)} tracks, seed {seed}): the tracks against the path")
    fig.tight_layout()
    fig.savefig(folder / "journey.png", dpi=90)
    plt.close(fig)
