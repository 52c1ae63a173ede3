"""The code base stays ruff clean (a ground rule), checked in CI like any test."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "src", "pipelines", "tests", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
