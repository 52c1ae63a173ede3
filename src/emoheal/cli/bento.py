"""`emoheal bento import`: the served models into the BentoML model store."""

from __future__ import annotations

import argparse

from emoheal.cli._io import load_params_file


def register(sub: argparse._SubParsersAction) -> None:
    bento = sub.add_parser("bento", help="packaging for the BentoML service")
    bento_sub = bento.add_subparsers(dest="bento_command", required=True)
    bento_import = bento_sub.add_parser(
        "import", help="put the MLflow champion model (+ its ONNX export), graph, index and media into the "
                       "BentoML model store ($BENTOML_HOME)")
    bento_import.add_argument("--alias", default="champion", help="registry alias to serve (default: champion)")
    bento_import.add_argument("--params", default="params.yaml", help="composed parameters (paths, serving)")
    bento_import.add_argument("--no-onnx", action="store_true", help="serve eager PyTorch: skip the ONNX export")
    bento_import.set_defaults(func=import_command)


def import_command(args: argparse.Namespace) -> int:
    from emoheal.bento.parity_metrics import bundle_of, write_parity_metrics
    from emoheal.bento.store import import_models

    params = load_params_file(args.params)
    tags = import_models(params, alias=args.alias, onnx=not args.no_onnx)
    for part, tag in tags.items():
        print(f"imported {part}: {tag}")
    # the parity figures the README quotes, where git keeps them (the store is git-ignored)
    written = write_parity_metrics(bundle_of(tags["emotion"]), params["paths"]["metrics"])
    print(f"ONNX parity: {written}" if written else "ONNX parity: not measured, metrics file left as it was")
    return 0
