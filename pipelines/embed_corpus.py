"""DVC stage `embed_corpus`: CLaMP 3 audio vectors for every corpus item (Lightning
Trainer.predict; cached per item under the model and preprocessing tags). With the offline
default `encoder=none` it makes no vectors and says so."""

import sys
from pathlib import Path

import numpy as np

from _common import stage_params
from emoheal.corpus.manifest import read_manifest
from emoheal.encoder.clamp3.checkpoint import CheckpointError
from emoheal.encoder.files import MissingEncoderFiles, check_encoder_files
from emoheal.encoder.mert import MertError
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    encoder, paths = params["encoder"], params["paths"]
    out = Path(paths["corpus"]) / "embeddings"
    out.mkdir(parents=True, exist_ok=True)
    if encoder["name"] == "none":
        message = ("encoder=none (the offline default): CLaMP 3 is not used and no vectors are made; "
                   "retrieval uses the audio descriptors and valence/arousal estimates only. "
                   "Set encoder=clamp3 with local weights to add CLaMP 3 (see README).")
        for stale in ("vectors.npy", "index.parquet"):
            (out / stale).unlink(missing_ok=True)
        write_json(out / "report.json", {"backend": "none", "message": message})
        print(message)
        sys.exit(0)
    try:
        check_encoder_files(encoder, need_tokenizer=True)
        from emoheal.encoder.embed import embed_corpus

        index, vectors, report = embed_corpus(read_manifest(Path(paths["corpus"]) / "manifest.parquet"), encoder,
                                              encoder["predict"], Path(paths["cache"]) / "clamp3", out)
    except (MissingEncoderFiles, CheckpointError, MertError) as exc:
        print(f"embed_corpus: {exc}", file=sys.stderr)
        sys.exit(1)
    if index is None:  # a non-zero DDP rank: rank 0 writes the outputs
        sys.exit(0)
    np.save(out / "vectors.npy", vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32))
    index.to_parquet(out / "index.parquet", index=False)
    write_json(out / "report.json", {"backend": "clamp3", **report})
    print(f"{report['embedded']}/{report['items']} items embedded ({report['computed']} computed, "
          f"{report['from_cache']} from cache, {len(report['failed'])} failed)")
