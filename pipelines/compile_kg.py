"""DVC stage `compile_kg`: validate the curated rules in data/kg, build the typed graph with
its content hash, draw it, and report what the planner makes of it."""

import sys

from _common import stage_params
from emoheal.kg.compile import compile_kg
from emoheal.kg.rules import KGValidationError
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    paths = params["paths"]
    try:
        metrics = compile_kg(paths["kg_rules"], paths["raw"], paths["kg"], paths["kg_plots"], params["kg"]["planner"])
    except KGValidationError as exc:
        print(f"compile_kg: {exc}", file=sys.stderr)
        sys.exit(1)
    write_json(f"{paths['metrics']}/kg.json", metrics)
    print(f"{metrics['version']}: {sum(metrics['nodes'].values())} nodes, {sum(metrics['edges'].values())} edges")
