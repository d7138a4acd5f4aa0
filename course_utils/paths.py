"""Where the course keeps its files (data/, checkpoints, the dataset cache).

The repository's ``data/`` folder is used when course_utils is installed in
editable mode from a clone (``make lab``, ``make test``, the Colab set-up cell).
``COURSE_DATA_DIR`` overrides it, e.g. for a read-only checkout.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The data folder: $COURSE_DATA_DIR, else the repository's data/."""
    env = os.environ.get("COURSE_DATA_DIR")
    path = Path(env).expanduser() if env else REPO_ROOT / "data"
    if not path.is_dir():
        raise FileNotFoundError(
            f"The course data folder {path} does not exist. Install course_utils from a clone of "
            "the course repository (pip install -e .) or set COURSE_DATA_DIR to a folder holding data/."
        )
    return path
