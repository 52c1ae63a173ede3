"""DVC stage `thresholds`: the lexical mixing weight, calibration and per-label thresholds, fitted on dev."""

from _common import stage_params
from emoheal.emotion.tuning import tune_on_dev

if __name__ == "__main__":
    params = stage_params(__doc__)
    result = tune_on_dev(params)
    cal = result["calibration"]
    how = f"temperature {cal['temperature']:.3f}" if "temperature" in cal else f"{cal['method']} calibration"
    print(f"lexical weight {cal['lexical_weight']:g}; {how}; dev ECE {cal['dev_ece_before']:.4f} -> "
          f"{cal['dev_ece_after']:.4f}; dev macro-F1 (tuned) {result['dev']['macro_f1_tuned']:.4f}")
