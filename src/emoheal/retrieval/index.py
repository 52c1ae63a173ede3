"""The retrieval index, built from the corpus by the `build_index` stage and loaded once per
process: the item table (descriptors in target units, valence/arousal estimates), a FAISS
index over standardised descriptor vectors (exact for small corpora, an approximate one by
config for large), and — only when CLaMP 3 vectors exist — a FAISS index over them, kept
with the tags of those vectors. Without CLaMP 3 the backend is "descriptors"; with it,
"hybrid". No random or placeholder vectors, ever."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from emoheal.retrieval.items import item_table, licence_clean, register_calibration
from emoheal.settings.retrieval import IndexSettings
from emoheal.utils.io import write_json

# faiss logs its probing of CPU-specific builds at INFO; that is not news to anyone
logging.getLogger("faiss.loader").setLevel(logging.WARNING)
VECTOR_COLUMNS = ("tempo_bpm", "mode_major", "loudness_lufs", "density_onsets_per_s", "register_midi",
                  "brightness_hz", "valence", "arousal")
FORMAT = "emoheal-index/1"


class IndexLoadError(RuntimeError):
    """The index is missing, malformed, or holds vectors made under other tags."""


def descriptor_vectors(items: pd.DataFrame | np.ndarray, mean: np.ndarray | None = None,
                       scale: np.ndarray | None = None):
    """Unit vectors of standardised descriptors (`items`: a table, or a matrix whose columns are
    VECTOR_COLUMNS), with the mean and scale used."""
    x = np.array(items, dtype=np.float64) if isinstance(items, np.ndarray) else \
        items[list(VECTOR_COLUMNS)].to_numpy(dtype=np.float64)
    x[:, [0, 3, 5]] = np.log2(np.maximum(x[:, [0, 3, 5]], 1e-6))  # tempo, density, brightness heard as ratios
    if mean is None:
        mean, scale = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
        scale[~np.isfinite(scale) | (scale == 0)] = 1.0
    z = np.nan_to_num((x - mean) / scale)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return (z / np.maximum(norms, 1e-12)).astype(np.float32), mean, scale


def _faiss_index(vectors: np.ndarray, kind: str, nlist: int):
    import faiss

    dim = vectors.shape[1]
    if kind == "flat" or len(vectors) < 4 * nlist:
        index = faiss.IndexFlatIP(dim)
    elif kind == "ivf":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown index kind {kind!r}: flat, ivf or hnsw")
    index.add(vectors)
    return index


def _kind(settings: IndexSettings | None, n: int) -> str:
    """Exact (flat) below `exact_below` items, or without settings; else the configured kind."""
    return "flat" if settings is None or n < settings.exact_below else settings.kind


def write_items(items: pd.DataFrame, out_dir: str | Path, settings: IndexSettings | None = None) -> dict:
    """The descriptor part of an index for a ready item table. `settings`: conf/retrieval `index`;
    without them the index is exact (flat), as for the small synthetic corpora of tests."""
    import faiss

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(items):
        unit, mean, scale = descriptor_vectors(items)
    else:
        unit = np.zeros((0, len(VECTOR_COLUMNS)), np.float32)
        mean, scale = np.zeros(len(VECTOR_COLUMNS)), np.ones(len(VECTOR_COLUMNS))
    chosen = _kind(settings, len(items))
    nlist = settings.nlist if settings else 0  # only an IVF index has cells
    faiss.write_index(_faiss_index(unit, chosen, nlist), str(out_dir / "descriptors.faiss"))
    items.to_parquet(out_dir / "items.parquet", index=False)
    meta = {"format": FORMAT, "items": len(items), "left_out": 0, "descriptor_index": chosen,
            "columns": list(VECTOR_COLUMNS), "mean": mean.tolist(), "scale": scale.tolist(),
            "register_calibration": None, "backend": "descriptors", "vector_tags": None}
    write_json(out_dir / "meta.json", meta)
    return meta


def build_index(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame, scores: pd.DataFrame,
                embeddings_dir: str | Path, out_dir: str | Path, settings: IndexSettings,
                cuts: pd.DataFrame | None = None, licence: str = "any") -> dict:
    """`settings`: conf/retrieval `index`. `cuts`: per item id, `cut_points_s` (corpus.cuts) — where
    a session may trim the item; items without any are trimmed with a fade. `licence`:
    "commercial" keeps only licence-clean items (items.CLEAN_SOURCES)."""
    import faiss

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    calibration = register_calibration(descriptors, scores, manifest) if len(scores) else \
        {"slope": 1.0, "intercept": 0.0, "fitted_on": 0, "note": "no scores: no calibration"}
    items = item_table(manifest, descriptors, estimates, calibration)
    described = len(items)
    if licence == "commercial":
        items = items[licence_clean(items)].reset_index(drop=True)
    elif licence != "any":
        raise ValueError(f"licence must be any or commercial, not {licence!r}")
    if cuts is not None:
        found = dict(zip(cuts["id"], cuts["cut_points_s"]))
        items["cut_points_s"] = [list(found[i]) if i in found and found[i] is not None else [] for i in items["id"]]
    meta = write_items(items, out_dir, settings)
    meta.update({"left_out": int(len(manifest) - described), "register_calibration": calibration,
                 "licence": licence, "left_out_by_licence": int(described - len(items)),
                 "by_source": items.groupby("source").size().to_dict() if len(items) else {}})
    report_path = Path(embeddings_dir) / "report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {"backend": "none"}
    for stale in ("clamp3.faiss", "clamp3_ids.json"):
        (out_dir / stale).unlink(missing_ok=True)
    if report.get("backend") == "clamp3" and (Path(embeddings_dir) / "vectors.npy").is_file():
        vectors = np.load(Path(embeddings_dir) / "vectors.npy").astype(np.float32)
        ids = pd.read_parquet(Path(embeddings_dir) / "index.parquet")["id"].tolist()
        keep = [i for i, item in enumerate(ids) if item in set(items["id"])]
        vectors = vectors[keep] / np.maximum(np.linalg.norm(vectors[keep], axis=1, keepdims=True), 1e-12)
        faiss.write_index(_faiss_index(vectors, _kind(settings, len(keep)), settings.nlist),
                          str(out_dir / "clamp3.faiss"))
        (out_dir / "clamp3_ids.json").write_text(json.dumps([ids[i] for i in keep]))
        meta.update({"backend": "hybrid", "vector_tags": report["tags"], "clamp3_items": len(keep)})
    write_json(out_dir / "meta.json", meta)
    return meta


def stage_query(stage: dict, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """A stage's targets as a point in the descriptor space (range centres, the stage's
    valence/arousal), for candidate search in a large index."""
    t = stage["targets"]
    row = np.array([[t["tempo_bpm"], t["mode_major"], t["loudness_lufs"], t["density_onsets_per_s"],
                     t["register_midi"], t["brightness_hz"], stage["valence"], stage["arousal"]]], dtype=np.float64)
    return descriptor_vectors(row, mean, scale)[0]


@dataclass
class RetrievalIndex:
    items: pd.DataFrame
    unit_vectors: np.ndarray
    meta: dict
    clamp3_vectors: np.ndarray | None  # rows aligned with items (NaN rows for items without a vector)
    descriptor_index: object = None  # the FAISS index over unit_vectors

    @property
    def backend(self) -> str:
        return self.meta["backend"]

    def candidates(self, plan: dict, per_stage: int, waypoints: int = 0) -> np.ndarray:
        """Row numbers of the items nearest each stage's targets (FAISS), for large corpora
        where scoring every item would be slow; exact scoring then runs on these. With
        `waypoints`, also the neighbours of that many points along the plan's per-minute path
        (the stage's targets moved to the path's tempo, loudness, density and valence/arousal),
        so a sequence that follows the path finds music for every minute."""
        mean, scale = np.array(self.meta["mean"]), np.array(self.meta["scale"])
        stages = list(plan["stages"])
        path = plan.get("path") or []
        if waypoints and path:
            by_name = {st["name"]: st for st in stages}
            for i in np.unique(np.linspace(0, len(path) - 1, min(waypoints, len(path))).round().astype(int)):
                w = path[i]
                st = by_name[w["stage"]]
                moved = {p: w[p] for p in ("tempo_bpm", "loudness_lufs", "density_onsets_per_s")}
                stages.append({**st, "valence": w["valence"], "arousal": w["arousal"],
                               "targets": {**st["targets"], **moved}})
        queries = np.concatenate([stage_query(st, mean, scale) for st in stages])
        _, rows = self.descriptor_index.search(queries, min(per_stage, len(self.items)))
        return np.unique(rows[rows >= 0])

    @cached_property
    def arrays(self):
        """The item table as numpy columns (made once; see retrieval.sequence)."""
        from emoheal.retrieval.item_arrays import ItemArrays

        return ItemArrays.from_items(self.items)


def load_index(folder: str | Path, expected_tags: dict | None = None) -> RetrievalIndex:
    """Load an index; with `expected_tags` (the configured encoder's), refuse CLaMP 3 vectors
    made under other tags instead of mixing them."""
    import faiss

    folder = Path(folder)
    if not (folder / "meta.json").is_file():
        raise IndexLoadError(f"no retrieval index at {folder}: build it with `dvc repro build_index`")
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise IndexLoadError(f"{folder} holds an index of format {meta.get('format')!r}, expected {FORMAT}")
    items = pd.read_parquet(folder / "items.parquet")
    unit, _, _ = descriptor_vectors(items, np.array(meta["mean"]), np.array(meta["scale"])) if len(items) else \
        (np.zeros((0, len(VECTOR_COLUMNS)), np.float32), None, None)
    clamp3 = None
    if meta["backend"] == "hybrid":
        if expected_tags is not None and meta["vector_tags"] != expected_tags:
            raise IndexLoadError(f"the index's CLaMP 3 vectors were made under other tags ({meta['vector_tags']}) "
                              f"than the configured encoder's ({expected_tags}): rebuild it (`dvc repro`)")
        index = faiss.read_index(str(folder / "clamp3.faiss"))
        vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
        ids = json.loads((folder / "clamp3_ids.json").read_text())
        row = {item: i for i, item in enumerate(ids)}
        clamp3 = np.full((len(items), index.d), np.nan, dtype=np.float32)
        for i, item in enumerate(items["id"]):
            if item in row:
                clamp3[i] = vectors[row[item]]
    return RetrievalIndex(items, unit, meta, clamp3, faiss.read_index(str(folder / "descriptors.faiss")))


@lru_cache(maxsize=2)
def cached_index(folder: str) -> RetrievalIndex:
    """One load per process (the serving process asks many times)."""
    return load_index(folder)
