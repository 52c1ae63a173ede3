"""The `emoheal` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from emoheal import __version__

EXIT_USAGE = 2


def _read_texts(args: argparse.Namespace) -> list[str]:
    texts = list(args.text)
    if args.file:
        path = Path(args.file)
        if str(path) == "-":
            lines = sys.stdin.read().splitlines()
        elif not path.is_file():
            raise SystemExit(f"emoheal: error: file not found: {path}")
        else:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise SystemExit(f"emoheal: error: {path} is not UTF-8 text") from None
        # one text per line; blank lines separate nothing and are skipped
        texts.extend(line for line in lines if line.strip())
    if not texts:
        raise SystemExit("emoheal: error: give at least one TEXT or --file")
    return texts


def cmd_detect(args: argparse.Namespace) -> int:
    from emoheal.emotion.artifacts import ModelFolderError
    from emoheal.emotion.predictor import EmotionPredictor, InvalidTextError, validate_texts

    texts = _read_texts(args)
    try:
        validate_texts(texts)  # before loading the model: bad input fails at once
        predictor = EmotionPredictor(args.model)
        predictions = predictor.predict(texts)
    except InvalidTextError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModelFolderError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], ensure_ascii=False, indent=2))
        return 0
    for i, p in enumerate(predictions, start=1):
        top = sorted(p.probabilities.items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{k} {v:.2f}" for k, v in top)
        note = " (truncated to the model's window)" if p.truncated else ""
        print(f"[{i}] {', '.join(p.labels) or '(none above threshold)'}  — top: {shown}{note}")
    calibrated = "" if predictor.calibrated else " (uncalibrated: no thresholds.json)"
    print(f"model {predictions[0].model_version}{calibrated}")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from hydra.errors import HydraException

    from emoheal.config import compose_params, write_params

    try:
        params = compose_params(args.overrides, args.config_dir)
    except (HydraException, FileNotFoundError) as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output == "-":
        import yaml

        print(yaml.safe_dump(params, sort_keys=False), end="")
    else:
        write_params(params, args.output)
        print(f"wrote {args.output} (profile {params.get('profile')}, backbone {params['backbone']['name']})")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """The headline figures of an evaluation, readable in a terminal."""
    path = Path(args.file)
    if not path.is_file():
        print(f"emoheal: error: {path} not found: run the pipeline first (make run)", file=sys.stderr)
        return 1
    m = json.loads(path.read_text(encoding="utf-8"))
    t = m["test"]
    print(f"model {m['model_version']} ({m['profile']} profile), thresholds {m['thresholds']}")
    print(f"  test ({t['rows']} texts): macro-F1 {t['macro_f1']:.4f}  micro-F1 {t['micro_f1']:.4f}  "
          f"weighted-F1 {t['weighted_f1']:.4f}")
    print(f"  Ekman groups macro-F1 {t['ekman']['macro_f1']:.4f}  sentiment macro-F1 {t['sentiment']['macro_f1']:.4f}")
    print(f"  calibration error (ECE) {t['ece_uncalibrated']:.4f} -> {t['ece_calibrated']:.4f} with temperature")
    for name, base in m.get("baselines", {}).items():
        print(f"  baseline {name}: macro-F1 {base['test']['macro_f1']:.4f}  micro-F1 {base['test']['micro_f1']:.4f}")
    worst = sorted(m["per_label"].items(), key=lambda kv: kv[1]["f1"])[:3]
    print("  weakest labels: " + ", ".join(f"{k} {v['f1']:.2f} (n={v['support']})" for k, v in worst))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoheal", description=__doc__)
    parser.add_argument("--version", action="version", version=f"emoheal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    detect = sub.add_parser("detect", help="detect the 28 GoEmotions labels in texts")
    detect.add_argument("text", nargs="*", help="texts to analyse (each argument is one text)")
    detect.add_argument("--file", help="a UTF-8 file with one text per line ('-' for stdin)")
    detect.add_argument("--json", action="store_true", help="print a JSON list, one object per text, in order")
    detect.add_argument("--model", default=os.environ.get("EMOHEAL_EMOTION_MODEL", "models/emotion"),
                        help="trained model folder (default: models/emotion)")
    detect.set_defaults(func=cmd_detect)
    metrics = sub.add_parser("metrics", help="print the headline figures of the last evaluation")
    metrics.add_argument("--file", default="metrics/emotion.json")
    metrics.set_defaults(func=cmd_metrics)
    params = sub.add_parser("params", help="compose conf/ into a params file (as DVC does)")
    params.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=ci backbone=tiny")
    params.add_argument("-o", "--output", default="params.yaml", help="file to write ('-' for stdout)")
    params.add_argument("--config-dir", default="conf")
    params.set_defaults(func=cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
