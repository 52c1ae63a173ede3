"""DVC stage `corpus_emotion`: a small Lightning model from audio descriptors to valence and
arousal (EMOPIA train split, piano-only or in every timbre, chosen on val, reported on test in
each timbre), applied to every item; how the composed pieces measure against what they were
composed for; and the listening page plots/corpus/listen.html."""

import pandas as pd

from _common import stage_params
from emoheal.corpus.descriptors import write_table
from emoheal.corpus.emotion_model import ClipEmotionSettings
from emoheal.corpus.emotion_stage import run_corpus_emotion
from emoheal.corpus.listen import write_listen_page
from emoheal.corpus.manifest import read_manifest
from emoheal.utils.io import read_json, write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    root = params["paths"]["corpus"]
    manifest, descriptors = read_manifest(f"{root}/manifest.parquet"), pd.read_parquet(f"{root}/descriptors.parquet")
    estimates, metrics = run_corpus_emotion(
        manifest, descriptors,
        pd.read_parquet(f"{root}/windows.parquet"), pd.read_parquet(f"{root}/scores.parquet"),
        read_json(f"{root}/describe_report.json"),
        f"{root}/clip_emotion", ClipEmotionSettings(**params["corpus"]["emotion"]), params["seed"],
        params["tracking"])
    write_table(estimates, f"{root}/estimates.parquet")
    write_listen_page(manifest, descriptors, estimates, params["paths"]["corpus_plots"] + "/listen.html")
    write_json(f"{params['paths']['metrics']}/corpus.json", metrics)
    print(f"clip emotion ({metrics['timbre_models']['chosen']}) on EMOPIA test by timbre: "
          f"{metrics['timbre_robustness']}; composed pieces: {metrics['composed']}")
