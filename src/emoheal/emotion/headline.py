"""The headline of an evaluation (metrics/emotion.json, written by the `evaluate` stage) as lines
for a terminal. Plain formatting of the JSON: no numpy or sklearn, so `emoheal metrics` starts fast."""

from __future__ import annotations

from typing import Any


def headline_lines(metrics: dict[str, Any]) -> list[str]:
    """Test-split F1s, group F1s, calibration, the baselines and the three weakest labels."""
    t = metrics["test"]
    lines = [
        f"model {metrics['model_version']} ({metrics['profile']} profile), thresholds {metrics['thresholds']}",
        f"  test ({t['rows']} texts): macro-F1 {t['macro_f1']:.4f}  micro-F1 {t['micro_f1']:.4f}  "
        f"weighted-F1 {t['weighted_f1']:.4f}",
        f"  Ekman groups macro-F1 {t['ekman']['macro_f1']:.4f}  sentiment macro-F1 {t['sentiment']['macro_f1']:.4f}",
        f"  calibration error (ECE) {t['ece_uncalibrated']:.4f} -> {t['ece_calibrated']:.4f} with temperature",
    ]
    for name, base in metrics.get("baselines", {}).items():
        lines.append(f"  baseline {name}: macro-F1 {base['test']['macro_f1']:.4f}  "
                     f"micro-F1 {base['test']['micro_f1']:.4f}")
    worst = sorted(metrics["per_label"].items(), key=lambda kv: kv[1]["f1"])[:3]
    lines.append("  weakest labels: " + ", ".join(f"{k} {v['f1']:.2f} (n={v['support']})" for k, v in worst))
    return lines
