"""Shared by the stage scripts: argument parsing, params loading, logging set-up."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from emoheal.settings import ParamsError
from emoheal.utils.io import load_params

EXIT_BAD_PARAMS = 2  # as for a usage error: the stage never started


def stage_params(description: str) -> dict[str, Any]:
    """The stage's composed params, checked against the settings models (emoheal.settings). A
    missing or bad file ends the stage with `error: <file>: <key>: <what>` and exit code 2, not a
    traceback from wherever the key would first have been read."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="composed parameters (default: params.yaml)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return load_params(args.params)
    except (ParamsError, FileNotFoundError) as exc:
        print("\n".join(f"error: {line}" for line in str(exc).splitlines()), file=sys.stderr)
        sys.exit(EXIT_BAD_PARAMS)
