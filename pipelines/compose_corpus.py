"""DVC stage `compose_corpus`: calm and guide music composed for the knowledge graph's goals by
the seeded rule-based composer, rendered with fluidsynth; licence "generated"."""

import sys

from _common import stage_params
from emoheal.corpus.compose import ComposeError
from emoheal.corpus.composed import ComposeSettings, build_composed, plan_specs
from emoheal.corpus.render import RenderError, RenderSettings
from emoheal.corpus.timbres import TimbreError, kg_timbre_tags, read_programs
from emoheal.kg.planner import load_planner
from emoheal.settings import as_settings
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    corpus, paths = params["corpus"], params["paths"]
    out = f"{paths['corpus']}/composed"
    compose = corpus["compose"]
    settings = ComposeSettings(pieces=compose["pieces"], seconds=tuple(compose["seconds"]),
                               goals=tuple(compose["goals"]), stages=tuple(compose["stages"]),
                               range_share=compose["range_share"])
    try:
        table = read_programs(paths["gm_programs"], kg_timbre_tags(paths["kg_rules"]))
        planner = load_planner(as_settings(params).paths.graph)
        specs = plan_specs(planner, planner.graph, table, settings, params["seed"])
        manifest, report = build_composed(specs, out, RenderSettings(**corpus["render"]),
                                          {t: p.gm_name for t, p in table.items()}, corpus["workers"])
    except (RenderError, TimbreError, ComposeError) as exc:
        print(f"compose_corpus: {exc}", file=sys.stderr)
        sys.exit(1)
    write_json(f"{out}/compose.json", report)
    print(f"{report['pieces']} pieces composed, {report['audio_minutes']} min: {report['by_part']}")
