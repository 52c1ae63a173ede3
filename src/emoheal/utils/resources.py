"""Where the curated data that ships with the code lives (narratives, safety patterns).

In a checkout it is the repository's `data/`; an installed package (a Bento, a container)
sets `EMOHEAL_DATA_DIR` to the folder its build copied them to."""

from __future__ import annotations

import os
from pathlib import Path

REPO_DATA = Path(__file__).resolve().parents[3] / "data"


def data_dir(*parts: str) -> Path:
    return Path(os.environ.get("EMOHEAL_DATA_DIR") or REPO_DATA, *parts)
