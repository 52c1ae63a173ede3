"""A service bundle built from real parts: the ci-trained emotion model, the safety model the ci
pipeline's `safety` stage trained, the compiled graph, an index over synthetic items whose audio
files are real FLAC tones, and the serving settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest


def write_tone(path: Path, seconds: float = 4.0, freq: float = 220.0, rate: int = 24000) -> None:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="FLAC")


def make_session_dir(target: Path, graph: dict, items, settings: dict) -> Path:
    from emoheal.kg.graph import write_graph
    from emoheal.retrieval.index import write_items
    from emoheal.utils.io import write_json

    target.mkdir(parents=True, exist_ok=True)
    write_graph(graph, target / "graph.json")
    write_items(items, target / "index")
    for i, rel in enumerate(items["audio_path"]):
        write_tone(target / "media" / rel, freq=110.0 * (1 + i % 7))
    write_json(target / "settings.json", settings)
    return target


@pytest.fixture(scope="session")
def serving_items():
    from tests.code.test_retrieval import synthetic_items

    items = synthetic_items(per_quadrant=8, spread=0.35)
    items["audio_path"] = items["media_path"] = [f"audio/{i}.flac" for i in items["id"]]
    items.loc[0, "media_type"] = "video"  # one item with a (pretend) video track: kind=video must find it
    items.loc[0, "media_path"] = "video/q1_0.mp4"
    items.loc[0, "poster_path"] = "video/q1_0.jpg"
    return items


@pytest.fixture(scope="session")
def bundle(ci_pipeline, kg_graph, serving_items, tmp_path_factory) -> dict:
    from emoheal.bento.store import bundle_settings
    from tests.helpers import compose

    tmp = tmp_path_factory.mktemp("bundle")
    emotion = tmp / "emotion"
    model_root = Path(ci_pipeline["params"]["paths"]["model"])
    shutil.copytree(model_root / "model", emotion / "model")
    for name in ("thresholds.json", "calibration.json"):
        shutil.copy2(model_root / name, emotion / name)
    composed = compose()
    composed["serving"]["store_file"] = str(tmp / "state" / "store.sqlite")
    settings = bundle_settings(composed, kg_graph, "descriptors", "safety-ci")  # as `emoheal bento import` writes
    session = make_session_dir(tmp / "session", kg_graph, serving_items, settings)
    shutil.copytree(ci_pipeline["params"]["safety"]["model"], session / "safety")
    (session / "media" / "video").mkdir(parents=True, exist_ok=True)
    (session / "media" / "video" / "q1_0.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    (session / "media" / "video" / "q1_0.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(32))
    return {"emotion": emotion, "session": session, "settings": settings, "tmp": tmp}
