"""DVC stage `ingest_media`: the user's own audio and video into the corpus manifest, next to
the rendered EMOPIA clips and the composed pieces, with a report line for every file."""

from _common import stage_params
from emoheal.corpus.ingest import IngestSettings, ingest_folder
from emoheal.corpus.manifest import read_manifest, write_manifest
from emoheal.utils.io import write_json

if __name__ == "__main__":
    import pandas as pd

    params = stage_params(__doc__)
    corpus, root = params["corpus"], params["paths"]["corpus"]
    emopia = read_manifest(f"{root}/emopia/manifest.parquet")
    composed = read_manifest(f"{root}/composed/manifest.parquet")
    rows, report = ingest_folder(corpus["media_dir"], f"{root}/user", IngestSettings(**corpus["ingest"]))
    parts = [part for part in (emopia, composed, pd.DataFrame(rows, columns=emopia.columns)) if len(part)]
    manifest = pd.concat(parts, ignore_index=True) if parts else emopia
    write_manifest(manifest, f"{root}/manifest.parquet")
    skipped = [line for line in report if line["status"] == "skipped"]
    write_json(f"{root}/user/ingest_report.json", {"folder": corpus["media_dir"], "ingested": len(rows),
                                              "skipped": len(skipped), "files": report})
    print(f"manifest: {len(manifest)} items ({len(composed)} composed, {len(rows)} of the user's own; "
          f"{len(skipped)} files skipped, "
          f"see {root}/user/ingest_report.json)")
