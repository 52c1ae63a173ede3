"""The `emoheal` command line."""

from __future__ import annotations

import argparse
import sys

from emoheal import __version__
from emoheal.cli import bento, candidates, clamp3, emotion, kg, monitor, params, people, registry, safety, session
from emoheal.cli.errors import answer_for

# each command group adds its subcommands, in the order `emoheal --help` lists them
_GROUPS = (emotion, candidates, params, kg, session, safety, registry, monitor, people, bento, clamp3)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoheal", description=__doc__)
    parser.add_argument("--version", action="version", version=f"emoheal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in _GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; an error cli/errors.py knows becomes its message on stderr and its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        answer = answer_for(exc)
        if answer is None:
            raise
        code, message = answer
        print(message, file=sys.stderr)
        return code


__all__ = ["build_parser", "main"]
