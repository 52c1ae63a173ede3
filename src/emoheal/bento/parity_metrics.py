"""`metrics/onnx_parity.json`: the ONNX parity check of `emoheal bento import`, as a committed metrics file.

The import scores fp32 and int8 ONNX against eager PyTorch on the test split and keeps the result in
the emotion model's `bundle.json`, inside the BentoML store — git-ignored and local to one machine. The
README quotes that result (int8 keeps the test macro-F1), so the import also writes it here, beside
the other metrics, where git keeps it and `tests/code/test_readme_figures.py` can check the quote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emoheal.utils.io import read_json, write_json

PARITY_FILE = "onnx_parity.json"
BUNDLE_FILE = "bundle.json"  # what store.import_models writes into the emoheal-emotion model
# which registry version was measured: enough to tie the figures to metrics/emotion.json and MLflow
PROVENANCE_KEYS = ("registered_model", "registry_version", "alias", "run_id", "model_version")


def parity_metrics(bundle: dict[str, Any]) -> dict[str, Any] | None:
    """The metrics file's content from a bundle.json record; None when the import measured no parity
    (`--no-onnx`, or no prepared test split), so that an old, still true file is not overwritten."""
    if not bundle.get("parity"):
        return None
    return {**{key: bundle.get(key) for key in PROVENANCE_KEYS},
            "runtime": bundle.get("runtime"),  # what the service runs: int8 only within the margin
            "command": "emoheal bento import (make bento-models)",
            "parity": bundle["parity"]}


def bundle_of(tag: str) -> dict[str, Any]:
    """bundle.json of an emoheal-emotion model in the BentoML store ($BENTOML_HOME)."""
    import bentoml

    return read_json(Path(bentoml.models.get(tag).path) / BUNDLE_FILE)


def write_parity_metrics(bundle: dict[str, Any], metrics_dir: str | Path) -> Path | None:
    """Write `<metrics_dir>/onnx_parity.json`; its path, or None when there was nothing to write."""
    content = parity_metrics(bundle)
    if content is None:
        return None
    path = Path(metrics_dir) / PARITY_FILE
    write_json(path, content)
    return path
