"""How often the monitor raises a false alarm, how often it catches a real shift, and how long a
report takes — against Evidently's default drift preset on the same windows, in the same run.

    .venv/bin/python benchmarks/monitoring_drift.py [--trials 20]     (after `make run`)

Windows are GoEmotions dev texts (the reference is the test split) run through the trained model:
ordinary samples of 50-1,000 texts (any alarm is false), only-angry samples (an alarm is right)
and other-language sentences (tests/fixtures/monitoring). "Ours" is `emoheal monitor`'s test
suite (a critical test fails); "Evidently default" is `DataDriftPreset()` over the same columns
(dataset drift: at least half the columns drift, methods chosen by Evidently: Wasserstein /
Jensen-Shannon for a reference this size). Writes benchmarks/results/monitoring.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
import warnings
from pathlib import Path

import pandas as pd

from emoheal.emotion.predictor import EmotionPredictor
from emoheal.monitoring.frame import TEXT_COLUMNS, emotion_columns, monitoring_frame
from emoheal.monitoring.reference import read_reference, reference_records
from emoheal.monitoring.report import _definition, build_reports, coarse_languages
from emoheal.safety.screen import CrisisScreen
from emoheal.utils.io import load_params

ROOT = Path(__file__).resolve().parents[1]
NO_RATINGS = pd.DataFrame(columns=["time", "session_id", "stage", "rating", "reflected", "calmer"])


def dev_records(predictor, screen) -> tuple[pd.DataFrame, pd.Series]:
    """Every dev text's record once (windows are drawn from these), and which are anger-only."""
    labels = (ROOT / "data" / "raw" / "goemotions" / "emotions.txt").read_text().split()
    dev = pd.read_csv(ROOT / "data" / "raw" / "goemotions" / "dev.tsv", sep="\t", header=None,
                      names=["text", "labels", "id"], quoting=3)
    records = reference_records(predictor, dev["text"].tolist(), screen).assign(endpoint="session")
    return records, dev["labels"].eq(str(labels.index("anger")))


def evidently_default(records: pd.DataFrame, reference: pd.DataFrame, labels: list[str], cfg: dict) -> bool:
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    current, ref = monitoring_frame(records, labels), monitoring_frame(reference, labels)
    coarse_languages([current, ref], ref, cfg["tests"]["min_language_share"])
    columns = [c for c in emotion_columns(labels) + ["top_probability"] + TEXT_COLUMNS
               if current[c].notna().any()]  # Evidently refuses an all-empty column
    definition = _definition(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset(columns=columns)]).run(
            Dataset.from_pandas(current.drop(columns=["endpoint", "time"]), data_definition=definition),
            Dataset.from_pandas(ref.drop(columns=["endpoint", "time"]), data_definition=definition))
    share = next(m["value"]["share"] for m in snapshot.dict()["metrics"] if m["metric_name"].startswith("Drifted"))
    return share >= 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    params = load_params(args.params)
    cfg = params["monitoring"]
    reference, meta = read_reference(params["paths"]["monitoring"])
    predictor = EmotionPredictor(params["paths"]["model"])
    screen = CrisisScreen(params["safety"]["model"])
    records, anger = dev_records(predictor, screen)
    other = [line for line in (ROOT / "tests/fixtures/monitoring/other_languages.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    # as the service records them: the English-only model does not answer another language
    other_records = reference_records(predictor, other, screen).assign(endpoint="session", probabilities=None,
                                                               labels="[]", top_label=None, top_probability=None)
    rng = random.Random(0)
    scenarios = [(f"ordinary n={n}", False, records, n, args.trials) for n in (50, 100, 300, 1000)]
    scenarios += [(f"only angry n={n}", True, records[anger], n, max(args.trials // 2, 1)) for n in (30, 50, 100)]
    scenarios += [(f"other languages n={len(other)}", True, other_records, len(other), 1)]
    rows, seconds = [], []
    for name, shifted, pool, n, trials in scenarios:
        ours = theirs = 0
        for _ in range(trials):
            window = pool.sample(n=min(n, len(pool)), random_state=rng.randrange(2**31))
            start = time.perf_counter()
            ours += not build_reports(window, reference, NO_RATINGS, meta["labels"], cfg).passed
            seconds.append(time.perf_counter() - start)
            theirs += evidently_default(window, reference, meta["labels"], cfg)
        rows.append({"window": name, "shifted": shifted, "trials": trials,
                     "ours_flagged": ours / trials, "evidently_default_flagged": theirs / trials})
        kind = "caught" if shifted else "false alarms"
        print(f"{name:<24} {kind:<12} ours {ours}/{trials}   Evidently default {theirs}/{trials}")
    result = {"machine": platform.platform(), "model": meta["model_version"], "reference_rows": len(reference),
              "windows": rows, "report_seconds_median": round(statistics.median(seconds), 3)}
    print(f"report build (drift + tests, no HTML): median {result['report_seconds_median']} s")
    out = ROOT / "benchmarks" / "results" / "monitoring.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
