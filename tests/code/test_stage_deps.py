"""Every DVC stage lists the code it runs in its `deps`, so editing that code reruns the stage.

The deps in dvc.yaml are written by hand; this test derives what each stage really imports and
fails when the two drift apart. For a stage whose cmd is `python pipelines/X.py` it follows the
imports of pipelines/X.py statically (with `ast`, so nothing is executed and no model loads):
local modules next to the script (`_common`), and every `emoheal.*` module, transitively. It counts
imports inside functions too (the project imports heavy modules lazily), the package `__init__`
files an import runs, `from emoheal.a import b` where `b` is a submodule, and relative imports.
A file is covered when a dep names it or a folder holding it. A package `__init__.py` that holds
only its docstring is exempt: running it cannot change an output, and the day it gains a statement
the test asks for it.

Static on purpose: importing the scripts would run their module-level code and pull in torch, and
would miss the lazy imports that only run on some branches. The price is that it over-counts
(an import on a branch a given config never takes still counts), which errs towards rerunning.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

SRC = ROOT / "src"
PIPELINES = ROOT / "pipelines"
PACKAGE = "emoheal"
CMD = re.compile(r"^python (pipelines/\w+\.py)$")


@dataclass(frozen=True)
class Edge:
    """How a file was reached: `importer` line `line` imports `module`."""

    importer: Path
    line: int
    module: str


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_file(module: str) -> Path | None:
    """The file that defines an `emoheal.*` module (a .py file or a package's __init__.py)."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str | None:
    """`emoheal.a.b` for src/emoheal/a/b.py (or .../b/__init__.py); None outside the package."""
    if not path.is_relative_to(SRC / PACKAGE):
        return None
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, named) for every import in the file, at any depth (functions, try blocks, branches).

    `named` is True for a module the statement names, which must exist; `from x import y` also yields
    `x.y` with named=False, in case `y` is a submodule (kept by the caller only if it is a file).
    Relative imports are resolved against the file's package."""
    here = _module_name(path)
    package = None if here is None else (here if path.name == "__init__.py" else here.rpartition(".")[0])
    names: list[tuple[int, str, bool]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name, True) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    raise AssertionError(f"{_rel(path)}:{node.lineno}: relative import outside the package")
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.append((node.lineno, base, True))
            names += [(node.lineno, f"{base}.{alias.name}", False) for alias in node.names if alias.name != "*"]
    return names


def _targets(importer: Path, module: str) -> list[Path]:
    """The files an import statement executes: for `emoheal.a.b`, the __init__ of `emoheal` and
    `emoheal.a`, then `emoheal.a.b` itself; for a script's sibling (`_common`), that file."""
    top = module.split(".")[0]
    if top == PACKAGE:
        parts = module.split(".")
        files = [_module_file(".".join(parts[: i + 1])) for i in range(len(parts))]
        return [f for f in files if f is not None]
    # `python pipelines/X.py` puts pipelines/ first on sys.path, so its siblings import by bare name.
    sibling = PIPELINES / f"{top}.py"
    if importer.parent == PIPELINES and "." not in module and sibling.is_file():
        return [sibling]
    return []


def import_closure(script: Path) -> dict[Path, Edge | None]:
    """Every file `python <script>` can execute from this repository, each with the import that first
    reached it (None for the script), breadth first so the recorded chain is a shortest one."""
    reached: dict[Path, Edge | None] = {script: None}
    queue = deque([script])
    broken: list[str] = []
    while queue:
        importer = queue.popleft()
        for line, module, named in _imported_names(importer):
            # a named `emoheal.*` module that is no file is a typo or a module moved without its
            # importers: reported, not skipped
            if named and module.split(".")[0] == PACKAGE and _module_file(module) is None:
                broken.append(f"{_rel(importer)}:{line} imports {module}, which is no module under src/")
            for target in _targets(importer, module):
                if target not in reached:
                    reached[target] = Edge(importer, line, module)
                    queue.append(target)
    assert not broken, "\n".join(broken)
    return reached


def chain(reached: dict[Path, Edge | None], target: Path) -> list[str]:
    """The imports from the script down to `target`, one line each."""
    lines = []
    edge = reached[target]
    while edge is not None:
        lines.append(f"{_rel(edge.importer)}:{edge.line} imports {edge.module}")
        edge = reached[edge.importer]
    return lines[::-1]


def _stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _code_deps(stage: dict) -> list[str]:
    """The deps that name code in this repository (the data deps are `${...}` paths)."""
    return [str(dep).rstrip("/") for dep in stage.get("deps", [])
            if str(dep).startswith(("src/", "pipelines/"))]


def _docstring_only(path: Path) -> bool:
    """A package __init__ with nothing but its docstring (most of them here)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return path.name == "__init__.py" and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for node in body)


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(dep + "/") for dep in deps)


STAGES = _stages()


def test_every_stage_runs_a_pipeline_script():
    """A stage whose cmd is not `python pipelines/X.py` would be skipped silently below."""
    odd = {name: stage["cmd"] for name, stage in STAGES.items() if not CMD.match(str(stage["cmd"]))}
    assert not odd, f"stages whose imports this test cannot follow (extend it for them): {odd}"


def test_the_import_walk_sees_lazy_and_package_imports():
    """The walker itself: an import inside a function (embed_corpus imports the encoder lazily), a
    package __init__ that imports its siblings (emoheal.kg), the script's sibling `_common`, and the
    modules the training code reaches only through another emoheal module."""
    embed = import_closure(PIPELINES / "embed_corpus.py")
    assert SRC / "emoheal/encoder/embed.py" in embed
    assert PIPELINES / "_common.py" in embed
    assert SRC / "emoheal/__init__.py" in embed
    kg = import_closure(PIPELINES / "compile_kg.py")
    assert SRC / "emoheal/kg/planner.py" in kg  # via emoheal/kg/__init__.py
    train = import_closure(PIPELINES / "train.py")
    assert {SRC / "emoheal/emotion/metrics.py", SRC / "emoheal/emotion/thresholds.py"} <= set(train)
    how = chain(train, SRC / "emoheal/emotion/thresholds.py")
    assert how[0].startswith("pipelines/train.py:") and how[-1].endswith("imports emoheal.emotion.thresholds")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_the_code_it_imports(name):
    stage = STAGES[name]
    match = CMD.match(str(stage["cmd"]))
    if match is None:
        pytest.skip("not a `python pipelines/X.py` stage (see test_every_stage_runs_a_pipeline_script)")
    deps = _code_deps(stage)
    reached = import_closure(ROOT / match.group(1))
    missing = [path for path in reached if not _covered(_rel(path), deps) and not _docstring_only(path)]
    report = []
    for path in sorted(missing):
        how = chain(reached, path) or ["(the stage's own script)"]
        if path.name == "__init__.py":
            how.append("(importing anything in a package runs its __init__.py)")
        report.append(f"  {_rel(path)}\n" + "\n".join(f"      {line}" for line in how))
    assert not missing, (
        f"stage {name!r} runs code that its deps in dvc.yaml do not list, so editing it would not rerun "
        f"the stage:\n" + "\n".join(report) + "\n"
        f"Add each file (or the sub-package folder holding it) to `stages.{name}.deps` in dvc.yaml; if the "
        f"stage's outputs do not change, record the new deps without a rerun: `dvc commit -f {name}`."
    )


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_code_deps_exist(name):
    """A dep on a moved or deleted file makes DVC fail the stage; one on a stale path covers nothing."""
    absent = [dep for dep in _code_deps(STAGES[name]) if not (ROOT / dep).exists()]
    assert not absent, f"stage {name!r} lists code deps that do not exist: {absent}"
