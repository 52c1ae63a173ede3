"""Feedback quality from the ratings people left: per-stage ratings and the two study questions.

The paper asked "did the music reflect how you felt?" and "do you feel calmer?" (1–5) and
reported a correlation of r = 0.72 between them; we report ours with a 95% interval so the two
can be compared honestly (a handful of answers says little).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

STAGES = ("match", "guide", "target")
PAPER_R = 0.72


def per_session(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per session: its stage ratings (NaN when skipped or absent) and its latest
    study answers (a person may resubmit; the last answer counts, as in the feedback store)."""
    columns = [f"rating_{s}" for s in STAGES] + ["reflected", "calmer"]
    if ratings.empty:
        return pd.DataFrame(columns=["session_id", *columns], dtype=float)
    ordered = ratings.sort_values("time")
    stage_rows = ordered[ordered["stage"].notna()]
    stages = (stage_rows.drop_duplicates(["session_id", "stage"], keep="last")
              .pivot(index="session_id", columns="stage", values="rating")
              .reindex(columns=list(STAGES)).add_prefix("rating_"))
    study = (ordered[ordered["reflected"].notna()].drop_duplicates("session_id", keep="last")
             .set_index("session_id")[["reflected", "calmer"]])
    both = stages.join(study, how="outer").reindex(columns=columns).astype(float)
    return both.reset_index().rename(columns={"index": "session_id"})


def pearson(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """r with a Fisher-z 95% interval; None where it is undefined (n < 4 or a constant answer)."""
    n = len(x)
    if n < 4 or np.std(x) == 0 or np.std(y) == 0:
        return {"r": None, "ci95": None, "n": n}
    r = float(np.corrcoef(x, y)[0, 1])
    z, half = math.atanh(max(min(r, 0.999999), -0.999999)), 1.96 / math.sqrt(n - 3)
    return {"r": round(r, 4), "ci95": [round(math.tanh(z - half), 4), round(math.tanh(z + half), 4)], "n": n}


def feedback_quality(ratings: pd.DataFrame) -> dict[str, Any]:
    sessions = per_session(ratings)
    stage_ratings = ratings[ratings["stage"].notna()] if not ratings.empty else ratings
    stages = {}
    for stage in STAGES:
        rows = stage_ratings[stage_ratings["stage"] == stage] if not ratings.empty else stage_ratings
        given = rows["rating"].dropna() if not rows.empty else pd.Series(dtype=float)
        stages[stage] = {"n": int(len(given)), "skipped": int(len(rows) - len(given)),
                         "mean": round(float(given.mean()), 3) if len(given) else None}
    study = sessions.dropna(subset=["reflected", "calmer"])
    all_given = stage_ratings["rating"].dropna() if not ratings.empty else pd.Series(dtype=float)
    return {
        "sessions_with_feedback": int(len(sessions)),
        "stage_ratings": stages,
        "mean_stage_rating": round(float(all_given.mean()), 3) if len(all_given) else None,
        "n_stage_ratings": int(len(all_given)),
        "study": {"n": int(len(study)),
                  "reflected_mean": round(float(study["reflected"].mean()), 3) if len(study) else None,
                  "calmer_mean": round(float(study["calmer"].mean()), 3) if len(study) else None,
                  "correlation": pearson(study["reflected"].to_numpy(), study["calmer"].to_numpy()),
                  "paper_r": PAPER_R},
    }
