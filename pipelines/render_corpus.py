"""DVC stage `render_corpus`: EMOPIA's MIDI to loudness-normalised FLAC with fluidsynth,
in parallel over the cores, and the manifest of what was rendered."""

import sys

from _common import stage_params
from emoheal.corpus.build import render_emopia
from emoheal.corpus.render import RenderError, RenderSettings
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    corpus, paths = params["corpus"], params["paths"]
    out = f"{paths['corpus']}/emopia"
    try:
        manifest, report = render_emopia(paths["raw_emopia"], out, corpus["limit"], params["seed"],
                                         RenderSettings(**corpus["render"]), corpus["workers"])
    except RenderError as exc:
        print(f"render_corpus: {exc}", file=sys.stderr)
        sys.exit(1)
    write_json(f"{out}/render.json", report)
    print(f"{report['clips']} clips, {report['audio_hours']} h of audio")
