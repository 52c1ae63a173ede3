"""The serving lock (requirements/serving.txt, what the Bento installs): lock.txt's versions only,
none of the test, lint and pipeline tools, complete (the Bento installs it with --no-deps), and
covering what the service imports; bentofile.yaml uses it and names no wheel file."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

from tests.helpers import ROOT

REQUIREMENTS = ROOT / "requirements"
NOT_IN_SERVING = {"playwright", "locust", "schemathesis", "dvc", "ruff", "pytest", "hypothesis",
                  "mlflow", "lightning", "evidently", "hydra-core", "matplotlib"}
FREEZE_OMITS = {"pip", "setuptools", "wheel"}  # not in lock.txt (pip freeze leaves them out)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def test_serving_pins_are_lock_pins_without_the_tools():
    lock, serving = pins(REQUIREMENTS / "lock.txt"), pins(REQUIREMENTS / "serving.txt")
    assert len(serving) < len(lock)
    shared = serving.keys() & lock.keys()
    assert {name: (serving[name], lock[name]) for name in shared if serving[name] != lock[name]} == {}
    assert serving.keys() - lock.keys() <= FREEZE_OMITS
    assert NOT_IN_SERVING & serving.keys() == set()
    assert NOT_IN_SERVING <= lock.keys()  # spelled as the lock spells them (else the check above is empty)


def test_serving_in_is_all_pinned():
    wanted = {canonical(Requirement(line.split("#")[0].strip()).name)
              for line in (REQUIREMENTS / "serving.in").read_text().splitlines() if line.split("#")[0].strip()}
    assert {"bentoml", "onnxruntime", "torch", "transformers"} <= wanted
    assert wanted - pins(REQUIREMENTS / "serving.txt").keys() == set()


def test_serving_lock_is_complete_for_an_install_without_dependencies():
    """Every package's own requirements (on this platform, no extras) are in the lock too. The dev
    venv has the same versions installed (lock.txt), so its metadata answers."""
    serving = pins(REQUIREMENTS / "serving.txt")
    missing = {}
    for name in serving:
        try:
            declared = requires(name) or []
        except PackageNotFoundError:  # pip, setuptools: outside what `make setup` pins
            continue
        for line in declared:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if canonical(req.name) not in serving:
                missing.setdefault(name, []).append(str(req))
    assert missing == {}


def module_file(name: str) -> Path | None:
    """The project file behind a module name (serving.x, emoheal.x.y), or None."""
    parts = name.split(".")
    base = ROOT / "src" if parts[0] == "emoheal" else ROOT
    for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def imports_at_import_time(path: Path) -> set[str]:
    """Module names imported when the file is imported: not inside functions, not TYPE_CHECKING."""
    names, stack = set(), list(ast.parse(path.read_text()).body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        stack.extend(ast.iter_child_nodes(node))
    return names


def test_the_service_imports_only_what_the_serving_lock_has():
    """Follow serving/service.py's module-level imports through serving/ and emoheal: every
    third-party package they import is in the lock. (Imports inside functions — the detector's
    torch path, faiss, the mix's audio stack — are listed in serving.in by hand.)"""
    serving, owners = pins(REQUIREMENTS / "serving.txt"), packages_distributions()
    seen, todo, third_party = set(), ["serving.service"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        if top in ("serving", "emoheal"):
            path = module_file(name)
            if path is not None:
                todo.extend(imports_at_import_time(path) | {".".join(name.split(".")[:i]) for i in (1, 2)})
        elif top not in sys.stdlib_module_names and top != "__future__":
            third_party.add(top)
    assert len(seen) > 20 and {"bentoml", "fastapi", "numpy"} <= third_party
    unpinned = {top: owners.get(top) for top in third_party
                if not any(canonical(d) in serving for d in owners.get(top, []))}
    assert unpinned == {}


def test_the_bentofile_installs_the_serving_lock_and_names_no_wheel_file():
    import yaml

    python = yaml.safe_load((ROOT / "serving" / "bentofile.yaml").read_text())["python"]
    assert python["requirements_txt"] == "./requirements/serving.txt"
    assert "--no-deps" in python["pip_args"].split()
    assert python["wheels"] and not any(re.search(r"\d+\.\d+.*\.whl$", w) for w in python["wheels"])
