"""The code base stays ruff clean (a ground rule), and data flows one way: nothing in the
library imports the service or the pipeline scripts. Checked in CI like any test."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "src", "pipelines", "serving", "tests", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_never_imports_serving_or_pipelines():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p)
                                                   if m.split(".")[0] in ("serving", "pipelines", "_common"))
                 for p in (ROOT / "src").rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_emotion_knows_nothing_of_music_and_kg_loads_no_model():
    for path in (ROOT / "src" / "emoheal" / "emotion").rglob("*.py"):
        music = {m for m in imported_modules(path)
                 if m.startswith(("emoheal.kg", "emoheal.corpus", "emoheal.retrieval"))}
        assert not music, (path, music)
    for path in (ROOT / "src" / "emoheal" / "kg").rglob("*.py"):
        models = {m for m in imported_modules(path) if m.split(".")[0] in ("torch", "transformers", "onnxruntime")}
        assert not models, (path, models)


def test_the_crisis_screen_knows_nothing_of_music_or_sessions():
    for path in (ROOT / "src" / "emoheal" / "safety").rglob("*.py"):
        later = {m for m in imported_modules(path)
                 if m.startswith(("emoheal.kg", "emoheal.corpus", "emoheal.retrieval", "emoheal.session"))}
        assert not later, (path, later)
