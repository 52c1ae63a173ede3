"""The whole composed config (`params.yaml`): one model per conf/ group plus the root keys of
conf/config.yaml, and where the stages put their outputs inside the configured folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from emoheal.settings.base import Settings, validate
from emoheal.settings.emotion import Backbone, Calibration, Data, Evaluate, ThresholdGrid, Train, Trainer
from emoheal.settings.music import Corpus, Encoder, Kg
from emoheal.settings.retrieval import Retrieval
from emoheal.settings.service import Monitoring, Safety, Serving

# Inside the configured folders (paths.kg, paths.corpus): compile_kg writes the graph, build_index
# the index; the session runner, the bundle import and the evaluation stages read them there.
GRAPH_FILE = "graph.json"
INDEX_DIR = "index"


class Paths(Settings):
    raw: str
    prepared: str
    model: str
    checkpoints: str
    cache: str
    metrics: str
    plots: str
    kg_rules: str
    kg: str
    kg_plots: str
    raw_emopia: str
    gm_programs: str
    corpus: str
    corpus_plots: str
    monitoring: str

    @property
    def graph(self) -> Path:
        """The compiled knowledge graph."""
        return Path(self.kg) / GRAPH_FILE

    @property
    def index(self) -> Path:
        """The retrieval index's folder."""
        return Path(self.corpus) / INDEX_DIR


class Tracking(Settings):
    experiment: str
    registered_model: str
    corpus_experiment: str
    enabled: bool
    # `register` would shadow BaseModel.register: the attribute has another name, the key is the same
    register_model: bool = Field(alias="register")


class Params(Settings):
    data: Data
    backbone: Backbone
    trainer: Trainer
    train: Train
    kg: Kg
    corpus: Corpus
    encoder: Encoder
    retrieval: Retrieval
    serving: Serving
    monitoring: Monitoring
    safety: Safety
    seed: int
    paths: Paths
    thresholds: ThresholdGrid
    calibration: Calibration
    evaluate: Evaluate
    tracking: Tracking
    profile: str


def validate_params(params: Any, source: str | Path = "params") -> Params:
    """The typed settings of a composed params mapping; a ParamsError (a ValueError) names
    `source`, each bad key and the conf/ file that defines it."""
    return validate(Params, params, str(source))


def load_settings(path: str | Path = "params.yaml") -> Params:
    """The typed settings of a composed params file (see `emoheal.utils.io.load_params` for the
    same check returning the plain mapping)."""
    from emoheal.utils.io import read_params_file

    return validate_params(read_params_file(path), path)


def as_settings(params: Params | Any, source: str = "params") -> Params:
    """Settings from either the typed model or a composed mapping (validated)."""
    return params if isinstance(params, Params) else validate_params(params, source)
