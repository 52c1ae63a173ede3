"""`emoheal params`: compose conf/ into a params file, as DVC does."""

from __future__ import annotations

import argparse

from emoheal.cli.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    params = sub.add_parser("params", help="compose conf/ into a params file (as DVC does)")
    params.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=ci backbone=tiny")
    params.add_argument("-o", "--output", default="params.yaml", help="file to write ('-' for stdout)")
    params.add_argument("--config-dir", default="conf")
    params.set_defaults(func=params_command)


def params_command(args: argparse.Namespace) -> int:
    from emoheal.config import compose_params, write_params
    from emoheal.settings import validate_params

    try:
        params = compose_params(args.overrides, args.config_dir)
    except FileNotFoundError as exc:  # no config.yaml in --config-dir: the caller's flag, not a missing artefact
        raise UsageError(str(exc)) from exc
    validate_params(params, f"{args.config_dir}/ composed")  # a bad conf edit fails here, not in a stage
    if args.output == "-":
        import yaml

        print(yaml.safe_dump(params, sort_keys=False), end="")
    else:
        write_params(params, args.output)
        print(f"wrote {args.output} (profile {params['profile']}, backbone {params['backbone']['name']})")
    return 0
