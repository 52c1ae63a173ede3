"""DVC stage `evaluate` (emotion part): test metrics, the TF-IDF baseline, plots, MLflow registry."""

import tempfile
from pathlib import Path

from _common import stage_params
from emoheal.emotion.evaluation import evaluate_emotion
from emoheal.emotion.train import read_run_id
from emoheal.tracking.lineage import dvc_hashes
from emoheal.tracking.predictions import FILE_NAME, TestPredictions, write_predictions
from emoheal.tracking.registry import log_and_register
from emoheal.utils.git import git_commit
from emoheal.utils.io import read_json, write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    paths = params["paths"]
    metrics, plots, (y_test, pred) = evaluate_emotion(params)
    calibration = read_json(f"{paths['model']}/calibration.json")
    metrics["dev"] = {"ece_uncalibrated": calibration["dev_ece_before"],
                      "ece_calibrated": calibration["dev_ece_after"],
                      "calibration": calibration.get("method", "temperature"),
                      "temperature": calibration.get("temperature"),
                      "lexical_weight": calibration.get("lexical_weight", 0.0)}
    metrics_path = f"{paths['metrics']}/emotion.json"
    if params["tracking"]["enabled"]:
        tags = {"git_commit": git_commit(), "data_hash": metrics["data_hash"],
                "model_version": metrics["model_version"], "profile": params["profile"],
                **dvc_hashes([paths["raw"], paths["prepared"], f"{paths['model']}/model"])}
        write_json(metrics_path, metrics)
        with tempfile.TemporaryDirectory() as tmp:
            # labels and 0/1 predictions (no text): what `emoheal promote` compares versions on
            predictions = write_predictions(Path(tmp) / FILE_NAME, TestPredictions(
                y_test, pred, list(metrics["per_label"]), metrics["data_hash"]))
            metrics["mlflow"] = log_and_register(params, read_run_id(paths["model"]), paths["model"], metrics,
                                                 [*plots, metrics_path, predictions], tags)
    write_json(metrics_path, metrics)
    t, b = metrics["test"], metrics["baselines"].get("tfidf_logreg", {}).get("test", {})
    ci = t["intervals"]["model"]
    print(f"test macro-F1 {t['macro_f1']:.4f} [{ci['macro_f1']['low']:.4f}, {ci['macro_f1']['high']:.4f}] "
          f"micro-F1 {t['micro_f1']:.4f} [{ci['micro_f1']['low']:.4f}, {ci['micro_f1']['high']:.4f}] "
          f"(TF-IDF baseline macro {b.get('macro_f1', float('nan')):.4f} micro {b.get('micro_f1', float('nan')):.4f})")
