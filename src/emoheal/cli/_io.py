"""Inputs several commands share: texts from arguments, a file or stdin; emotion probabilities
as JSON; a composed params file. Failures raise the errors of cli/errors.py, which `main()`
turns into a message and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emoheal.cli.errors import CommandError, UsageError


def add_text_arguments(parser: argparse.ArgumentParser, text_help: str = "texts (each argument is one text)") -> None:
    parser.add_argument("text", nargs="*", help=text_help)
    parser.add_argument("--file", help="a UTF-8 file with one text per line ('-' for stdin)")


def read_texts(args: argparse.Namespace) -> list[str]:
    """The TEXT arguments, then the lines of --file; at least one text."""
    texts = list(args.text)
    if args.file:
        path = Path(args.file)
        if str(path) == "-":
            lines = sys.stdin.read().splitlines()
        elif not path.is_file():
            raise CommandError(f"file not found: {path}")
        else:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise CommandError(f"{path} is not UTF-8 text") from None
        # one text per line; blank lines separate nothing and are skipped
        texts.extend(line for line in lines if line.strip())
    if not texts:
        raise CommandError("give at least one TEXT or --file")
    return texts


def read_emotions(value: str) -> Any:
    """--emotions takes JSON, @FILE with JSON, or '-' for JSON on stdin: a mapping of label to
    probability, or what `emoheal detect --json` prints for one text. The planner checks the
    mapping itself; this only gets it out of its wrapping."""
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise UsageError(f"file not found: {path}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not UTF-8 text") from None
    else:
        text = value
    try:
        emotions = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--emotions is not valid JSON ({exc.msg} at character {exc.pos}); "
                         """expected e.g. '{"fear": 0.8, "nervousness": 0.4}'""") from None
    # `emoheal detect --json TEXT | emoheal kg plan --emotions -`: take the detector's probabilities
    if isinstance(emotions, list) and len(emotions) == 1 and isinstance(emotions[0], dict) \
            and "probabilities" in emotions[0]:
        emotions = emotions[0]
    elif isinstance(emotions, list) and emotions and all(isinstance(v, dict) and "probabilities" in v
                                                         for v in emotions):
        raise UsageError(f"--emotions holds {len(emotions)} detections: plan one text at a time")
    if isinstance(emotions, dict) and isinstance(emotions.get("probabilities"), dict):
        emotions = emotions["probabilities"]
    return emotions


def load_params_file(path: str) -> dict[str, Any]:
    """A composed params file (checked), or a usage error that says how to compose one."""
    from emoheal.utils.io import load_params

    if not Path(path).is_file():
        raise UsageError(f"{path} not found: run `make params` (or `emoheal params -o params.yaml`)")
    return load_params(path)


def load_settings_file(path: str) -> Any:
    """The typed settings of a composed params file, or a usage error that says how to compose one."""
    from emoheal.settings import load_settings

    if not Path(path).is_file():
        raise UsageError(f"{path} not found: run `make params` (or `emoheal params -o params.yaml`)")
    return load_settings(path)


def print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)
