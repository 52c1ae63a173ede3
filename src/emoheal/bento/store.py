"""Import what the service needs into the BentoML model store, as two versioned models:

- `emoheal-emotion`: the registry's `champion` version of the emotion model (downloaded from
  MLflow, never the working tree's copy), its ONNX export and the int8/fp32 choice made by a
  parity check on the test split;
- `emoheal-session`: the compiled graph, the retrieval index, the media files its items point
  to (same relative paths), the crisis screen's safety model (`safety/`) and the serving settings.

`bentoml build` then bundles both into the Bento. Nothing here downloads from a hub.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from emoheal import __version__
from emoheal.kg.graph import graph_version
from emoheal.settings import GRAPH_FILE, INDEX_DIR
from emoheal.tracking.runs import flatten
from emoheal.utils.io import read_json, write_json

log = logging.getLogger(__name__)
EMOTION_MODEL = "emoheal-emotion"
SESSION_MODEL = "emoheal-session"
SETTINGS_FILE = "settings.json"
SAFETY_DIR = "safety"  # the crisis screen's model inside the session bundle
MEDIA_DIR = "media"  # the items' files, under their paths relative to the project root
MEDIA_COLUMNS = ("media_path", "audio_path", "poster_path")


class BundleError(RuntimeError):
    """Something the Bento needs is missing or inconsistent."""


def champion_folder(name: str, alias: str, dst: Path) -> tuple[Path, dict[str, Any]]:
    """Download the model version behind `alias`; (folder with model/ + thresholds + calibration, provenance)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from emoheal.tracking.runs import tracking_uri

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise BundleError(
            f"no {alias!r} version of {name!r} in the MLflow registry at {uri}: train and evaluate one "
            f"(`make run`; the first registered version becomes champion) or set the alias in the MLflow UI"
        ) from exc
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}@{alias}", dst_path=str(dst)))
    folder = local / "artifacts" / "emotion_model"
    if not (folder / "model").is_dir():
        raise BundleError(f"{name} version {version.version} has no artifacts/emotion_model folder")
    meta = read_json(folder / "model" / "emotion_model.json")
    tagged = version.tags.get("model_version")
    if tagged and tagged != meta["version"]:
        raise BundleError(f"{name} v{version.version} is tagged {tagged} but holds {meta['version']}")
    provenance = {"registered_model": name, "registry_version": str(version.version), "alias": alias,
                  "run_id": version.run_id, "tracking_uri": uri, "model_version": meta["version"],
                  "backbone": meta.get("backbone"), "multilingual": bool(meta.get("multilingual", False)),
                  **{f"tag_{k}": v for k, v in version.tags.items()},
                  "warnings": _provenance_warnings(client, version)}
    return folder, provenance


def _provenance_warnings(client: Any, version: Any) -> list[str]:
    """What the service must say about where its model came from: a registered version whose training
    run could not be found (then or now) has no curves or config to trace it back to."""
    from mlflow.exceptions import MlflowException

    from emoheal.tracking.registry import MISSING_RUN_TAG

    warnings = [version.tags[MISSING_RUN_TAG]] if MISSING_RUN_TAG in version.tags else []
    try:
        client.get_run(version.run_id)
    except MlflowException:
        warnings.append(f"registry version {version.version}: run {version.run_id} is not in the tracking store")
    return warnings


def export_runtime(folder: Path, out: Path, prepared: str | Path | None, max_f1_drop: float,
                   grid: dict[str, Any] | None = None) -> dict[str, Any]:
    """ONNX export next to the model; int8 only when the test split's macro-F1 stays within the margin.

    With a prepared dev split, the int8 graph first gets its own temperature and thresholds fitted on dev
    (`grid`: the params' `thresholds` section), and is scored on test with them."""
    from emoheal.emotion.onnx_export import choose_runtime, export_onnx, parity, tune_int8

    exported = export_onnx(folder, out, quantize=True)
    test = Path(prepared or "", "test.parquet")
    if not prepared or not test.is_file():
        log.warning("no prepared test split at %s: serving the fp32 ONNX model without a parity check", test)
        return {"runtime": "onnx", "parity": None, "export": exported}
    labels = read_json(folder / "model" / "emotion_model.json")["labels"]
    dev = Path(prepared, "dev.parquet")
    if dev.is_file():
        frame = pd.read_parquet(dev)
        tune_int8(folder, out, frame["text"].tolist(), frame[labels].to_numpy(), grid)
    frame = pd.read_parquet(test)
    report = parity(folder, out, frame["text"].tolist(), frame[labels].to_numpy())
    return {"runtime": choose_runtime(report, max_f1_drop), "parity": report, "export": exported}


def media_files(items: pd.DataFrame) -> list[str]:
    """Every file the items point to, as stored (relative to the project root)."""
    files = set()
    for column in MEDIA_COLUMNS:
        if column in items:
            files.update(p for p in items[column].dropna().astype(str) if p)
    return sorted(files)


def bundle_settings(params: dict[str, Any], graph_doc: dict[str, Any], index_backend: str | None,
                    safety_version: str) -> dict[str, Any]:
    """The session bundle's settings.json: conf/serving, the retrieval sections that choose the music
    (they travel with the bundle, so the service lays out tracks as configured) and provenance."""
    from emoheal.settings import Bundle
    from emoheal.settings.base import validate

    settings = {**params["serving"], "retrieval": {k: params["retrieval"][k] for k in ("session", "sequence")},
                "emoheal": __version__, "graph_version": graph_version(graph_doc), "index_backend": index_backend,
                "safety_model": safety_version}
    validate(Bundle, settings, SETTINGS_FILE)  # never write a bundle the service would refuse
    return settings


def import_models(params: dict[str, Any], alias: str = "champion", root: str | Path = ".",
                  onnx: bool = True) -> dict[str, str]:
    """Create both BentoML models; returns their tags."""
    import bentoml

    paths, serving = params["paths"], params["serving"]
    root = Path(root)
    graph = root / paths["kg"] / GRAPH_FILE
    index = root / paths["corpus"] / INDEX_DIR
    safety = root / params["safety"]["model"]
    for need, how in ((graph, "dvc repro compile_kg"), (index / "items.parquet", "dvc repro build_index"),
                      (safety / "classifier.json", "dvc repro safety")):
        if not need.is_file():
            raise BundleError(f"{need} is missing: run `{how}` (or `make run`) first")
    items = pd.read_parquet(index / "items.parquet")
    media = media_files(items)
    missing = [m for m in media if not (root / m).is_file()]
    if missing:
        raise BundleError(f"{len(missing)} media files the index points to are missing (first: {missing[0]}): "
                          "run `dvc repro` (or `dvc pull`) to restore the corpus")

    tags = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder, provenance = champion_folder(params["tracking"]["registered_model"], alias, Path(tmp))
        runtime = {"runtime": "torch", "parity": None}
        if onnx:
            runtime = export_runtime(folder, folder / "onnx", root / paths["prepared"],
                                     serving["detector"]["max_f1_drop"], params["thresholds"])
        labels = {"model_version": provenance["model_version"], "registry_version": provenance["registry_version"],
                  "alias": alias, "runtime": runtime["runtime"]}
        record = json.loads(json.dumps({**provenance, **runtime}, default=str))  # plain types only
        metadata = {k: v for k, v in record.items() if isinstance(v, (str, int, float, bool)) or v is None}
        if record.get("parity"):
            metadata.update({k: v for k, v in flatten(record["parity"], "parity.").items()
                             if isinstance(v, (int, float, str, bool))})
        with bentoml.models.create(EMOTION_MODEL, labels=labels, metadata=metadata,
                                   module="emoheal.bento.store") as model:
            shutil.copytree(folder, model.path, dirs_exist_ok=True)
            write_json(Path(model.path) / "bundle.json", record)
        tags["emotion"] = str(model.tag)

    graph_doc = read_json(graph)
    index_meta = read_json(index / "meta.json")
    safety_version = read_json(safety / "classifier.json")["version"]
    settings = bundle_settings(params, graph_doc, index_meta.get("backend"), safety_version)
    labels = {"graph": graph_version(graph_doc), "items": str(len(items)), "emoheal": __version__,
              "safety_model": safety_version}
    with bentoml.models.create(SESSION_MODEL, labels=labels, metadata={"graph_hash": graph_doc.get("hash"),
                               "items": len(items), "media_files": len(media)},
                               module="emoheal.bento.store") as model:
        target = Path(model.path)
        shutil.copy2(graph, target / GRAPH_FILE)
        shutil.copytree(index, target / INDEX_DIR)
        shutil.copytree(safety, target / SAFETY_DIR)
        for rel in media:
            dst = target / MEDIA_DIR / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, dst)
        write_json(target / SETTINGS_FILE, settings)
    tags["session"] = str(model.tag)
    return tags
