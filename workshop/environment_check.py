"""Scripts started with a Python that lacks the workshop's packages say how to fix it.

`python scripts/check.py` run with the system's Python (not `.venv/bin/python`) would otherwise
die on `ModuleNotFoundError: No module named 'tqdm'` deep in an import. This module uses only the
standard library, so it can run first, before anything the virtual environment provides.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: What every script needs from requirements.txt (import names).
REQUIRED_MODULES = ("boto3", "botocore", "requests", "tqdm", "moto")


def missing_modules(names: tuple[str, ...] = REQUIRED_MODULES) -> list[str]:
    """The import names in ``names`` this interpreter cannot find."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def require_workshop_python(script: str, names: tuple[str, ...] = REQUIRED_MODULES) -> None:
    """Exit with status 2 and one line of advice when the workshop's packages are missing.

    ``script`` is the script's ``__file__``; the advice names it as the learner would type it.
    """
    missing = missing_modules(names)
    if not missing:
        return
    name = f"scripts/{Path(script).name}"
    print(
        f"{name}: this Python ({sys.executable}) lacks the workshop's packages "
        f"({', '.join(missing)}). Run `make setup` once, then `.venv/bin/python {name}` "
        "(or activate the environment first: `source .venv/bin/activate`).",
        file=sys.stderr,
    )
    raise SystemExit(2)
