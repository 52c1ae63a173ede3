"""Shared by the stage scripts: argument parsing, params loading, logging set-up."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from emoheal.utils.io import load_params


def stage_params(description: str) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="composed parameters (default: params.yaml)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return load_params(args.params)
