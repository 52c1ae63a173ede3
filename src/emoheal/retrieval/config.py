"""The retrieval settings from the `retrieval` section of the composed config (conf/retrieval/):
the same values for the evaluation stages, the CLI, the runner and the served Bento."""

from __future__ import annotations

from pathlib import Path

from emoheal.retrieval.assemble import SessionSettings
from emoheal.retrieval.scoring import ScoringSettings
from emoheal.retrieval.sequence import SequenceSettings


def settings_from_config(retrieval: dict) -> tuple[SessionSettings, SequenceSettings]:
    """(one-item session settings, sequence settings) from a `retrieval` config mapping."""
    session = dict(retrieval["session"])
    one_item = SessionSettings(**{**session, "scoring": ScoringSettings.from_dict(session.pop("scoring", None))})
    return one_item, SequenceSettings.from_session(one_item, retrieval.get("sequence"))


def sequence_settings_from_params(path: str | Path = "params.yaml") -> SequenceSettings:
    """The sequence settings of a composed params file; a missing file is an error that says how
    to make one (the defaults would quietly differ from a tuned config)."""
    from emoheal.utils.io import load_params

    return settings_from_config(load_params(path)["retrieval"])[1]
