"""Typed settings: one frozen model per conf/ group (unknown keys refused), validated where a
stage, the CLI or the service reads its parameters. conf/ holds every value; these models hold
none (a key that may be absent is written in conf/ as an explicit null).

    emotion.py    data, backbone, trainer, train; root thresholds, calibration, evaluate
    music.py      kg, corpus, encoder
    retrieval.py  retrieval (also the objects the retrieval code takes at run time)
    service.py    serving, monitoring, safety; a service bundle's settings.json
    root.py       paths, tracking, profile, seed and the whole `Params`
"""

from emoheal.settings.base import ParamsError
from emoheal.settings.retrieval import ScoringSettings, SequenceSettings, SessionSettings
from emoheal.settings.root import GRAPH_FILE, INDEX_DIR, Params, as_settings, load_settings, validate_params
from emoheal.settings.service import Bundle, Serving

__all__ = ["GRAPH_FILE", "INDEX_DIR", "Bundle", "Params", "ParamsError", "ScoringSettings", "SequenceSettings",
           "Serving", "SessionSettings", "as_settings", "load_settings", "validate_params"]
