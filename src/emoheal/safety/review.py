"""Ordinary text as the false-alarm reference: the GoEmotions test comments (Reddit; nobody here
wrote them) through the whole screen as the service runs it, and the hand review of every comment
it flags `high` (`data/safety/review/goemotions_test_high.csv`: id, real_risk yes/no, category,
note). A few comments really are about self-harm; the review says how many of the flags are.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emoheal.safety.evaluation import HIGH, MEDIUM, detector_signals, levels_array, pattern_floor, wilson
from emoheal.safety.patterns import Rules
from emoheal.safety.screen import Thresholds

REVIEW_COLUMNS = ("id", "real_risk", "category", "note")


def read_review(path: str | Path) -> dict[str, dict[str, str]]:
    """The hand review by comment id (empty when the file does not exist yet)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != REVIEW_COLUMNS:
            raise ValueError(f"{path}: columns must be {','.join(REVIEW_COLUMNS)}")
        rows = {r["id"]: r for r in reader}
    bad = [i for i, r in rows.items() if r["real_risk"] not in ("yes", "no")]
    if bad:
        raise ValueError(f"{path}: real_risk must be yes or no (ids {', '.join(bad[:5])})")
    return rows


def goemotions_flags(params: dict[str, Any], cfg: dict[str, Any], score: Callable[[list[str]], np.ndarray],
                     rules: Rules, thresholds: Thresholds, predictor: Any) -> dict[str, Any]:
    """The split's comments through the whole screen (`score`: texts -> texts x (risk, severe))."""
    from emoheal.data.prepared import read_prepared

    split_name = cfg["evaluate"]["goemotions_split"]
    split = read_prepared(params["paths"]["prepared"], split_name)
    texts, ids = split["text"].tolist(), split["id"].astype(str).to_numpy()
    scores = score(texts)
    floor = pattern_floor([tuple((p.id, p.level) for p in rules.match(t)) for t in texts])
    distress, intense = detector_signals(predictor, texts)
    levels = levels_array(scores[:, 0], scores[:, 1], floor, thresholds, distress, intense)
    high = levels == HIGH
    asked = (levels == MEDIUM)
    review = read_review(cfg["evaluate"]["review"])
    flagged = ids[high].tolist()
    reviewed = [i for i in flagged if i in review]
    n, k = len(texts), int(high.sum())
    return {
        "split": split_name, "n": n, "flagged_high": k, "flagged_high_share": round(k / n, 5) if n else None,
        "flagged_high_ci95": wilson(k, n), "flagged_check_in": int(asked.sum()),
        "flagged_check_in_share": round(float(asked.mean()), 5) if n else None,
        "reviewed": len(reviewed), "real_risk_in_flagged": sum(review[i]["real_risk"] == "yes" for i in reviewed),
        "unreviewed": [i for i in flagged if i not in review], "flagged_ids": flagged,
        "review_file": str(cfg["evaluate"]["review"]),
    }
