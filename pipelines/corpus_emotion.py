"""DVC stage `corpus_emotion`: a small Lightning model from audio descriptors to valence and
arousal (EMOPIA train split, chosen on val, reported on test), applied to every item."""

import pandas as pd

from _common import stage_params
from emoheal.corpus.descriptors import write_table
from emoheal.corpus.emotion_model import ClipEmotionSettings
from emoheal.corpus.emotion_stage import run_corpus_emotion
from emoheal.corpus.manifest import read_manifest
from emoheal.utils.io import read_json, write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    root = params["paths"]["corpus"]
    estimates, metrics = run_corpus_emotion(
        read_manifest(f"{root}/manifest.parquet"), pd.read_parquet(f"{root}/descriptors.parquet"),
        pd.read_parquet(f"{root}/windows.parquet"), pd.read_parquet(f"{root}/scores.parquet"),
        read_json(f"{root}/describe_report.json"),
        f"{root}/clip_emotion", ClipEmotionSettings(**params["corpus"]["emotion"]), params["seed"],
        params["tracking"])
    write_table(estimates, f"{root}/estimates.parquet")
    write_json(f"{params['paths']['metrics']}/corpus.json", metrics)
    test = metrics["emotion"]["test"]
    print(f"clip emotion on EMOPIA test ({test.get('items', 0)} clips): {test}")
