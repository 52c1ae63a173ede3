"""Records (service or reference) as the flat table the drift report and tests read.

Columns, grouped by what they watch:
- emotions: `p_<label>` for each label and `top_label` (rows the model answered);
- confidence: `top_probability`, `n_labels`, `neutral` (1 when neutral is an active label);
- text statistics: `language`, `language_confidence`, `length_bucket`;
- coverage and safety: `has_emotions` (0 when the model never saw the text: a crisis stopped by the
  phrase screen, a language the model cannot read), `crisis` (session and reference rows only).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

TEXT_COLUMNS = ["language", "language_confidence", "length_bucket"]
CONFIDENCE_COLUMN = "top_probability"
# endpoints whose records went through the safety screen (a /detect answer does not)
SCREENED = ("session", "reference")
LANGUAGE_CONFIDENCE = 0.5


def emotion_columns(labels: list[str]) -> list[str]:
    return [f"p_{label}" for label in labels] + ["top_label"]


def monitoring_frame(records: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    probabilities = [json.loads(p) if isinstance(p, str) and p else {} for p in records.get("probabilities", [])]
    active = [json.loads(a) if isinstance(a, str) and a else [] for a in records.get("labels", [])]
    has = np.array([bool(p) for p in probabilities], dtype=bool)
    out = pd.DataFrame({f"p_{label}": [p.get(label, np.nan) if p else np.nan for p in probabilities]
                        for label in labels}, index=records.index)
    out["top_label"] = records["top_label"].where(has, None)
    out["top_probability"] = pd.to_numeric(records["top_probability"]).where(has)
    out["n_labels"] = pd.Series([len(a) for a in active], index=records.index, dtype=float).where(has)
    out["neutral"] = pd.Series([float("neutral" in a) for a in active], index=records.index).where(has)
    out["has_emotions"] = has.astype(float)
    # a confident language only: short texts get arbitrary guesses (the runner treats them as English too)
    confident = pd.to_numeric(records["language_confidence"]) >= LANGUAGE_CONFIDENCE
    out["language"] = records["language"].where(confident, "uncertain").fillna("none")
    out["language_confidence"] = pd.to_numeric(records["language_confidence"])
    out["length_bucket"] = records["length_bucket"]
    screened = records["endpoint"].isin(SCREENED) & records["risk_level"].notna()
    out["crisis"] = (records["risk_level"] == "high").astype(float).where(screened)
    out["endpoint"] = records["endpoint"]
    out["time"] = records["time"]
    return out
