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
        *_interval_lines(t),
        f"  Ekman groups macro-F1 {t['ekman']['macro_f1']:.4f}  sentiment macro-F1 {t['sentiment']['macro_f1']:.4f}",
        f"  calibration error (ECE) {t['ece_uncalibrated']:.4f} -> {t['ece_calibrated']:.4f} "
        f"with {_calibration_name(metrics)}",
    ]
    for name, base in metrics.get("baselines", {}).items():
        lines.append(f"  baseline {name}: macro-F1 {base['test']['macro_f1']:.4f}  "
                     f"micro-F1 {base['test']['micro_f1']:.4f}")
    tuned = t.get("test_tuned_thresholds")
    if tuned:
        lines.append(f"  with thresholds tuned on test itself (only beside published test-tuned figures): "
                     f"macro-F1 {tuned['macro_f1']:.4f}  micro-F1 {tuned['micro_f1']:.4f}")
    worst = sorted(metrics["per_label"].items(), key=lambda kv: kv[1]["f1"])[:3]
    lines.append("  weakest labels: " + ", ".join(f"{k} {v['f1']:.2f} (n={v['support']})" for k, v in worst))
    return lines


def _calibration_name(metrics: dict[str, Any]) -> str:
    method = metrics.get("dev", {}).get("calibration", "temperature")
    return "per-label scaling" if method == "per_label" else method


def _interval_lines(t: dict[str, Any]) -> list[str]:
    """The bootstrap intervals, when the evaluation has them (older files do not)."""
    block = t.get("intervals")
    if not block:
        return []
    pct = f"{block['confidence']:.0%}"
    model = block["model"]
    lines = [f"  {pct} intervals (paired bootstrap, {block['resamples']} resamples): macro-F1 "
             f"[{model['macro_f1']['low']:.4f}, {model['macro_f1']['high']:.4f}]  micro-F1 "
             f"[{model['micro_f1']['low']:.4f}, {model['micro_f1']['high']:.4f}]"]
    gain = block.get("gain_over_baseline")
    if gain:
        lines.append(f"  gain over the baseline: macro-F1 {gain['macro_f1']['estimate']:+.4f} "
                     f"[{gain['macro_f1']['low']:+.4f}, {gain['macro_f1']['high']:+.4f}]  micro-F1 "
                     f"{gain['micro_f1']['estimate']:+.4f} [{gain['micro_f1']['low']:+.4f}, "
                     f"{gain['micro_f1']['high']:+.4f}]")
    return lines
