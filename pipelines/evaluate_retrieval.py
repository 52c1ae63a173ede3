"""DVC stage `evaluate_retrieval`: sessions planned from the 28 one-hot emotions and from the
emotions detected in GoEmotions test texts, retrieved from the index and measured on EMOPIA's
quadrant labels against random, nearest-valence/arousal and descriptors-only baselines."""

from pathlib import Path

from _common import stage_params
from emoheal.data.prepared import read_prepared
from emoheal.emotion.predictor import EmotionPredictor
from emoheal.kg.planner import load_planner
from emoheal.retrieval.config import settings_from_config
from emoheal.retrieval.evaluation import evaluate_sessions
from emoheal.retrieval.index import load_index
from emoheal.retrieval.plots import write_plots
from emoheal.settings import as_settings
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    paths, cfg = params["paths"], params["retrieval"]
    evaluate = cfg["evaluate"]
    settings, _ = settings_from_config(cfg)
    layout = as_settings(params).paths
    index = load_index(layout.index)
    planner = load_planner(layout.graph)
    goal = evaluate["goal"]
    one_hot = [planner.plan({label: 1.0}, goal).to_dict() for label in planner.labels]
    test = read_prepared(paths["prepared"], "test")
    if evaluate["texts"] is not None and evaluate["texts"] < len(test):
        test = test.sample(n=evaluate["texts"], random_state=evaluate["seed"])
    predictions = EmotionPredictor(paths["model"]).predict(test["text"].tolist())  # texts stay in memory only
    detected = [planner.plan(p.probabilities, goal).to_dict() for p in predictions]
    labelled = index.items[index.items["quadrant"].notna()]
    metrics = {
        "goal": goal, "backend": index.backend, "index_items": int(len(index.items)),
        "labelled_items": int(len(labelled)), "model_version": predictions[0].model_version if predictions else None,
        # an item's label is its source clip's quadrant, annotated on the piano: for other timbres a proxy
        "labels": "EMOPIA quadrant of each item's source clip, annotated on the piano (a proxy for other timbres)",
        "one_hot": evaluate_sessions(one_hot, index, planner.goals[goal], settings, evaluate["seed"]),
        "detected": evaluate_sessions(detected, index, planner.goals[goal], settings, evaluate["seed"]),
    }
    write_json(Path(paths["metrics"]) / "retrieval.json", metrics)
    write_plots(metrics, Path(paths["plots"]).parent / "retrieval")
    s, r = metrics["detected"]["system"], metrics["detected"]["random"]
    print(f"retrieval ({index.backend}, {len(detected)} detected sessions): match agreement "
          f"{s['match_quadrant_agreement']}, target Q4 P@1 {s['target_q4_precision_at_1']}, arousal never rises "
          f"{s['arousal_never_rises']}; random: target Q4 P@1 {r['target_q4_precision_at_1']}")
