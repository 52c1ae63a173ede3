"""DVC stage `safety`: the crisis screen's risk classifier, trained on the curated corpus with
features and thresholds chosen on grouped cross-validation; measured on the frozen held-out file
and on the GoEmotions test comments -> models/safety/, metrics/safety.json, an MLflow run."""

from _common import stage_params
from emoheal.safety.build import build_safety
from emoheal.safety.tracking import log_safety_run
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    metrics = build_safety(params)
    log_safety_run(params, metrics)
    write_json(f"{params['paths']['metrics']}/safety.json", metrics)
    held, cv, ordinary = metrics["heldout"], metrics["grouped_cv"], metrics["goemotions_test"]
    print(f"safety model {metrics['model']['version']}: held-out recall {held['recall']:.3f} "
          f"{held['recall_ci95']}, high false alarms {held['false_alarm_high']:.3f}; grouped-CV recall "
          f"{cv['recall']:.3f}, lowest category {min(cv['recall_by_category'].values()):.3f}; GoEmotions "
          f"{ordinary['split']} flagged high {ordinary['flagged_high_share']:.4f} ({ordinary['flagged_high']}, "
          f"{ordinary['reviewed']} reviewed)")
