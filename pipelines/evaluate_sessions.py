"""DVC stage `evaluate_sessions`: sequenced sessions (tracks along the plan's path) planned from
the 28 one-hot emotions and from the emotions detected in GoEmotions test texts, measured against
the one-item-per-stage, random and arousal-sorted baselines run the same way
(emoheal.retrieval.timeline_evaluation) → metrics/sessions.json and plots/sessions/."""

from pathlib import Path

from _common import stage_params
from emoheal.data.prepared import read_prepared
from emoheal.emotion.predictor import EmotionPredictor
from emoheal.kg.planner import load_planner
from emoheal.retrieval.config import settings_from_config
from emoheal.retrieval.index import load_index
from emoheal.retrieval.timeline_evaluation import evaluate_timelines
from emoheal.retrieval.timeline_plots import write_timeline_plots
from emoheal.settings import as_settings
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    paths, cfg = params["paths"], params["retrieval"]
    evaluate = cfg["evaluate_sessions"]
    one_item, sequence = settings_from_config(cfg)
    layout = as_settings(params).paths
    index = load_index(layout.index)
    planner = load_planner(layout.graph)
    goal, minutes = evaluate["goal"], evaluate["minutes"]
    one_hot = [planner.plan({label: 1.0}, goal, minutes).to_dict() for label in planner.labels]
    test = read_prepared(paths["prepared"], "test")
    if evaluate["texts"] is not None and evaluate["texts"] < len(test):
        test = test.sample(n=evaluate["texts"], random_state=evaluate["seed"])
    predictions = EmotionPredictor(paths["model"]).predict(test["text"].tolist())  # texts stay in memory only
    detected = [planner.plan(p.probabilities, goal, minutes).to_dict() for p in predictions]
    seed = evaluate["seed"]
    metrics = {
        "goal": goal, "minutes": minutes, "backend": index.backend, "index_items": int(len(index.items)),
        "sessions": {"one_hot": len(one_hot), "detected": len(detected)},
        "model_version": predictions[0].model_version if predictions else None,
        **evaluate_timelines(one_hot + detected, index, planner.goals[goal], sequence, one_item, seed),
        "by_set": {"one_hot": evaluate_timelines(one_hot, index, planner.goals[goal], sequence, one_item, seed),
                   "detected": evaluate_timelines(detected, index, planner.goals[goal], sequence, one_item,
                                                  seed + len(one_hot))},
    }
    write_json(Path(paths["metrics"]) / "sessions.json", metrics)
    write_timeline_plots(metrics, one_hot[0], index, planner.goals[goal], sequence, seed,
                         Path(paths["plots"]).parent / "sessions")
    s, b = metrics["system"], metrics["baselines"]["one_per_stage"]
    print(f"sessions ({index.backend}, {len(one_hot) + len(detected)} x {minutes} min): filled {s['minutes_filled']}, "
          f"arousal never rises {s['arousal_never_rises']}, coverage {s['catalogue_coverage']} "
          f"(one per stage {b['catalogue_coverage']}), path fit {s['path_fit']} BPM (one per stage {b['path_fit']})")
