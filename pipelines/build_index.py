"""DVC stage `build_index`: the retrieval index beside the manifest — the item table, a FAISS
index over descriptor vectors, and CLaMP 3 vectors with their tags when the encoder made them."""

from pathlib import Path

import pandas as pd

from _common import stage_params
from emoheal.corpus.manifest import read_manifest
from emoheal.retrieval.index import build_index
from emoheal.settings import INDEX_DIR, as_settings

if __name__ == "__main__":
    params = as_settings(stage_params(__doc__))
    root = Path(params.paths.corpus)
    meta = build_index(read_manifest(root / "manifest.parquet"), pd.read_parquet(root / "descriptors.parquet"),
                       pd.read_parquet(root / "estimates.parquet"), pd.read_parquet(root / "scores.parquet"),
                       root / "embeddings", root / INDEX_DIR, params.retrieval.index,
                       cuts=pd.read_parquet(root / "cuts.parquet"), licence=params.corpus.licence)
    print(f"index: {meta['items']} items ({meta['left_out']} not described, {meta['left_out_by_licence']} left out "
          f"by licence {meta['licence']}), backend {meta['backend']}, descriptor index {meta['descriptor_index']}")
