"""DVC stage `cut_points`: for every item of the manifest, the quiet frames between notes where
a session may trim it (emoheal.corpus.cuts) → cuts.parquet beside the manifest, joined into the
retrieval index by `build_index`."""

from pathlib import Path

import pandas as pd

from _common import stage_params
from emoheal.corpus.audio import AudioError, read_mono
from emoheal.corpus.cuts import cut_points
from emoheal.corpus.manifest import read_manifest

if __name__ == "__main__":
    params = stage_params(__doc__)
    root = Path(params["paths"]["corpus"])
    cfg = params["corpus"]["cuts"]
    manifest = read_manifest(root / "manifest.parquet")
    rows, unreadable = [], 0
    for item, path in zip(manifest["id"], manifest["audio_path"]):
        try:
            samples, rate = read_mono(path)
        except (AudioError, FileNotFoundError):
            unreadable += 1
            continue
        rows.append({"id": item, "cut_points_s": cut_points(samples, rate, cfg["drop_db"], cfg["min_gap_s"],
                                                            cfg["edge_s"])})
    cuts = pd.DataFrame(rows, columns=["id", "cut_points_s"])
    cuts.to_parquet(root / "cuts.parquet", index=False)
    per_item = [len(c) for c in cuts["cut_points_s"]]
    print(f"cut points: {len(cuts)} items, median {int(pd.Series(per_item).median()) if per_item else 0} "
          f"per item, {unreadable} unreadable")
