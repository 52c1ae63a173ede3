"""`emoheal promote`: the MLflow registry's champion alias, moved only for a better challenger."""

from __future__ import annotations

import argparse
import json

from emoheal.cli.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    promote = sub.add_parser("promote", help="move the registry's champion alias to the challenger if the paired "
                                             "bootstrap's lower bound of its test gain is above zero "
                                             "(exit 1 when it is not)")
    promote.add_argument("--model", default="emoheal-emotion", help="registered model (default: emoheal-emotion)")
    promote.add_argument("--metric", default="macro_f1", choices=["macro_f1", "micro_f1"],
                         help="test metric to compare (default: macro_f1)")
    promote.add_argument("--confidence", type=_confidence, default=0.95,
                         help="the gain's interval (default: 0.95, a two-sided 95%% percentile interval)")
    promote.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default: 2000)")
    promote.add_argument("--seed", type=int, default=0, help="the resamples' seed (default: 0)")
    promote.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    promote.add_argument("--override", metavar="REASON",
                         help="promote the challenger whatever the comparison says, recording REASON on the version")
    promote.add_argument("--json", action="store_true", help="the decision as JSON")
    promote.set_defaults(func=promote_command)


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"confidence must be in [0.5, 1), got {value}")
    return value


def promote_command(args: argparse.Namespace) -> int:
    import mlflow
    from mlflow import MlflowClient

    from emoheal.tracking.aliases import promote
    from emoheal.tracking.runs import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    if args.override is not None and not args.override.strip():
        raise UsageError("--override needs a reason: it is recorded on the promoted version")
    if args.resamples < 100:
        raise UsageError(f"--resamples {args.resamples}: use at least 100 for an interval worth reading")
    result = promote(MlflowClient(), args.model, args.metric, args.confidence, args.resamples, args.seed,
                     dry_run=args.dry_run, override=args.override)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        verb = "would promote" if args.dry_run and result.promoted else ("promoted" if result.promoted else "kept")
        print(f"{verb}: {result.reason}")
    return 0 if result.promoted else 1
