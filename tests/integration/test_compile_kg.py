"""The real `compile_kg` stage entry point and the `emoheal kg` commands on its output."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.helpers import ROOT, compose, run_stage, write_params


def _params(tmp, rules=None) -> dict:
    return compose(f"paths.kg={tmp / 'kg'}", f"paths.kg_plots={tmp / 'plots'}", f"paths.metrics={tmp / 'metrics'}",
                   *([f"paths.kg_rules={rules}"] if rules else []))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kg")
    params = _params(tmp)
    result = run_stage("compile_kg", write_params(params, tmp / "params.yaml"))
    return {"tmp": tmp, "params": params, "result": result, "graph": tmp / "kg" / "graph.json"}


def test_stage_writes_graph_drawings_and_metrics(compiled):
    tmp = compiled["tmp"]
    graph = json.loads(compiled["graph"].read_text())
    assert graph["format"] == "emoheal-kg/1" and len(graph["hash"]) == 64
    types = {n["type"] for n in graph["nodes"]}
    assert types == {"emotion", "gems", "parameter", "timbre", "goal", "stage"}
    assert all(e["source"] for e in graph["edges"] if e["kind"] != "sets" or e["from"].startswith("gems:"))
    metrics = json.loads((tmp / "metrics" / "kg.json").read_text())
    assert metrics["hash"] == graph["hash"] and metrics["nodes"]["emotion"] == 28
    assert metrics["audit"]["sleep"]["arousal_monotone_share"] == 1.0
    assert metrics["audit"]["sleep"]["distinct_match_states"] == 28
    assert (tmp / "plots" / "graph.png").stat().st_size > 50_000
    page = (tmp / "plots" / "graph.html").read_text()
    assert "<svg" in page and graph["hash"][:12] in page
    assert "src=\"http" not in page and "href=\"http" not in page  # self-contained, no CDN
    assert all(f'data-id="{n["id"]}"' in page for n in graph["nodes"])
    assert compiled["graph"].stat().st_mode & 0o044  # readable by the serving process too


def test_compiling_twice_gives_the_same_bytes(compiled, tmp_path):
    params = {**compiled["params"], "paths": {**compiled["params"]["paths"], "kg": str(tmp_path / "kg"),
                                                "kg_plots": str(tmp_path / "plots"),
                                                "metrics": str(tmp_path / "metrics")}}
    run_stage("compile_kg", write_params(params, tmp_path / "params.yaml"))
    assert (tmp_path / "kg" / "graph.json").read_bytes() == compiled["graph"].read_bytes()
    assert (tmp_path / "metrics" / "kg.json").read_bytes() == (compiled["tmp"] / "metrics" / "kg.json").read_bytes()


def test_a_broken_csv_fails_the_stage_naming_file_row_and_column(cli, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "data" / "kg", rules)
    text = (rules / "emotions.csv").read_text()
    (rules / "emotions.csv").write_text(text.replace("fear,fear,-0.85,0.68", "fear,fear,-0.85,1.68"))
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if row.startswith("fear,"))
    result = run_stage("compile_kg", write_params(_params(tmp_path, rules), tmp_path / "params.yaml"), check=False)
    assert result.returncode == 1
    assert f"emotions.csv, row {line}, column 'arousal': 1.68 is outside [-1, 1]" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "kg" / "graph.json").exists()  # nothing half-written

    validate = cli("kg", "validate", "--rules", str(rules))
    assert validate.returncode == 1 and f"row {line}, column 'arousal'" in validate.stderr
    assert cli("kg", "validate").returncode == 0


def test_kg_plan_prints_the_plan_as_json(cli, compiled):
    result = cli("kg", "plan", "--emotions", '{"fear": 0.8, "nervousness": 0.4}', "--goal", "sleep", "--json",
                     "--graph", str(compiled["graph"]))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [s["name"] for s in plan["stages"]] == ["match", "guide", "target"]
    tempos = [s["targets"]["tempo_bpm"] for s in plan["stages"]]
    assert tempos == sorted(tempos, reverse=True)
    for stage in plan["stages"]:
        assert {"share", "minutes", "valence", "arousal", "gems_mix", "targets", "prompt",
                "explanation"} <= set(stage)
        assert {"tempo_bpm", "mode_major", "loudness_lufs", "consonance", "register_midi",
                "density_onsets_per_s", "timbres"} <= set(stage["targets"])
    assert plan["graph_version"] == f"kg-{json.loads(compiled['graph'].read_text())['hash'][:12]}"


def test_kg_plan_reads_a_file_and_stdin_and_prints_text(cli, compiled, tmp_path):
    (tmp_path / "e.json").write_text('{"sadness": 0.7, "grief": 0.5}')
    from_file = cli("kg", "plan", "--emotions", f"@{tmp_path / 'e.json'}", "--graph", str(compiled["graph"]))
    assert from_file.returncode == 0 and "match" in from_file.stdout and "BPM" in from_file.stdout
    from_stdin = cli("kg", "plan", "--emotions", "-", "--goal", "uplift", "--minutes", "30",
                         "--graph", str(compiled["graph"]), input_text='{"sadness": 0.7}')
    assert from_stdin.returncode == 0 and "uplift session, 30 min" in from_stdin.stdout


def test_kg_plan_takes_the_detectors_json(cli, compiled):
    detection = [{"labels": ["nervousness"], "probabilities": {"nervousness": 0.7, "fear": 0.3, "joy": 0.01},
                  "truncated": False, "tokens": 12, "model_version": "emotion-x"}]
    direct = cli("kg", "plan", "--emotions", json.dumps({"nervousness": 0.7, "fear": 0.3, "joy": 0.01}),
                     "--json", "--graph", str(compiled["graph"]))
    piped = cli("kg", "plan", "--emotions", "-", "--json", "--graph", str(compiled["graph"]),
                    input_text=json.dumps(detection))
    assert piped.returncode == 0 and json.loads(piped.stdout) == json.loads(direct.stdout)
    two = cli("kg", "plan", "--emotions", "-", "--graph", str(compiled["graph"]),
                  input_text=json.dumps(detection * 2))
    assert two.returncode == 2 and "one text at a time" in two.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--emotions", '{"feer": 0.8}'], "did you mean 'fear'"),
        (["--emotions", '{"fear": 1.2}'], "outside [0, 1]"),
        (["--emotions", "{}"], "emotions is empty"),
        (["--emotions", '{"fear": NaN}'], "is NaN"),
        (["--emotions", "not json"], "not valid JSON"),
        (["--emotions", '{"fear": 0.5}', "--goal", "party"], "unknown goal 'party'"),
        (["--emotions", '{"fear": 0.5}', "--minutes", "0"], "minutes must lie in"),
        (["--emotions", "@/no/such/file.json"], "file not found"),
    ],
)
def test_kg_plan_bad_input_is_a_usage_error(cli, compiled, args, message):
    result = cli("kg", "plan", *args, "--graph", str(compiled["graph"]))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_missing_or_edited_graph_is_a_clear_error(cli, compiled, tmp_path):
    missing = cli("kg", "plan", "--emotions", '{"fear": 0.5}', "--graph", str(tmp_path / "graph.json"))
    assert missing.returncode == 1 and "dvc repro compile_kg" in missing.stderr
    edited = json.loads(compiled["graph"].read_text())
    edited["nodes"][0]["valence"] = 0.99
    (tmp_path / "graph.json").write_text(json.dumps(edited))
    result = cli("kg", "show", "--graph", str(tmp_path / "graph.json"))
    assert result.returncode == 1 and "edited after compiling" in result.stderr


def test_kg_show_summarises(cli, compiled):
    result = cli("kg", "show", "--graph", str(compiled["graph"]))
    assert result.returncode == 0
    assert "emotion 28" in result.stdout and "goal sleep" in result.stdout and "guide 50%" in result.stdout
    as_json = json.loads(cli("kg", "show", "--json", "--graph", str(compiled["graph"])).stdout)
    assert as_json["nodes"]["gems"] == 9 and as_json["goals"] == ["sleep", "calm", "uplift"]


def test_the_html_page_script_parses(compiled, tmp_path):
    """The page's script is valid JavaScript (a real browser drives the web pages in the serving tests)."""
    import re

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    page = (compiled["tmp"] / "plots" / "graph.html").read_text()
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert scripts
    (tmp_path / "page.js").write_text(scripts[-1])
    result = subprocess.run([node, "--check", str(tmp_path / "page.js")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
