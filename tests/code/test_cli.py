"""The `emoheal` command line in this process, through `main(argv)` (the `cli` fixture): exit
codes and output, and the one table (cli/errors.py) that turns the errors it knows into a
message and an exit code. One subprocess run proves the console entry point starts."""

import importlib
import json
import subprocess

import pytest

from emoheal.cli import main
from emoheal.cli.errors import KNOWN_ERRORS, answer_for
from tests.helpers import PYTHON, ROOT


def test_the_console_entry_point_runs():
    result = subprocess.run([PYTHON, "-m", "emoheal.cli", "params", "profile=ci", "-o", "-"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "name: minilm" in result.stdout


def test_no_text_is_an_error(cli):
    result = cli("detect", "--model", "/nonexistent")
    assert result.returncode == 1 and result.stderr == "emoheal: error: give at least one TEXT or --file\n"


def test_blank_lines_on_stdin_are_no_text(cli):
    result = cli("detect", "--file", "-", "--model", "/nonexistent", input_text="\n   \n")
    assert result.returncode == 1 and "at least one TEXT" in result.stderr


def test_missing_model_folder_is_a_clear_error(cli, tmp_path):
    result = cli("detect", "hello", "--model", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("emoheal: error: ") and "not a trained emotion model" in result.stderr


def test_missing_or_unreadable_input_file_is_a_clear_error(cli, tmp_path):
    missing = cli("detect", "--file", str(tmp_path / "nope.txt"))
    assert missing.returncode == 1 and f"file not found: {tmp_path / 'nope.txt'}" in missing.stderr
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    latin1 = cli("detect", "--file", str(tmp_path / "latin1.txt"))
    assert latin1.returncode == 1 and "is not UTF-8 text" in latin1.stderr


def test_huge_text_fails_before_any_model_is_needed(cli, tmp_path):
    result = cli("detect", "x" * 20_001, "--model", str(tmp_path))
    assert result.returncode == 2 and "limit is 20000" in result.stderr


def test_params_prints_or_writes_the_composed_config(cli, tmp_path):
    printed = cli("params", "profile=ci", "-o", "-")
    assert printed.returncode == 0 and "name: minilm" in printed.stdout
    written = cli("params", "profile=ci", "-o", str(tmp_path / "params.yaml"))
    assert written.returncode == 0
    assert written.stdout == f"wrote {tmp_path / 'params.yaml'} (profile ci, backbone minilm)\n"
    assert (tmp_path / "params.yaml").read_text() == printed.stdout


def test_bad_override_or_config_folder_is_a_usage_error(cli, tmp_path):
    override = cli("params", "no_such_group=x", "-o", "-")
    assert override.returncode == 2 and "no_such_group" in override.stderr
    folder = cli("params", "--config-dir", str(tmp_path), "-o", "-")
    assert folder.returncode == 2 and "no config.yaml in" in folder.stderr


def test_metrics_prints_the_headline(cli, tmp_path):
    scores = {"macro_f1": 0.5, "micro_f1": 0.6, "weighted_f1": 0.55, "rows": 10, "ekman": {"macro_f1": 0.63},
              "sentiment": {"macro_f1": 0.69}, "ece_uncalibrated": 0.0051, "ece_calibrated": 0.0033}
    metrics = {"model_version": "emotion-x", "profile": "ci", "thresholds": "per_label", "test": scores,
               "baselines": {"tfidf_logreg": {"test": {"macro_f1": 0.45, "micro_f1": 0.53}}},
               "per_label": {"joy": {"f1": 0.7, "support": 5}, "grief": {"f1": 0.1, "support": 2}}}
    (tmp_path / "emotion.json").write_text(json.dumps(metrics))
    result = cli("metrics", "--file", str(tmp_path / "emotion.json"))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "model emotion-x (ci profile), thresholds per_label",
        "  test (10 texts): macro-F1 0.5000  micro-F1 0.6000  weighted-F1 0.5500",
        "  Ekman groups macro-F1 0.6300  sentiment macro-F1 0.6900",
        "  calibration error (ECE) 0.0051 -> 0.0033 with temperature",
        "  baseline tfidf_logreg: macro-F1 0.4500  micro-F1 0.5300",
        "  weakest labels: grief 0.10 (n=2), joy 0.70 (n=5)",
    ]
    missing = cli("metrics", "--file", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "run the pipeline first (make run)" in missing.stderr


def test_kg_show_and_plan_print_text(cli, kg_graph, tmp_path):
    from emoheal.kg.graph import write_graph

    write_graph(kg_graph, tmp_path / "graph.json")
    graph = str(tmp_path / "graph.json")
    shown = cli("kg", "show", "--graph", graph)
    assert shown.returncode == 0 and shown.stdout.startswith(f"knowledge graph kg-{kg_graph['hash'][:12]}\n")
    assert "emotion 28" in shown.stdout and "goal sleep" in shown.stdout and "guide 50%" in shown.stdout
    plan = cli("kg", "plan", "--emotions", "-", "--graph", graph, input_text='{"fear": 0.8}')
    lines = plan.stdout.splitlines()
    assert plan.returncode == 0 and lines[0] == f"sleep session, 20 min (kg-{kg_graph['hash'][:12]})"
    assert [line.split()[0] for line in lines if " min  valence " in line] == ["match", "guide", "target"]
    not_json = cli("kg", "plan", "--emotions", "{fear", "--graph", graph)
    assert not_json.returncode == 2 and "--emotions is not valid JSON" in not_json.stderr


@pytest.mark.parametrize("command", [["monitor"], ["bento", "import"]])
def test_a_missing_params_file_says_how_to_make_one(cli, tmp_path, command):
    result = cli(*command, "--params", str(tmp_path / "params.yaml"))
    assert result.returncode == 2
    assert result.stderr == (f"emoheal: error: {tmp_path / 'params.yaml'} not found: run `make params` "
                             "(or `emoheal params -o params.yaml`)\n")


def test_safety_review_without_the_stage_says_which_stage(cli, tmp_path):
    result = cli("safety", "review", "--metrics", str(tmp_path / "safety.json"))
    assert result.returncode == 1 and result.stderr.endswith(": run `dvc repro safety` first\n")


@pytest.mark.parametrize("bad", [[], "text", [""], ["ok", "   "], ["ok", 3]])
def test_predictor_rejects_bad_texts(bad):
    from emoheal.emotion.predictor import InvalidTextError, validate_texts

    with pytest.raises(InvalidTextError):
        validate_texts(bad)


def test_predictor_refuses_absurdly_long_text():
    from emoheal.emotion.predictor import DETECTOR_MAX_CHARS, InvalidTextError, validate_texts

    with pytest.raises(InvalidTextError, match="limit"):
        validate_texts(["x" * (DETECTOR_MAX_CHARS + 1)])
    assert json.dumps(validate_texts(["fine"]))


# ------------------------------------------------------------------------------- the error table

# The contract, written out apart from the table so that a change to an exit code is a change here too.
EXPECTED_CODES = {
    "emoheal.cli.errors.UsageError": 2,
    "emoheal.cli.errors.CommandError": 1,
    "emoheal.emotion.predictor.InvalidTextError": 2,
    "emoheal.session.runner.SessionInputError": 2,
    "emoheal.kg.planner.PlanInputError": 2,
    "emoheal.monitoring.monitor.MonitorInputError": 2,
    "emoheal.store.engine.StoreURLError": 2,
    "hydra.errors.HydraException": 2,
    "emoheal.settings.base.ParamsError": 2,
    "emoheal.encoder.clamp3.verify.FixtureError": 2,
    "emoheal.encoder.clamp3.checkpoint.CheckpointError": 2,
    "builtins.FileNotFoundError": 1,
    "emoheal.emotion.artifacts.ModelFolderError": 1,
    "emoheal.emotion.backbone.BackboneUnavailableError": 1,
    "emoheal.kg.graph.GraphFileError": 1,
    "emoheal.retrieval.index.IndexLoadError": 1,
    "emoheal.safety.encoder.SafetyModelError": 1,
    "emoheal.session.mix.MixError": 1,
    "emoheal.bento.store.BundleError": 1,
    "emoheal.kg.rules.KGValidationError": 1,
}


def error_class(name: str) -> type:
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(module), cls)


def raising(monkeypatch, exc: BaseException) -> None:
    """Make `emoheal metrics` raise `exc`, so that main()'s handling alone decides the answer."""
    def fail(args):
        raise exc

    monkeypatch.setattr("emoheal.cli.emotion.metrics_command", fail)


def test_the_table_states_the_expected_codes():
    assert {name: code for name, (code, _) in KNOWN_ERRORS.items()} == EXPECTED_CODES


@pytest.mark.parametrize("name", sorted(KNOWN_ERRORS))
def test_every_entry_names_an_exception_class_where_it_is_defined(name):
    cls = error_class(name)  # a renamed or moved class fails here, not silently in main()
    assert issubclass(cls, Exception) and f"{cls.__module__}.{cls.__qualname__}" == name


@pytest.mark.parametrize("name", sorted(set(EXPECTED_CODES) - {"emoheal.kg.rules.KGValidationError"}))
def test_a_known_error_prints_its_message_and_returns_its_code(monkeypatch, capsys, name):
    cls = error_class(name)
    # ParamsError is built from its problems; its message is then exactly "<source>: <key>: <what>"
    error = cls("params.yaml", [("train", "bad")]) if name.endswith("ParamsError") else cls("the reason")
    raising(monkeypatch, error)
    reason = "params.yaml: train: bad" if name.endswith("ParamsError") else "the reason"
    assert main(["metrics"]) == EXPECTED_CODES[name]
    assert capsys.readouterr() == ("", f"emoheal: error: {reason}\n")


def test_rule_problems_print_as_the_headed_list_they_are(monkeypatch, capsys):
    from emoheal.kg.rules import KGValidationError, Problem

    raising(monkeypatch, KGValidationError([Problem("emotions.csv", 12, "arousal", "1.68 is outside [-1, 1]")]))
    assert main(["metrics"]) == 1
    assert capsys.readouterr().err == ("emoheal: 1 problem(s) in the knowledge-graph rules:\n"
                                       "  - emotions.csv, row 12, column 'arousal': 1.68 is outside [-1, 1]\n")


def test_the_most_specific_entry_wins():
    from emoheal.emotion.predictor import InvalidTextError
    from emoheal.kg.planner import PlanInputError

    class TooShort(InvalidTextError):
        pass

    assert answer_for(TooShort("x")) == (2, "emoheal: error: x")  # a subclass answers as its parent
    assert answer_for(PlanInputError("x"))[0] == 2  # listed, though its base ValueError is not
    assert answer_for(IsADirectoryError("x")) is None  # an OSError, but not a FileNotFoundError


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyError("bug"), RuntimeError("bug")])
def test_an_unknown_error_propagates(monkeypatch, exc):
    raising(monkeypatch, exc)
    with pytest.raises(type(exc)):
        main(["metrics"])


# ------------------------------------------------------------------------------- what commands print

def test_a_waiting_check_in_prints_the_question_and_the_resources_not_the_music():
    from emoheal.session.text import session_lines

    session = {"session_id": "0123456789", "goal": "sleep", "stages": [], "notice": None,
               "safety": {"level": "low", "message": "not shown while the question waits",
                          "check_in": {"question": "Are you thinking about harming yourself right now?",
                                       "answer": None},
                          "resources": [{"name": "988 Lifeline", "contact": "call 988", "how": "any time"}]}}
    assert session_lines(1, session) == [
        "[1] no session (sleep)",
        "    Are you thinking about harming yourself right now?",
        "    (answer with --check-in yes or --check-in no; the music starts only after an answer)",
        "      - 988 Lifeline (call 988): any time",
    ]


def test_a_session_prints_its_stages_and_timeline():
    from emoheal.session.text import mix_line, session_lines

    stage = {"name": "match", "minutes": 5, "narrative": "Breathe.", "item": {"title": "Piece"},
             "tracks": [{}, {}]}
    session = {"session_id": "0123456789", "goal": "calm", "notice": None, "prelude": "Settle.", "epilogue": "Rest.",
               "safety": {"level": "none", "message": "", "resources": []},
               "stages": [stage, {**stage, "name": "target", "item": None, "reason": "nothing that slow"}],
               "timeline": {"tracks": 2, "filled_s": 300, "requested_s": 600, "seed": 7, "reason": "few items"}}
    assert session_lines(2, session) == [
        "[2] session 01234567 (calm)", "    Settle.",
        "    match  5 min  2 tracks, from Piece", "           Breathe.",
        "    target 5 min  (no suitable item: nothing that slow)", "           Breathe.",
        "    Rest.", "    2 tracks, 5.0 of 10.0 min (seed 7); short: few items",
    ]
    assert mix_line({"path": "s.flac", "duration_s": 90, "rate": 48000, "skipped": ["a"]}) == (
        "    mix: s.flac (1.5 min, 48000 Hz; 1 track(s) silent: file missing or unreadable)")


def test_the_monitoring_summary_shows_failures_with_their_detail():
    from emoheal.monitoring.summary import summary_lines

    summary = {"records": {"n": 120, "answered": 100}, "window": {"start": "2026-12-01T00:00:00+00:00"},
               "reference": {"n": 5427}, "notes": ["rebuild the reference"],
               "tests": [{"status": "SUCCESS", "name": "drift", "meaning": "columns drifted", "detail": "hidden"},
                         {"status": "FAIL", "name": "labels", "meaning": "label mix", "detail": "joy up"}],
               "feedback": {"study": {"n": 7, "correlation": {"r": 0.41, "ci95": [0.1, 0.7]},
                                      "reflected_mean": 3.9, "calmer_mean": 4.1, "paper_r": 0.48}}}
    assert summary_lines(summary) == [
        "120 records since 2026-12-01T00:00:00+00:00 (100 answered by the model) vs 5427 reference records",
        "  SUCCESS  drift: columns drifted",
        "  FAIL     labels: label mix",
        "           joy up",
        "  study answers: n=7, reflected 3.9, calmer 4.1, r=0.41 (95% CI [0.1, 0.7]; the paper reported 0.48)",
        "  note: rebuild the reference",
    ]


def test_candidates_refuses_an_unknown_name_and_a_malformed_file(tmp_path):
    import subprocess

    from tests.helpers import PYTHON, ROOT

    bad = tmp_path / "bad.yaml"
    bad.write_text("x: [\n")
    for args in (["nope"], ["--file", str(bad)], ["--file", str(tmp_path / "list.yaml")]):
        if args[-1].endswith("list.yaml"):
            (tmp_path / "list.yaml").write_text("- a\n- b\n")
        result = subprocess.run([PYTHON, "-m", "emoheal.cli", "candidates", *args], cwd=ROOT, text=True,
                                capture_output=True, timeout=120)
        assert result.returncode == 2 and "emoheal: error:" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
