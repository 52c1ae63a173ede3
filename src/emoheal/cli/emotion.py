"""`emoheal detect` and `emoheal metrics`: the emotion model on texts, and its last evaluation."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from emoheal.cli._io import add_text_arguments, print_lines, read_texts
from emoheal.cli.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    detect = sub.add_parser("detect", help="detect the 28 GoEmotions labels in texts")
    add_text_arguments(detect, "texts to analyse (each argument is one text)")
    detect.add_argument("--json", action="store_true", help="print a JSON list, one object per text, in order")
    detect.add_argument("--model", default=os.environ.get("EMOHEAL_EMOTION_MODEL", "models/emotion"),
                        help="trained model folder (default: models/emotion)")
    detect.set_defaults(func=detect_command)
    metrics = sub.add_parser("metrics", help="print the headline figures of the last evaluation")
    metrics.add_argument("--file", default="metrics/emotion.json")
    metrics.set_defaults(func=metrics_command)


def detect_command(args: argparse.Namespace) -> int:
    from emoheal.emotion.predictor import EmotionPredictor, prediction_lines, validate_texts

    texts = read_texts(args)
    validate_texts(texts)  # before loading the model: bad input fails at once
    predictor = EmotionPredictor(args.model)
    predictions = predictor.predict(texts)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], ensure_ascii=False, indent=2))
    else:
        print_lines(prediction_lines(predictions, predictor.calibrated))
    return 0


def metrics_command(args: argparse.Namespace) -> int:
    """The headline figures of an evaluation, readable in a terminal."""
    from emoheal.emotion.headline import headline_lines

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path} not found: run the pipeline first (make run)")
    print_lines(headline_lines(json.loads(path.read_text(encoding="utf-8"))))
    return 0
