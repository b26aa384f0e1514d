"""Where things live in the repository, so no module guesses relative paths."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
SOLUTION_LAMBDA_DIR = SOLUTIONS_DIR / "lambda"
SOLUTION_NOTEBOOKS_DIR = SOLUTIONS_DIR / "notebooks"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
LABS_DIR = REPO_ROOT / "labs"


def state_dir() -> Path:
    """The folder for run-time state (the local cloud's pid file, logs): ignored by git.

    ``WORKSHOP_STATE_DIR`` moves it, so tests can run their own local cloud beside a learner's.
    """
    return Path(os.environ.get("WORKSHOP_STATE_DIR", REPO_ROOT / ".workshop")).resolve()
