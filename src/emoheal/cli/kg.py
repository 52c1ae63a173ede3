"""`emoheal kg plan|show|validate`: the music-therapy knowledge graph."""

from __future__ import annotations

import argparse
import json
import os

from emoheal.cli._io import load_settings_file, print_lines, read_emotions


def register(sub: argparse._SubParsersAction) -> None:
    kg = sub.add_parser("kg", help="the music-therapy knowledge graph: plan a session, show, validate")
    kg_sub = kg.add_subparsers(dest="kg_command", required=True)
    graph_default = os.environ.get("EMOHEAL_KG")  # else the graph in --params' paths.kg
    plan = kg_sub.add_parser("plan", help="plan three iso-principle stages from emotion probabilities")
    plan.add_argument("--emotions", required=True,
                      help="""JSON mapping of GoEmotions labels to probabilities, e.g. '{"fear": 0.8}', """
                           "or one result of `emoheal detect --json`; @FILE reads it from a file, '-' from stdin")
    plan.add_argument("--goal", help="sleep (default), calm or uplift")
    plan.add_argument("--minutes", type=float, help="session length (default 20)")
    plan.add_argument("--graph", default=graph_default, help="compiled graph (default: graph.json in paths.kg)")
    plan.add_argument("--params", default="params.yaml", help="composed params naming the graph (default: params.yaml)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(func=plan_command)
    show = kg_sub.add_parser("show", help="summarise the compiled graph")
    show.add_argument("--graph", default=graph_default, help="compiled graph (default: graph.json in paths.kg)")
    show.add_argument("--params", default="params.yaml", help="composed params naming the graph (default: params.yaml)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_command)
    validate = kg_sub.add_parser("validate", help="check the curated CSV rules without compiling")
    validate.add_argument("--rules", default="data/kg")
    validate.add_argument("--raw", default="data/raw/goemotions", help="GoEmotions folder (label names)")
    validate.set_defaults(func=validate_command)


def plan_command(args: argparse.Namespace) -> int:
    from emoheal.kg import load_planner
    from emoheal.kg.plan_text import plan_lines

    emotions = read_emotions(args.emotions)
    plan = load_planner(_graph(args)).plan(emotions, args.goal, args.minutes)
    if args.json:
        print(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_lines(plan_lines(plan))
    return 0


def show_command(args: argparse.Namespace) -> int:
    from emoheal.kg.graph import overview, read_graph, summary_lines

    graph = read_graph(_graph(args))
    if args.json:
        print(json.dumps(overview(graph), indent=2))
    else:
        print_lines(summary_lines(graph))
    return 0


def validate_command(args: argparse.Namespace) -> int:
    from emoheal.kg.compile import load_validated_rules

    rules = load_validated_rules(args.rules, args.raw)
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in rules.tables.items())
    print(f"{args.rules}: valid ({counts})")
    return 0


def _graph(args: argparse.Namespace) -> str:
    """--graph (or EMOHEAL_KG), else where the pipeline compiles it: the one path in params.yaml."""
    return args.graph or str(load_settings_file(args.params).paths.graph)
