"""DVC stage `render_corpus`: EMOPIA's MIDI to loudness-normalised FLAC with fluidsynth, each
clip in every configured timbre (data/corpus/gm_programs.csv), in parallel over the cores, and
the manifest of what was rendered."""

import sys

from _common import stage_params
from emoheal.corpus.build import render_emopia
from emoheal.corpus.render import RenderError, RenderSettings
from emoheal.corpus.timbres import TimbreError, read_programs, score_programs
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    corpus, paths = params["corpus"], params["paths"]
    out = f"{paths['corpus']}/emopia"
    try:
        # the table covers the KG's tags (compose_corpus checks it against the rules, and so do the tests):
        # here only the programs matter, so a reworded prompt phrase in the KG rerenders nothing
        table = read_programs(paths["gm_programs"])
        programs = score_programs(table, corpus["timbres"])
        manifest, report = render_emopia(paths["raw_emopia"], out, corpus["limit"], params["seed"],
                                         RenderSettings(**corpus["render"]), corpus["workers"], programs,
                                         tuple(corpus["full_splits"]), {t: table[t].gm_name for t in programs},
                                         corpus["train_timbres"])
    except (RenderError, TimbreError) as exc:
        print(f"render_corpus: {exc}", file=sys.stderr)
        sys.exit(1)
    write_json(f"{out}/render.json", report)
    print(f"{report['clips']} clips in {len(programs)} timbres: {report['renders']} renders, "
          f"{report['audio_hours']} h of audio")
