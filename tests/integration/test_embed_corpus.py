"""The real `embed_corpus` entry point with a tiny CLaMP 3 (the oracle's weights) and a tiny
MERT: one process and DDP over two CPU processes give the same vectors; vectors are cached
under their tags and never mixed; missing files and encoder=none say what they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emoheal.corpus.manifest import COLUMNS, write_manifest
from emoheal.utils.hashing import sha256_file
from tests.helpers import ROOT, compose, index_settings, retrieval_settings, run_stage, save_mert_like, write_params

FIXTURE = ROOT / "tests" / "fixtures" / "clamp3"
RATE = 24000


def make_corpus(folder: Path) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for i, seconds in enumerate([3.0, 7.5, 12.2, 0.6]):  # the last is too short for a MERT window
        t = np.arange(int(seconds * RATE)) / RATE
        x = (0.2 * np.sin(2 * np.pi * (220 + 110 * i) * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)
        path = folder / f"item{i}.flac"
        sf.write(path, x, RATE, format="FLAC", subtype="PCM_16")
        rows.append({c: None for c in COLUMNS} | {
            "id": f"item{i}", "title": f"item {i}", "media_type": "audio", "audio_path": str(path),
            "media_path": str(path), "duration_s": seconds, "sample_rate": RATE, "content_sha256": sha256_file(path),
            "source": "user", "licence": "test", "split": "user"})
    manifest = pd.DataFrame(rows)
    write_manifest(manifest, folder / "manifest.parquet")
    return manifest


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("embed")
    (tmp / "corpus").mkdir()
    manifest = make_corpus(tmp / "corpus")
    save_mert_like(tmp / "mert")
    (tmp / "tokenizer").mkdir()
    (tmp / "tokenizer" / "tokenizer.json").write_text("{}")  # the audio path only checks it is there
    return tmp, manifest


def _params(tmp: Path, cache: str, **predict) -> Path:
    params = compose("encoder=clamp3", f"paths.corpus={tmp / 'corpus'}", f"paths.cache={tmp / cache}",
                     f"encoder.checkpoint={FIXTURE / 'weights.safetensors'}",
                     f"encoder.config_json={FIXTURE / 'config.json'}", f"encoder.mert={tmp / 'mert'}",
                     f"encoder.tokenizer={tmp / 'tokenizer'}",
                     *(f"encoder.predict.{k}={v}" for k, v in predict.items()))
    return write_params(params, tmp / f"params-{cache}.yaml")


def _outputs(tmp: Path):
    out = tmp / "corpus" / "embeddings"
    return (pd.read_parquet(out / "index.parquet"), np.load(out / "vectors.npy"),
            json.loads((out / "report.json").read_text()))


def test_one_process_then_ddp_on_two_cpu_processes_agree(workspace):
    tmp, manifest = workspace
    run_stage("embed_corpus", _params(tmp, "cache-one", accelerator="cpu", devices=1))
    index, vectors, report = _outputs(tmp)
    assert report["backend"] == "clamp3" and report["dimension"] == 32
    assert list(index["id"]) == ["item0", "item1", "item2"] and vectors.shape == (3, 32)
    assert [f["id"] for f in report["failed"]] == ["item3"] and "shorter than 1 s" in report["failed"][0]["reason"]
    assert report["tags"]["checkpoint_sha256"] == sha256_file(FIXTURE / "weights.safetensors")
    assert report["tags"]["mert_revision"].startswith("sha256:") and "5s-min1s" in report["tags"]["preprocessing"]

    run_stage("embed_corpus", _params(tmp, "cache-ddp", accelerator="cpu", devices=2, strategy="ddp",
                                      num_threads=1), timeout=900)
    index2, vectors2, report2 = _outputs(tmp)
    assert list(index2["id"]) == list(index["id"]) and report2["computed"] == 4
    np.testing.assert_allclose(vectors2, vectors, atol=1e-6)


def test_a_second_run_reads_the_cache_and_new_tags_recompute(workspace):
    tmp, _ = workspace
    params = _params(tmp, "cache-reuse", accelerator="cpu", devices=1)
    run_stage("embed_corpus", params)
    _, first, _ = _outputs(tmp)
    run_stage("embed_corpus", params)
    _, again, report = _outputs(tmp)
    assert report["computed"] == 1 and report["from_cache"] == 3  # only the failing item is retried
    np.testing.assert_array_equal(again, first)
    save_mert_like(tmp / "mert2", seed=1)  # another MERT: other tags, other vectors
    other = compose("encoder=clamp3", f"paths.corpus={tmp / 'corpus'}", f"paths.cache={tmp / 'cache-reuse'}",
                    f"encoder.checkpoint={FIXTURE / 'weights.safetensors'}",
                    f"encoder.config_json={FIXTURE / 'config.json'}", f"encoder.mert={tmp / 'mert2'}",
                    f"encoder.tokenizer={tmp / 'tokenizer'}", "encoder.predict.accelerator=cpu")
    run_stage("embed_corpus", write_params(other, tmp / "other.yaml"))
    _, vectors, report = _outputs(tmp)
    assert report["computed"] == 4 and not np.allclose(vectors, first)


def test_missing_files_name_what_to_get_and_where(workspace, tmp_path):
    tmp, _ = workspace
    params = compose("encoder=clamp3", f"paths.corpus={tmp / 'corpus'}", f"paths.cache={tmp_path}")
    result = run_stage("embed_corpus", write_params(params, tmp_path / "p.yaml"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for fragment in ("models/clamp3/clamp3_saas.pth", "huggingface.co/sander-wood/clamp3", "m-a-p/MERT-v1-95M",
                     "CC-BY-NC-4.0", "xlm-roberta-base"):
        assert fragment in result.stderr, fragment


def test_a_corrupt_checkpoint_is_a_clear_error(workspace, tmp_path):
    tmp, _ = workspace
    (tmp_path / "broken.pth").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    params = compose("encoder=clamp3", f"paths.corpus={tmp / 'corpus'}", f"paths.cache={tmp_path}",
                     f"encoder.checkpoint={tmp_path / 'broken.pth'}", f"encoder.mert={tmp / 'mert'}",
                     f"encoder.tokenizer={tmp / 'tokenizer'}")
    result = run_stage("embed_corpus", write_params(params, tmp_path / "p.yaml"), check=False)
    assert result.returncode == 1 and "not a readable PyTorch checkpoint" in result.stderr


def test_the_offline_default_says_it_does_not_use_clamp3(workspace, tmp_path):
    tmp, _ = workspace
    params = compose(f"paths.corpus={tmp_path}")
    (tmp_path / "manifest.parquet").write_bytes((tmp / "corpus" / "manifest.parquet").read_bytes())
    result = run_stage("embed_corpus", write_params(params, tmp_path / "p.yaml"))
    report = json.loads((tmp_path / "embeddings" / "report.json").read_text())
    assert report["backend"] == "none" and "CLaMP 3 is not used" in result.stdout
    assert not (tmp_path / "embeddings" / "vectors.npy").exists()


def test_a_hybrid_index_scores_prompts_with_the_text_encoder(workspace, planner, tmp_path):
    """End to end on the tiny model: real CLaMP 3 audio vectors (oracle weights, tiny MERT) in
    the index, real prompt vectors from the warm text encoder, the hybrid backend."""
    from emoheal.corpus.describe import DescribeSettings
    from emoheal.corpus.descriptors import describe_manifest
    from emoheal.encoder.clamp3.config import Clamp3Config
    from emoheal.encoder.text import Clamp3TextEncoder
    from emoheal.retrieval.index import build_index, load_index
    from emoheal.retrieval.retrieve import retrieve
    from tests.code.test_clamp3_text import tiny_xlmr_tokenizer

    tmp, manifest = workspace
    run_stage("embed_corpus", _params(tmp, "cache-hybrid", accelerator="cpu", devices=1))
    _, _, report = _outputs(tmp)
    described = manifest[manifest["duration_s"] >= 1.0].reset_index(drop=True)
    descriptors, _, _ = describe_manifest(described.assign(loudness_before_lufs=-30.0), DescribeSettings(), 1)
    # unlabelled tones: the estimate is "neutral" on both axes (the test is about the text path)
    estimates = pd.DataFrame({"id": described["id"], "valence": 0.0, "arousal": 0.0})
    meta = build_index(described.assign(loudness_before_lufs=-30.0), descriptors, estimates,
                       pd.DataFrame(columns=["id", "score_pitch_centroid_midi"]), tmp / "corpus" / "embeddings",
                       tmp_path / "index", index_settings())
    assert meta["backend"] == "hybrid" and meta["clamp3_items"] == 3
    index = load_index(tmp_path / "index", expected_tags=report["tags"])
    tiny_xlmr_tokenizer(tmp_path / "tok")
    encoder = Clamp3TextEncoder(FIXTURE / "weights.safetensors", tmp_path / "tok",
                                Clamp3Config.from_fixture(FIXTURE / "config.json"))
    plan = planner.plan({"neutral": 1.0}, "calm", 10).to_dict()
    result = retrieve(plan, index, retrieval_settings()[0], goal=planner.goals["calm"], text_encoder=encoder)
    assert result["backend"] == "hybrid" and result["index"]["vector_tags"] == report["tags"]
    picked = [s for s in result["stages"] if s["item"]]
    assert picked and all(isinstance(s["score"]["text_cosine"], float) for s in picked)
    assert all(-1.0 <= s["score"]["text_cosine"] <= 1.0 for s in picked)
