"""`emoheal promote`: the MLflow registry's champion alias, moved only for a better challenger."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    promote = sub.add_parser("promote", help="move the registry's champion alias to the challenger if it is "
                                             "better on the test metrics by a margin (exit 1 when it is not)")
    promote.add_argument("--model", default="emoheal-emotion", help="registered model (default: emoheal-emotion)")
    promote.add_argument("--metric", default="test.macro_f1", help="run metric to compare (default: test.macro_f1)")
    promote.add_argument("--margin", type=float, default=0.005, help="required gain (default: 0.005)")
    promote.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    promote.add_argument("--json", action="store_true", help="the decision as JSON")
    promote.set_defaults(func=promote_command)


def promote_command(args: argparse.Namespace) -> int:
    import mlflow
    from mlflow import MlflowClient

    from emoheal.tracking.aliases import promote
    from emoheal.tracking.runs import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    result = promote(MlflowClient(), args.model, args.metric, args.margin, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        verb = "would promote" if args.dry_run and result.promoted else ("promoted" if result.promoted else "kept")
        print(f"{verb}: {result.reason}")
    return 0 if result.promoted else 1
