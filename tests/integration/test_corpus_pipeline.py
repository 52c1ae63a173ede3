"""render_corpus → compose_corpus → ingest_media → describe_corpus → corpus_emotion through the
real entry points: real EMOPIA MIDI rendered with fluidsynth in two timbres, pieces composed for
the graph's goals and rendered, a generated video with an audio track, a corrupt file, a
sub-second file; a real MLflow store."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emoheal.corpus.manifest import COLUMNS, read_manifest
from tests.helpers import ROOT, compose, retrieval_settings, run_stage, run_stages, write_params

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None or shutil.which("ffmpeg") is None,
                                reason="fluidsynth and ffmpeg come with `make setup`")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def make_media(folder: Path) -> None:
    folder.mkdir(parents=True)
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=6", "-f", "lavfi", "-i",
            "sine=frequency=330:duration=6", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            str(folder / "evening walk.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=7", "-c:a", "libmp3lame", str(folder / "hum.mp3"))
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=0.6", str(folder / "blip.wav"))
    (folder / "broken.flac").write_bytes(b"fLaC" + bytes(range(256)) * 8)
    (folder / "notes.txt").write_text("not media")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    make_media(tmp / "media")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
    stages = ("compile_kg", "render_corpus", "compose_corpus", "ingest_media", "describe_corpus", "corpus_emotion",
              "embed_corpus", "cut_points", "build_index")
    params = compose("profile=ci", f"paths.corpus={tmp / 'corpus'}", f"paths.metrics={tmp / 'metrics'}",
                     f"corpus.media_dir={tmp / 'media'}", f"paths.kg={tmp / 'kg'}",
                     f"paths.kg_plots={tmp / 'kg_plots'}", f"paths.corpus_plots={tmp / 'plots'}")
    params_file = write_params(params, tmp / "params.yaml")
    run_stages(stages, params_file, env)
    root = tmp / "corpus"
    return {"tmp": tmp, "root": root, "params": params, "env": env,
            "manifest": read_manifest(root / "manifest.parquet")}


def test_rendered_clips_are_real_normalised_audio(corpus):
    m = corpus["manifest"]
    emopia = m[m["source"] == "emopia"]
    assert len(emopia) == 24 and set(emopia["quadrant"]) == {1, 2, 3, 4}
    assert set(emopia["split"]) == {"train", "val", "test"}
    import pyloudnorm

    for row in emopia.itertuples():
        data, rate = sf.read(row.audio_path)
        assert rate == 24000 and data.ndim == 1 and abs(len(data) / rate - row.duration_s) < 0.01
        assert 15 < row.duration_s < 120 and Path(row.midi_path).is_file()
        loudness = pyloudnorm.Meter(rate).integrated_loudness(data)
        assert loudness == pytest.approx(-23.0, abs=0.5) or 20 * np.log10(np.abs(data).max()) > -1.2
    assert list(m.columns) == COLUMNS
    render = json.loads((corpus["root"] / "emopia" / "render.json").read_text())
    assert render["clips"] == 12 and render["renders"] == 24 and render["renderer"].startswith("FluidSynth")
    assert render["programs"] == {"piano": 1, "strings": 49} and "seconds" not in render


def test_each_clip_is_rendered_in_every_timbre_with_its_source_and_licence(corpus):
    """Two timbres of one MIDI: the same piece (source_id, annotation, length), another sound."""
    import mido

    emopia = corpus["manifest"][corpus["manifest"]["source"] == "emopia"]
    assert all(sorted(t) == ["piano", "strings"] for _, t in emopia.groupby("source_id")["timbre"])
    piano = emopia[emopia["timbre"] == "piano"].set_index("source_id")
    strings = emopia[emopia["timbre"] == "strings"].set_index("source_id")
    assert (piano.index == piano["id"]).all() and (strings["id"] == strings.index + ".strings").all()
    assert (strings["quadrant"] == piano.loc[strings.index, "quadrant"]).all()  # the piano annotation, kept
    assert not strings["title"].str.contains(r"\(Q\d\)").any()  # never shown as the strings' own label
    assert (strings["duration_s"] - piano.loc[strings.index, "duration_s"]).abs().max() < 6.0
    assert emopia["licence"].str.contains("non-commercial").all() and emopia["composition"].isna().all()
    one = strings.iloc[0]
    a, _ = sf.read(piano.loc[one.name, "audio_path"])
    b, _ = sf.read(one["audio_path"])
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n], b[:n])[0, 1] < 0.5, "the strings render must not be the piano's audio"
    programs = {m.program for m in mido.MidiFile(one["midi_path"]).tracks[1] if m.type == "program_change"}
    assert programs <= {0}  # the manifest points at EMOPIA's own MIDI: the timbre is applied at render time


def test_composed_pieces_are_rendered_and_measured_against_their_intent(corpus):
    import pretty_midi

    from emoheal.corpus.compose import MAJOR, MINOR

    pieces = corpus["manifest"][corpus["manifest"]["source"] == "composed"]
    assert len(pieces) == 3 and set(pieces["licence"]) == {"generated"} and set(pieces["split"]) == {"composed"}
    assert (pieces["id"] == pieces["source_id"]).all()
    for piece in pieces.itertuples():
        spec = json.loads(piece.composition)
        assert spec["intent"]["goal"] in ("sleep", "calm") and set(piece.timbre.split("+")) == set(spec["timbres"])
        midi = pretty_midi.PrettyMIDI(piece.midi_path)
        assert midi.get_tempo_changes()[1][0] == pytest.approx(spec["tempo_bpm"])
        assert midi.get_end_time() == pytest.approx(spec["midi_seconds"], abs=0.01)
        assert 30 - 4 * spec["beats_per_bar"] * 60 / spec["tempo_bpm"] <= spec["midi_seconds"] <= 40 + 16 * 60 / 40
        scale = MAJOR if spec["mode"] == "major" else MINOR
        in_key = {(spec["tonic"] + d) % 12 for d in scale} | {(spec["tonic"] + 11) % 12}
        assert {n.pitch % 12 for i in midi.instruments for n in i.notes} <= in_key
        audio, rate = sf.read(piece.audio_path)
        assert rate == 24000 and np.abs(audio).max() > 0.05  # really rendered: not silent
        assert spec["midi_seconds"] <= len(audio) / rate <= spec["midi_seconds"] + 8  # the reverb's tail at most
    metrics = json.loads((corpus["tmp"] / "metrics" / "corpus.json").read_text())
    composed = metrics["composed"]
    assert composed["pieces"] == 3 and 0 <= composed["tempo_within_10pct"] <= 1
    assert {"mode_agreement", "quadrant_agreement", "calm_q4"} <= set(composed)
    report = json.loads((corpus["root"] / "composed" / "compose.json").read_text())
    assert report["pieces"] == 3 and report["by_part"] == {"calm/target": 1, "sleep/guide": 1, "sleep/target": 1}


def test_the_emotion_model_is_measured_in_every_timbre_and_chosen_on_val(corpus):
    metrics = json.loads((corpus["tmp"] / "metrics" / "corpus.json").read_text())
    robust = metrics["timbre_robustness"]
    assert set(robust) == {"piano", "strings"}
    for values in robust.values():
        assert values["items"] >= 1 and {"quadrant_acc", "arousal_acc", "valence_acc"} <= set(values)
    models = metrics["timbre_models"]
    assert models["chosen"] in ("piano_only", "all_timbres") and "val" in models["chosen_on"]
    assert robust == models[models["chosen"]]["test"]
    assert set(models["all_timbres"]["val"]) == {"piano", "strings"}


def test_the_listening_page_plays_every_timbre_and_composed_piece(corpus):
    page = (corpus["tmp"] / "plots" / "listen.html").read_text()
    import re

    sources = re.findall(r'<audio controls preload="none" src="([^"]+)"', page)
    pieces = corpus["manifest"][corpus["manifest"]["source"] == "composed"]
    assert len(sources) >= 2 * 4 + len(pieces)  # one clip a quadrant in both timbres, and every piece
    for src in sources:
        assert (corpus["tmp"] / "plots" / src).resolve().is_file()


def test_user_media_join_the_manifest(corpus):
    m = corpus["manifest"].set_index("title")
    video, audio = m.loc["evening walk"], m.loc["hum"]
    assert video["media_type"] == "video" and audio["media_type"] == "audio"
    assert Path(video["poster_path"]).stat().st_size > 1000 and Path(video["media_path"]).suffix == ".mp4"
    assert Path(video["media_path"]).is_file() and video["duration_s"] == pytest.approx(6.0, abs=0.1)
    assert audio["duration_s"] == pytest.approx(7.0, abs=0.1) and audio["poster_path"] is None
    assert video["split"] == "user" and pd.isna(video["quadrant"]) and video["licence"].startswith("user")
    assert all(i.startswith("user_") for i in m[m["source"] == "user"]["id"])


def test_every_skipped_file_has_a_reason(corpus):
    report = json.loads((corpus["root"] / "user" / "ingest_report.json").read_text())
    lines = {Path(f["path"]).name: f for f in report["files"]}
    assert set(lines) == {"evening walk.mp4", "hum.mp3", "blip.wav", "broken.flac", "notes.txt"}
    assert lines["blip.wav"]["status"] == "skipped" and "too short" in lines["blip.wav"]["reason"]
    assert lines["broken.flac"]["status"] == "skipped" and "cannot decode" in lines["broken.flac"]["reason"]
    assert "unsupported type .txt" in lines["notes.txt"]["reason"]
    assert report["ingested"] == 2 and report["skipped"] == 3


def test_descriptors_for_every_item_and_windows_for_long_ones(corpus):
    d = pd.read_parquet(corpus["root"] / "descriptors.parquet").set_index("id")
    m = corpus["manifest"].set_index("id")
    assert set(d.index) == set(m.index)
    for col in ("tempo_bpm", "mode_major", "loudness_lufs", "dynamic_range_db", "brightness_hz",
                "onset_density_per_s", "pitch_centroid_midi"):
        assert d[col].notna().all(), col
    assert d["mode_major"].between(0, 1).all() and d["tempo_bpm"].between(30, 240).all()
    w = pd.read_parquet(corpus["root"] / "windows.parquet")
    long_ids = m.index[m["duration_s"] >= 10]
    assert set(w["id"]) == set(long_ids)
    hum = m.index[m["title"] == "hum"][0]
    assert d.loc[hum, "pitch_centroid_midi"] < d.loc[m.index[m["source"] == "emopia"]]["pitch_centroid_midi"].max()
    report = json.loads((corpus["root"] / "describe_report.json").read_text())
    assert report["score_check"]["items"] == 12 and report["failed"] == []


def test_emotion_estimates_for_labelled_and_unlabelled_items(corpus):
    est = pd.read_parquet(corpus["root"] / "estimates.parquet").set_index("id")
    assert set(est.index) == set(corpus["manifest"]["id"])
    assert est["valence"].between(-1, 1).all() and est["arousal"].between(-1, 1).all()
    assert np.allclose(est[["p_q1", "p_q2", "p_q3", "p_q4"]].sum(axis=1), 1.0)
    metrics = json.loads((corpus["tmp"] / "metrics" / "corpus.json").read_text())
    test = metrics["emotion"]["test"]
    m = corpus["manifest"]
    assert test["items"] == ((m["split"] == "test") & (m["timbre"] == "piano")).sum() > 0  # the piano renders
    assert test["chance"]["quadrant"] == 0.25 and "majority_baseline" in test
    assert {"onset_density_vs_score_onsets", "pitch_centroid_vs_score"} <= set(
        metrics["descriptors_vs_score"]["spearman"])
    import mlflow

    mlflow.set_tracking_uri(corpus["env"]["MLFLOW_TRACKING_URI"])
    run = mlflow.get_run(metrics["mlflow"]["run_id"])
    assert "test_arousal_accuracy" in run.data.metrics and run.data.tags["stage"] == "corpus_emotion"


def test_rendering_is_deterministic(tmp_path):
    from emoheal.corpus.emopia import read_emopia
    from emoheal.corpus.render import RenderSettings, render_one

    clip = read_emopia(ROOT / "data" / "raw" / "emopia", verify=False).iloc[0]
    a = render_one(clip.id, clip.midi_path, str(tmp_path / "a.flac"), RenderSettings())
    b = render_one(clip.id, clip.midi_path, str(tmp_path / "b.flac"), RenderSettings())
    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()
    assert a.duration_s == b.duration_s


@pytest.mark.parametrize("program", [None, 48, 89])  # as written (piano), strings, warm pad
def test_loading_only_the_samples_played_renders_the_same_audio(tmp_path, program):
    import soundfile as sf

    from emoheal.corpus.emopia import read_emopia
    from emoheal.corpus.render import RenderSettings, render_one

    clip = read_emopia(ROOT / "data" / "raw" / "emopia", verify=False).iloc[1]
    for dynamic in (True, False):
        render_one(clip.id, clip.midi_path, str(tmp_path / f"{dynamic}.flac"),
                   RenderSettings(dynamic_sample_loading=dynamic), program)
    fast, whole = sf.read(tmp_path / "True.flac")[0], sf.read(tmp_path / "False.flac")[0]
    assert fast.shape == whole.shape and abs(fast).max() > 0.01 and (fast == whole).all()


def test_a_missing_soundfont_is_a_clear_error(tmp_path):
    params = compose("profile=ci", f"paths.corpus={tmp_path / 'corpus'}",
                     f"corpus.render.soundfont={tmp_path / 'none.sf2'}")
    result = run_stage("render_corpus", write_params(params, tmp_path / "params.yaml"), check=False)
    assert result.returncode == 1 and "fluid-soundfont-gm" in result.stderr and "Traceback" not in result.stderr


def test_the_index_serves_a_session_from_the_real_corpus(corpus, planner):
    from emoheal.retrieval.index import load_index
    from emoheal.retrieval.retrieve import retrieve

    embeddings = json.loads((corpus["root"] / "embeddings" / "report.json").read_text())
    assert embeddings["backend"] == "none"  # the offline default makes no vectors and says so
    index = load_index(corpus["root"] / "index")
    assert index.backend == "descriptors" and len(index.items) == len(corpus["manifest"])
    meta = json.loads((corpus["root"] / "index" / "meta.json").read_text())
    assert meta["register_calibration"]["fitted_on"] == 27 and meta["vector_tags"] is None  # 24 renders, 3 pieces
    assert set(meta["register_calibration"]["by_timbre"]) == {"piano", "strings"}
    plan = planner.plan({"nervousness": 0.8, "fear": 0.3}, "sleep", 10).to_dict()
    result = retrieve(plan, index, retrieval_settings()[0], goal=planner.goals["sleep"])
    assert result["backend"] == "descriptors" and [s["stage"] for s in result["stages"]] == ["match", "guide", "target"]
    chosen = [s["item"]["id"] for s in result["stages"] if s["item"]]
    assert len(chosen) == len(set(chosen))
    for stage in result["stages"]:
        assert stage["status"] in ("ok", "no_suitable_item")
        if stage["item"]:
            assert Path(stage["item"]["media_path"]).is_file() and stage["item"]["duration_s"] > 0


def test_a_sequenced_session_from_the_real_corpus_trims_between_notes(corpus, planner):
    """Real rendered piano clips: cut points between notes reach the index, and a session's mix
    from the real files lasts as long as its timeline."""
    import soundfile as sf

    from emoheal.retrieval.index import load_index
    from emoheal.retrieval.sequence import sequence_session
    from emoheal.session.mix import render_mix

    index = load_index(corpus["root"] / "index")
    cuts = [list(c) for c in index.items["cut_points_s"]]
    assert sum(len(c) for c in cuts) >= len(cuts), "rendered piano has quiet moments between notes"
    plan = planner.plan({"joy": 0.9}, "calm", 3).to_dict()
    result = sequence_session(plan, index.arrays, retrieval_settings()[1], goal=planner.goals["calm"], seed=3)
    tracks = [t for st in result["stages"] for t in st["tracks"]]
    assert tracks and all(Path(index.arrays.media_path[index.arrays.row_of[t["item_id"]]]).is_file() for t in tracks)
    audio = dict(zip(index.items["id"], index.items["audio_path"]))
    out = render_mix(tracks, lambda i: Path(audio[i]), corpus["tmp"] / "mix.flac", "flac")
    assert out["skipped"] == [] and abs(sf.info(out["path"]).duration - result["timeline"]["filled_s"]) < 1.0


def test_a_commercial_index_of_the_real_corpus_holds_composed_and_own_media_only(corpus, planner):
    """`corpus.licence: commercial`: the index keeps licence-clean items; a sleep session from it
    plays nothing else."""
    from emoheal.corpus.manifest import read_manifest
    from emoheal.retrieval.index import build_index, load_index
    from emoheal.retrieval.sequence import sequence_session

    root = corpus["root"]
    meta = build_index(read_manifest(root / "manifest.parquet"), pd.read_parquet(root / "descriptors.parquet"),
                       pd.read_parquet(root / "estimates.parquet"), pd.read_parquet(root / "scores.parquet"),
                       root / "embeddings", corpus["tmp"] / "commercial", None,
                       cuts=pd.read_parquet(root / "cuts.parquet"), licence="commercial")
    assert meta["by_source"] == {"composed": 3, "user": 2} and meta["left_out_by_licence"] == 24
    index = load_index(corpus["tmp"] / "commercial")
    own = index.items["source"] == "user"
    assert set(index.items.loc[~own, "licence"]) == {"generated"} and index.items.loc[own, "licence"].str.startswith(
        "user-provided").all()
    plan = planner.plan({"sadness": 1.0}, "sleep", 3).to_dict()
    result = sequence_session(plan, index.arrays, retrieval_settings()[1], goal=planner.goals["sleep"], seed=0)
    played = [t["item_id"] for st in result["stages"] for t in st["tracks"]]
    assert played and set(played) <= set(index.items["id"])
    assert all(not i.startswith("Q") for i in played)  # no EMOPIA render
