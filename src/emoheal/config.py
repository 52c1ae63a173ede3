"""Compose the Hydra configs in conf/ into one plain dict (what DVC writes to params.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf


def compose_params(overrides: list[str] | None = None, config_dir: str | Path = "conf",
                   config_name: str = "config") -> dict[str, Any]:
    config_dir = Path(config_dir).resolve()
    if not (config_dir / f"{config_name}.yaml").is_file():
        raise FileNotFoundError(f"no {config_name}.yaml in {config_dir}")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides or []))
    return OmegaConf.to_container(cfg, resolve=True)


def write_params(params: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(params, sort_keys=False))
