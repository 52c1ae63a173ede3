"""`emoheal clamp3 verify`: our CLaMP 3 against an oracle computed by the official code."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoheal.cli._io import print_lines


def register(sub: argparse._SubParsersAction) -> None:
    clamp3 = sub.add_parser("clamp3", help="the CLaMP 3 encoder: prove fidelity against an oracle")
    clamp3_sub = clamp3.add_subparsers(dest="clamp3_command", required=True)
    verify = clamp3_sub.add_parser("verify", help="recompute an oracle folder's cases and compare (atol 1e-5)")
    verify.add_argument("--fixture", required=True, help="oracle folder: config.json, weights.safetensors, "
                                                         "cases.safetensors, cases.json (and keys_full.json)")
    verify.add_argument("--keys", help="keys_full.json to check the full-size model against "
                                       "(default: the one in the fixture folder)")
    verify.set_defaults(func=verify_command)


def verify_command(args: argparse.Namespace) -> int:
    """Recompute an oracle folder's cases with our CLaMP 3 and compare (atol 1e-5)."""
    from emoheal.encoder.clamp3.verify import check_full_keys, failed_checks, report_lines, verify_fixture

    folder = Path(args.fixture)
    results = verify_fixture(folder)
    keys = Path(args.keys) if args.keys else folder / "keys_full.json"
    problems = check_full_keys(keys) if keys.is_file() else None  # the key check is optional
    print_lines(report_lines(results, keys.name, problems))
    return 1 if failed_checks(results, problems) else 0
