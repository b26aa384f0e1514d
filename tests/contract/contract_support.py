"""Where the OpenAPI description lives, and how the contract tests read it."""

from __future__ import annotations

from pathlib import Path

import yaml

from workshop.paths import REPO_ROOT

OPENAPI_PATH: Path = REPO_ROOT / "api" / "openapi.yaml"


def load_openapi() -> dict:
    """The OpenAPI description as a dict (YAML anchors resolved)."""
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
