"""Where the OpenAPI description lives, and how the contract tests read it."""

from __future__ import annotations

from pathlib import Path

import yaml

from workshop.paths import REPO_ROOT

OPENAPI_PATH: Path = REPO_ROOT / "api" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_openapi() -> dict:
    """The OpenAPI description as a dict (YAML anchors resolved)."""
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def protected_operations(openapi: dict) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation whose ``security`` requires something."""
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and any(operation.get("security", openapi.get("security", []))):
                found.append((method.upper(), path))
    return found
