"""`emoheal safety screen|review|check`: the crisis screen alone, the hand review of what it
flagged, and the check of the curated risk corpus."""

from __future__ import annotations

import argparse
import json
import os
import sys

from emoheal.cli._io import add_text_arguments, load_settings_file, read_texts
from emoheal.cli.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    safety = sub.add_parser("safety", help="the crisis screen: screen texts, check the curated risk corpus")
    safety_sub = safety.add_subparsers(dest="safety_command", required=True)
    screen = safety_sub.add_parser("screen", help="the level, scores and reasons for texts (no session)")
    add_text_arguments(screen)
    screen.add_argument("--model", default=os.environ.get("EMOHEAL_SAFETY_MODEL"),
                        help="the risk classifier (default: safety.model in --params)")
    screen.add_argument("--locale", default=os.environ.get("EMOHEAL_LOCALE"),
                        help="crisis resources for this country (default: serving.locale in --params)")
    screen.add_argument("--params", default="params.yaml",
                        help="composed params: the text limit, the locale and the model (default: params.yaml)")
    screen.add_argument("--json", action="store_true", help="a JSON list, one result per text, in order")
    screen.set_defaults(func=screen_command)
    review = safety_sub.add_parser("review", help="GoEmotions test comments flagged high and not yet "
                                                  "reviewed by hand (id, text)")
    review.add_argument("--metrics", default="metrics/safety.json")
    review.add_argument("--prepared", default="data/prepared/goemotions")
    review.add_argument("--all", action="store_true", help="every flagged comment, reviewed or not")
    review.set_defaults(func=review_command)
    check = safety_sub.add_parser("check", help="validate the risk corpus and the frozen held-out file")
    check.add_argument("folder", nargs="?", default="data/safety")
    check.set_defaults(func=check_command)


def screen_command(args: argparse.Namespace) -> int:
    """The crisis screen alone: a level, the scores and the reasons (pattern ids) per text, in order."""
    from emoheal.safety.screen import CrisisScreen
    from emoheal.session.runner import check_text

    texts = read_texts(args)
    settings = load_settings_file(args.params)
    for text in texts:  # bad input fails before the model loads
        check_text(text, settings.serving.max_text_chars)
    screen = CrisisScreen(args.model or settings.safety.model)
    locale = args.locale or settings.serving.locale
    results = [screen.decide(a, locale=locale) for a in screen.assess_many(texts)]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return 0
    for i, r in enumerate(results, start=1):
        print(f"[{i}] {r.summary_line()}")
    print(f"safety model {screen.version}")
    return 0


def review_command(args: argparse.Namespace) -> int:
    """The GoEmotions comments the last `safety` stage flagged high and nobody has reviewed yet, with
    their public text, for the hand review in data/safety/review/ (id,real_risk,category,note)."""
    from emoheal.data.prepared import read_prepared
    from emoheal.utils.io import read_json

    try:
        everyday = read_json(args.metrics)["goemotions_test"]
        split = read_prepared(args.prepared, everyday["split"]).set_index("id")
    except (FileNotFoundError, KeyError) as exc:  # no or an older metrics file: the stage has to run
        raise CommandError(f"{exc}: run `dvc repro safety` first") from exc
    ids = everyday["flagged_ids"] if args.all else everyday["unreviewed"]
    for comment in ids:
        print(f"{comment}\t{split.loc[comment, 'text']}")
    print(f"{len(ids)} comment(s); {everyday['reviewed']} of {everyday['flagged_high']} flagged are reviewed in "
          f"{everyday['review_file']}", file=sys.stderr)
    return 0


def check_command(args: argparse.Namespace) -> int:
    from emoheal.safety.corpus import main as check

    return check(["check", args.folder])
