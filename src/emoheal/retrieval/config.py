"""The retrieval settings from the `retrieval` section of the composed config (conf/retrieval/):
the same validated objects for the evaluation stages, the CLI, the runner and the served Bento
(which carries the `session` and `sequence` sections in its settings.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emoheal.settings.base import validate
from emoheal.settings.retrieval import Retrieval, SequenceSettings, SessionRetrieval, SessionSettings


def settings_from_config(retrieval: SessionRetrieval | Mapping[str, Any],
                         source: str = "retrieval settings") -> tuple[SessionSettings, SequenceSettings]:
    """(one-item session settings, sequence settings) from the `retrieval` settings: the typed
    section, or a mapping of the whole section or of its `session` and `sequence` only (what a
    Bento carries), checked: a bad key is a ParamsError naming `source`."""
    if not isinstance(retrieval, SessionRetrieval):
        whole = isinstance(retrieval, Mapping) and not set(retrieval) <= {"session", "sequence"}
        retrieval = validate(Retrieval if whole else SessionRetrieval, retrieval, source,
                             lambda key: f"retrieval.{key} is defined in conf/retrieval/*.yaml")
    return retrieval.settings()
