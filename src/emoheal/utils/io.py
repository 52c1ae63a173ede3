"""Reading the composed params and writing JSON results atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


def read_params_file(path: str | Path = "params.yaml") -> Any:
    """The YAML of a composed params file, not yet checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: compose it with `make params` (or `dvc exp run`), "
            "or pass --params to a composed file"
        )
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """A composed params file, checked against the settings models (emoheal.settings): an unknown
    key, a value of the wrong type or a missing key raises `ParamsError` (a ValueError) naming
    the file, the dotted key and the conf/ file that defines it. Returns the mapping as read, for
    code that indexes it; `emoheal.settings.load_settings` gives the typed settings."""
    from emoheal.settings import validate_params

    params = read_params_file(path)
    validate_params(params, path)
    return params


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON via a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=2, sort_keys=False, ensure_ascii=False)
            handle.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be read by others (serving, CI)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
