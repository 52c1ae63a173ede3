"""The code base stays ruff clean (a ground rule), data flows one way: nothing in the
library imports the service or the pipeline scripts, and the library's modules and functions stay
small enough to read (issue 17). Checked in CI like any test."""

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


# Issue 17: no module in src/ over MAX_MODULE_LINES lines and no function or method over
# MAX_FUNCTION_LINES (from its `def` line to its last line, docstring and nested functions included).
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# What must stay over, and why: "src/path.py" for a module, "src/path.py::Class.function" for a
# function. An entry for something that fits again fails the test, so the list only shrinks.
SIZE_ALLOWLIST: dict[str, str] = {}


def function_lengths(tree: ast.AST, prefix: str = "") -> dict[str, int]:
    """{"Class.method" or "outer.inner": lines} for every function in the tree, nested ones too."""
    lengths = {}
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lengths[prefix + child.name] = child.end_lineno - child.lineno + 1
            lengths.update(function_lengths(child, f"{prefix}{child.name}."))
        elif isinstance(child, ast.ClassDef):
            lengths.update(function_lengths(child, f"{prefix}{child.name}."))
        else:  # a function defined under an `if` or `try` is still a function
            lengths.update(function_lengths(child, prefix))
    return lengths


def oversized(root: Path, base: Path = ROOT) -> dict[str, int]:
    """Every module under `root` over MAX_MODULE_LINES and every function over MAX_FUNCTION_LINES,
    as {"path" or "path::qualified.name": lines}, paths relative to `base`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(base).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found[rel] = len(text.splitlines())
        found.update({f"{rel}::{name}": lines for name, lines in function_lengths(ast.parse(text, filename=rel)).items()
                      if lines > MAX_FUNCTION_LINES})
    return found


def test_oversized_finds_long_modules_and_functions(tmp_path):
    """The measure itself, on a made-up package: a long method, a long nested function, a long module."""
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(f"class A:\n    def long(self):\n{body}\n\n    def short(self):\n"
                                           f"        return 1\n\n\ndef outer():\n    def inner():\n{body}\n")
    (tmp_path / "pkg" / "b.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized(tmp_path / "pkg", tmp_path) == {"pkg/a.py::A.long": MAX_FUNCTION_LINES + 1,
                                                     "pkg/a.py::outer": MAX_FUNCTION_LINES + 2,
                                                     "pkg/a.py::outer.inner": MAX_FUNCTION_LINES + 1,
                                                     "pkg/b.py": MAX_MODULE_LINES + 1}


def test_modules_and_functions_in_src_stay_small():
    found = oversized(ROOT / "src")
    over = {key: lines for key, lines in found.items() if key not in SIZE_ALLOWLIST}
    assert not over, (f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function (split it by "
                      f"concern, or add it to SIZE_ALLOWLIST with the reason it must stay): {over}")
    fits = sorted(set(SIZE_ALLOWLIST) - set(found))
    assert not fits, f"these fit the limits now: remove them from SIZE_ALLOWLIST: {fits}"
