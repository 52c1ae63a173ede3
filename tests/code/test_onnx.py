"""ONNX export and OnnxEmotionPredictor on a tiny untrained model (seconds, offline).

The tiny model is the `tiny` backbone (a small XLM-R with a Unigram tokenizer) with a head scaled up so
probabilities spread over (0, 1) and labels flip on both sides of the thresholds.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
import torch
from sklearn.metrics import f1_score

from emoheal.emotion.artifacts import ModelFolderError, save_model_folder
from emoheal.emotion.backbone import build_tiny_encoder, train_unigram_tokenizer
from emoheal.emotion.calibration import apply_temperature, fit_temperature
from emoheal.emotion.model import EmotionClassifier
from emoheal.emotion.onnx_export import (
    INT8_FILE,
    INT8_TUNING,
    ONNX_FILE,
    ONNX_META,
    THRESHOLD_GRID,
    choose_runtime,
    export_onnx,
    parity,
    tune_int8,
)
from emoheal.emotion.onnx_predictor import OnnxEmotionPredictor
from emoheal.emotion.predictor import EmotionPredictor
from emoheal.emotion.thresholds import threshold_grid, tune_thresholds
from emoheal.utils.hashing import sha256_file
from emoheal.utils.io import write_json
from tests.helpers import compose

MAX_LENGTH = 16
LABELS = [f"label{i}" for i in range(27)] + ["neutral"]
WORDS = "calm sad happy angry proud scared tired glad sorry thanks love hate fine okay really very so not".split()
TEXTS = [
    "thanks",
    "I am so happy and glad today",
    "not okay",
    " ".join(WORDS * 3),  # longer than MAX_LENGTH tokens: truncated
    "really very tired and sorry",
]


def _corpus() -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=rng.integers(2, 12))) for _ in range(300)]


def _tiny_model(folder, pooling: str, seed: int = 0) -> dict:
    cfg = compose("backbone=tiny")["backbone"]
    tokenizer = train_unigram_tokenizer(_corpus(), 120)
    torch.manual_seed(seed)
    encoder = build_tiny_encoder(cfg, tokenizer, MAX_LENGTH)
    classifier = EmotionClassifier(encoder, len(LABELS), pooling).eval()
    with torch.no_grad():
        classifier.head.weight.normal_(0.0, 0.3)
        classifier.head.bias.normal_(0.0, 0.3)
    meta = {"labels": LABELS, "backbone": "tiny", "pooling": pooling, "max_length": MAX_LENGTH,
            "multilingual": False, "dropout": 0.1}
    meta = save_model_folder(folder / "model", classifier, tokenizer, meta)
    rng = np.random.default_rng(seed)
    write_json(folder / "thresholds.json", {
        "model_version": meta["version"],
        "thresholds": {name: round(float(t), 2) for name, t in zip(LABELS, rng.uniform(0.3, 0.7, len(LABELS)))},
    })
    write_json(folder / "calibration.json", {"model_version": meta["version"], "temperature": 1.3})
    return meta


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_model")
    meta = _tiny_model(root, "mean")
    onnx_dir = root.parent / f"{root.name}_onnx"
    info = export_onnx(root, onnx_dir)
    return {"root": root, "meta": meta, "onnx_dir": onnx_dir, "info": info,
            "eager": EmotionPredictor(root, batch_size=2),
            "fp32": OnnxEmotionPredictor(root, onnx_dir / ONNX_FILE, threads=1, batch_size=2),
            "int8": OnnxEmotionPredictor(root, onnx_dir / INT8_FILE, threads=1, batch_size=2)}


def test_fp32_logits_equal_eager_for_batch_1_and_5_with_truncation(tiny):
    eager, fp32 = tiny["eager"], tiny["fp32"]
    for texts in (TEXTS[:1], TEXTS[3:4], TEXTS):
        want, want_lengths = eager.logits(texts)
        got, got_lengths = fp32.logits(texts)
        np.testing.assert_array_equal(got_lengths, want_lengths)
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    assert fp32.logits(TEXTS)[1][3] > MAX_LENGTH  # the long text really is truncated
    # the same graph takes the largest batch and the shortest sequence too
    wide = OnnxEmotionPredictor(tiny["root"], tiny["onnx_dir"] / ONNX_FILE, threads=1)
    texts = [TEXTS[i % len(TEXTS)] for i in range(64)] + ["a"]
    np.testing.assert_allclose(wide.logits(texts)[0], eager.logits(texts)[0], atol=1e-4, rtol=0)


def test_predict_matches_eager_on_fp32(tiny):
    want = tiny["eager"].predict(TEXTS)
    got = tiny["fp32"].predict(TEXTS)
    assert [p.labels for p in got] == [p.labels for p in want]
    assert any(p.labels for p in want) and not all(len(p.labels) == len(LABELS) for p in want)
    assert [p.truncated for p in got] == [p.truncated for p in want]
    assert got[3].truncated and not got[0].truncated
    assert [p.tokens for p in got] == [p.tokens for p in want]
    assert all(p.model_version == tiny["meta"]["version"] for p in got)
    assert tiny["fp32"].calibrated and tiny["fp32"].temperature == pytest.approx(1.3)
    for a, b in zip(got, want):
        assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in LABELS) < 1e-5


def test_int8_probabilities_are_close(tiny):
    eager, int8 = tiny["eager"], tiny["int8"]
    want = eager.probabilities(eager.logits(TEXTS)[0])
    got = int8.probabilities(int8.logits(TEXTS)[0])
    assert np.abs(got - want).max() < 0.05
    ops = {node.op_type for node in onnx.load(str(tiny["onnx_dir"] / INT8_FILE)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops  # really quantised, not a copy of fp32
    # the FFN output projections of the first layers stay fp32 (the tiny model has two layers)
    kept = {f"/encoder/encoder/layer.{i}/output/dense/MatMul" for i in range(2)}
    assert tiny["info"]["quantization"]["nodes_to_exclude"] == sorted(kept)
    int8_nodes = {node.name: node.op_type for node in onnx.load(str(tiny["onnx_dir"] / INT8_FILE)).graph.node}
    assert all(int8_nodes.get(name) == "MatMul" for name in kept)
    assert tiny["fp32"].runtime == "onnx" and int8.runtime == "onnx-int8"


def test_onnx_model_json_records_what_was_exported(tiny):
    info, onnx_dir = tiny["info"], tiny["onnx_dir"]
    on_disk = json.loads((onnx_dir / ONNX_META).read_text())
    assert on_disk == info
    assert sorted(p.name for p in onnx_dir.iterdir()) == sorted([ONNX_FILE, INT8_FILE, ONNX_META])
    assert info["model_version"] == tiny["meta"]["version"] and info["opset"] >= 14
    assert info["quantization"]["weight_type"] == "QInt8" and "per_channel" in info["quantization"]
    for name in (ONNX_FILE, INT8_FILE):
        assert info["files"][name]["sha256"] == sha256_file(onnx_dir / name)


def test_export_without_quantisation_and_with_cls_pooling(tmp_path):
    _tiny_model(tmp_path / "cls", "cls", seed=1)
    info = export_onnx(tmp_path / "cls", tmp_path / "onnx", quantize=False)
    assert list(info["files"]) == [ONNX_FILE] and info["quantization"] is None
    assert not (tmp_path / "onnx" / INT8_FILE).exists()
    eager = EmotionPredictor(tmp_path / "cls")
    fp32 = OnnxEmotionPredictor(tmp_path / "cls" / "model", tmp_path / "onnx" / ONNX_FILE)  # model/ itself
    np.testing.assert_allclose(fp32.logits(TEXTS)[0], eager.logits(TEXTS)[0], atol=1e-4, rtol=0)


def test_an_explicit_exclusion_of_a_node_the_graph_lacks_is_refused(tiny, tmp_path):
    with pytest.raises(ValueError, match="layer.7"):
        export_onnx(tiny["root"], tmp_path / "onnx",
                    quantization={"nodes_to_exclude": ["/encoder/encoder/layer.7/output/dense/MatMul"]})


def test_an_export_of_another_model_version_is_refused(tiny, tmp_path):
    other = tmp_path / "onnx"
    shutil.copytree(tiny["onnx_dir"], other)
    info = json.loads((other / ONNX_META).read_text())
    info["model_version"] = "emotion-tiny-000000000000"
    (other / ONNX_META).write_text(json.dumps(info))
    with pytest.raises(ModelFolderError) as caught:
        OnnxEmotionPredictor(tiny["root"], other / ONNX_FILE)
    message = str(caught.value)
    assert "emotion-tiny-000000000000" in message and tiny["meta"]["version"] in message
    assert "python -m emoheal.emotion.onnx_export" in message


def test_a_missing_onnx_file_is_refused_naming_the_export_command(tiny, tmp_path):
    with pytest.raises(ModelFolderError) as caught:
        OnnxEmotionPredictor(tiny["root"], tmp_path / "nowhere" / ONNX_FILE)
    message = str(caught.value)
    assert "not found" in message and "python -m emoheal.emotion.onnx_export" in message
    shutil.copy(tiny["onnx_dir"] / ONNX_FILE, tmp_path / ONNX_FILE)  # a graph without its onnx_model.json
    with pytest.raises(ModelFolderError, match=ONNX_META):
        OnnxEmotionPredictor(tiny["root"], tmp_path / ONNX_FILE)


def test_parity_report_and_runtime_choice(tiny):
    texts = [TEXTS[i % len(TEXTS)] + f" {WORDS[i % len(WORDS)]}" for i in range(12)]
    targets = np.random.default_rng(0).integers(0, 2, size=(len(texts), len(LABELS)))
    report = parity(tiny["root"], tiny["onnx_dir"], texts, targets, threads=1)
    assert set(report["macro_f1"]) == {"torch", "onnx", "onnx-int8"}
    assert set(report["max_abs_prob_diff"]) == {"onnx", "onnx-int8"}
    assert report["macro_f1"]["onnx"] == pytest.approx(report["macro_f1"]["torch"])
    assert report["max_abs_prob_diff"]["onnx"] < 1e-4 and report["max_abs_prob_diff"]["onnx-int8"] < 0.05
    assert report["int8_f1_drop"] == pytest.approx(report["macro_f1"]["torch"] - report["macro_f1"]["onnx-int8"])
    assert report["rows"] == len(texts) and report["model_version"] == tiny["meta"]["version"]
    assert report["int8_thresholds"] == "eager (dev)" and "int8_eager_thresholds" not in report  # not tuned

    assert choose_runtime({"f1_drop": {"onnx": 0.0, "onnx-int8": 0.004}}) == "onnx-int8"
    assert choose_runtime({"f1_drop": {"onnx": 0.0, "onnx-int8": 0.005}}) == "onnx-int8"
    assert choose_runtime({"f1_drop": {"onnx": 0.0, "onnx-int8": -0.01}}) == "onnx-int8"
    assert choose_runtime({"f1_drop": {"onnx": 0.0, "onnx-int8": 0.006}}) == "onnx"
    assert choose_runtime({"f1_drop": {"onnx": 0.0, "onnx-int8": 0.006}}, max_f1_drop=0.01) == "onnx-int8"
    assert choose_runtime({"f1_drop": {"onnx": 0.0}}) == "onnx"


def _dev_split(n: int = 60) -> tuple[list[str], np.ndarray]:
    """Labelled 'dev' texts for the tiny model: every label has positives."""
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(2, 12))) for _ in range(n)]
    targets = (rng.random((n, len(LABELS))) < 0.3).astype(np.uint8)
    targets[np.arange(len(LABELS)) % n, np.arange(len(LABELS))] = 1
    return texts, targets


@pytest.fixture
def tuned(tiny, tmp_path):
    """A copy of the tiny export with int8_tuning.json fitted on a small dev split."""
    onnx_dir = tmp_path / "onnx"
    shutil.copytree(tiny["onnx_dir"], onnx_dir)
    texts, targets = _dev_split()
    tuning = tune_int8(tiny["root"], onnx_dir, texts, targets, threads=1)
    return {"dir": onnx_dir, "tuning": tuning, "texts": texts, "targets": targets}


def _rewrite_tuning(onnx_dir, rehash: bool = True, **changes) -> None:
    """Change int8_tuning.json (and, with rehash, its hash in onnx_model.json, as tune_int8 would)."""
    tuning = {**json.loads((onnx_dir / INT8_TUNING).read_text()), **changes}
    write_json(onnx_dir / INT8_TUNING, tuning)
    if rehash:
        info = json.loads((onnx_dir / ONNX_META).read_text())
        info["tuning"][INT8_TUNING]["sha256"] = sha256_file(onnx_dir / INT8_TUNING)
        write_json(onnx_dir / ONNX_META, info)


def test_the_default_grid_is_the_thresholds_stage_grid():
    cfg = compose()["thresholds"]
    assert THRESHOLD_GRID == {k: cfg[k] for k in THRESHOLD_GRID}


def test_tune_int8_fits_temperature_and_grid_thresholds_on_dev_as_the_thresholds_stage(tiny, tuned):
    tuning, onnx_dir = tuned["tuning"], tuned["dir"]
    assert json.loads((onnx_dir / INT8_TUNING).read_text()) == tuning
    assert tuning["model_version"] == tiny["meta"]["version"]
    assert tuning["runtime"] == "onnx-int8" and tuning["tuned_on"] == "dev" and tuning["dev_rows"] == 60
    grid = threshold_grid(THRESHOLD_GRID)
    assert list(tuning["thresholds"]) == LABELS
    assert all(np.isclose(grid, t).any() for t in tuning["thresholds"].values())
    assert 0.0 <= tuning["dev_macro_f1"] <= 1.0 and tuning["temperature"] > 0

    # the same as the thresholds stage computes, on the int8 graph's dev logits
    raw = OnnxEmotionPredictor(tiny["root"], onnx_dir / INT8_FILE, threads=1, own_tuning=False)
    logits = raw.logits(tuned["texts"])[0]
    temperature = fit_temperature(logits, tuned["targets"])
    want, _ = tune_thresholds(apply_temperature(logits, temperature), tuned["targets"], grid, 0.5)
    assert tuning["temperature"] == pytest.approx(temperature)
    np.testing.assert_array_equal([tuning["thresholds"][k] for k in LABELS], want)

    info = json.loads((onnx_dir / ONNX_META).read_text())
    assert info["tuning"][INT8_TUNING]["sha256"] == sha256_file(onnx_dir / INT8_TUNING)
    assert tuning["onnx_sha256"] == info["files"][INT8_FILE]["sha256"]
    # a new export drops the tuning of the old graph
    export_onnx(tiny["root"], onnx_dir)
    assert not (onnx_dir / INT8_TUNING).exists()
    assert "tuning" not in json.loads((onnx_dir / ONNX_META).read_text())


def test_the_int8_predictor_uses_its_own_thresholds(tiny, tuned):
    root, onnx_dir, tuning = tiny["root"], tuned["dir"], tuned["tuning"]
    int8 = OnnxEmotionPredictor(root, onnx_dir / INT8_FILE, threads=1)
    assert int8.tuning == "own" and int8.calibrated
    np.testing.assert_array_equal(int8.thresholds, [tuning["thresholds"][k] for k in LABELS])
    assert int8.temperature == pytest.approx(tuning["temperature"])
    probs = apply_temperature(int8.logits(TEXTS)[0], tuning["temperature"])
    got = int8.predict(TEXTS)
    assert [set(p.labels) for p in got] == [{LABELS[j] for j in np.flatnonzero(row >= int8.thresholds)}
                                           for row in probs]
    # fp32 beside it, and int8 with own_tuning=False, keep the model's
    fp32 = OnnxEmotionPredictor(root, onnx_dir / ONNX_FILE, threads=1)
    plain = OnnxEmotionPredictor(root, onnx_dir / INT8_FILE, threads=1, own_tuning=False)
    assert fp32.tuning == "eager" == plain.tuning == tiny["int8"].tuning
    np.testing.assert_array_equal(plain.thresholds, tiny["eager"].thresholds)

    # labels follow the tuning file's thresholds
    _rewrite_tuning(onnx_dir, thresholds=dict.fromkeys(LABELS, 0.0))
    assert all(len(p.labels) == len(LABELS) for p in OnnxEmotionPredictor(root, onnx_dir / INT8_FILE).predict(TEXTS))
    _rewrite_tuning(onnx_dir, thresholds=dict.fromkeys(LABELS, 1.01))
    assert not any(p.labels for p in OnnxEmotionPredictor(root, onnx_dir / INT8_FILE).predict(TEXTS))


def test_a_tuning_file_for_another_model_or_graph_is_refused(tiny, tuned):
    root, onnx_dir = tiny["root"], tuned["dir"]
    _rewrite_tuning(onnx_dir, model_version="emotion-tiny-000000000000")
    with pytest.raises(ModelFolderError) as caught:
        OnnxEmotionPredictor(root, onnx_dir / INT8_FILE)
    message = str(caught.value)
    assert "emotion-tiny-000000000000" in message and tiny["meta"]["version"] in message and "tune_int8" in message
    assert OnnxEmotionPredictor(root, onnx_dir / ONNX_FILE).tuning == "eager"  # fp32 does not read it

    _rewrite_tuning(onnx_dir, model_version=tiny["meta"]["version"], onnx_sha256="0" * 64)
    with pytest.raises(ModelFolderError, match="another model.int8.onnx"):
        OnnxEmotionPredictor(root, onnx_dir / INT8_FILE)
    _rewrite_tuning(onnx_dir, rehash=False, onnx_sha256=tuned["tuning"]["onnx_sha256"])
    with pytest.raises(ModelFolderError, match="changed after tuning"):
        OnnxEmotionPredictor(root, onnx_dir / INT8_FILE)
    info = json.loads((onnx_dir / ONNX_META).read_text())
    del info["tuning"]
    write_json(onnx_dir / ONNX_META, info)
    with pytest.raises(ModelFolderError, match="not listed"):
        OnnxEmotionPredictor(root, onnx_dir / INT8_FILE)


def test_parity_tunes_int8_on_dev_and_scores_it_with_its_own_thresholds(tiny, tmp_path):
    onnx_dir = tmp_path / "onnx"
    shutil.copytree(tiny["onnx_dir"], onnx_dir)
    texts = [TEXTS[i % len(TEXTS)] + f" {WORDS[i % len(WORDS)]}" for i in range(12)]
    targets = np.random.default_rng(0).integers(0, 2, size=(len(texts), len(LABELS)))
    dev_texts, dev_targets = _dev_split()
    report = parity(tiny["root"], onnx_dir, texts, targets, threads=1, dev_texts=dev_texts, dev_targets=dev_targets)
    assert (onnx_dir / INT8_TUNING).is_file()
    assert report["thresholds"] == {"torch": "eager (dev)", "onnx": "eager (dev)", "onnx-int8": "own (dev)"}
    assert report["int8_thresholds"] == "own (dev)"
    tuning = json.loads((onnx_dir / INT8_TUNING).read_text())
    int8 = OnnxEmotionPredictor(tiny["root"], onnx_dir / INT8_FILE, threads=1)
    probs = apply_temperature(int8.logits(texts)[0], tuning["temperature"])
    want = f1_score(targets, probs >= [tuning["thresholds"][k] for k in LABELS], average="macro", zero_division=0)
    assert report["macro_f1"]["onnx-int8"] == pytest.approx(want)
    assert report["int8_f1_drop"] == pytest.approx(report["macro_f1"]["torch"] - want)
    with_eager = report["int8_eager_thresholds"]
    assert with_eager["f1_drop"] == pytest.approx(report["macro_f1"]["torch"] - with_eager["macro_f1"])
    with pytest.raises(ValueError, match="both"):
        parity(tiny["root"], onnx_dir, texts, targets, dev_texts=dev_texts)


def test_a_model_calibrated_per_label_gets_int8_tuning_of_the_same_kind(tiny, tmp_path):
    """The int8 graph's own tuning follows the eager model's calibration method, and its predictor
    applies the per-label scales and biases it wrote."""
    root = tmp_path / "model_root"
    shutil.copytree(tiny["root"], root)
    scale = {name: 1.0 + 0.1 * j for j, name in enumerate(LABELS)}
    write_json(root / "calibration.json", {"model_version": tiny["meta"]["version"], "method": "per_label",
                                           "scale": scale, "bias": {name: -0.5 for name in LABELS}})
    eager = EmotionPredictor(root)
    assert eager.calibrator.method == "per_label" and eager.temperature is None
    logits = eager.logits(TEXTS)[0]
    np.testing.assert_allclose(eager.probabilities(logits),
                               1 / (1 + np.exp(-(logits * np.array(list(scale.values())) - 0.5))))
    onnx_dir = tmp_path / "onnx"
    export_onnx(root, onnx_dir)
    texts, targets = _dev_split()
    tuning = tune_int8(root, onnx_dir, texts, targets, threads=1)
    assert tuning["method"] == "per_label" and "temperature" not in tuning
    assert set(tuning["scale"]) == set(tuning["bias"]) == set(LABELS)
    int8 = OnnxEmotionPredictor(root, onnx_dir / INT8_FILE, threads=1)
    assert int8.tuning == "own" and int8.calibrator.method == "per_label"
    probs = int8.probabilities(int8.logits(TEXTS)[0])
    assert [set(p.labels) for p in int8.predict(TEXTS)] == [
        {LABELS[j] for j in np.flatnonzero(row >= int8.thresholds)} for row in probs]
    # a per-label file missing a label's scale is refused with what to do
    _rewrite_tuning(onnx_dir, scale={k: v for k, v in tuning["scale"].items() if k != LABELS[0]})
    with pytest.raises(ModelFolderError, match=rf"scale\[{LABELS[0]}\]"):
        OnnxEmotionPredictor(root, onnx_dir / INT8_FILE, threads=1)
