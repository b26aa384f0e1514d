"""Every module the code imports is a direct dependency in requirements.in (issue 14).

``make lint`` runs deptry over the repository with pyproject.toml's ``[tool.deptry]``; these
tests check that configuration on a planted tree, so a broken one (deptry reading no
requirements, a module wrongly named first-party) cannot pass silently.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.paths import REPO_ROOT

DEPTRY = Path(sys.executable).with_name("deptry")


def _deptry(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEPTRY), ".", "--no-ansi"], cwd=tree, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A tree with the repository's pyproject.toml and requirements.in and one module."""
    for name in ("pyproject.toml", "requirements.in"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    (tmp_path / "workshop").mkdir()
    (tmp_path / "workshop" / "__init__.py").write_text("")
    return tmp_path


def test_the_repository_imports_only_what_requirements_in_lists():
    answer = _deptry(REPO_ROOT)
    assert answer.returncode == 0, answer.stdout + answer.stderr


def test_a_module_that_only_arrives_through_another_package_is_refused(planted):
    # jinja2 is installed (through jupyterlab and nbconvert), but not listed.
    (planted / "workshop" / "render.py").write_text("import jinja2\n")
    answer = _deptry(planted)
    assert answer.returncode != 0
    assert "DEP003 'jinja2' imported but it is a transitive dependency" in answer.stdout + answer.stderr


def test_the_listed_dependencies_are_accepted(planted):
    (planted / "workshop" / "run.py").write_text(
        "import boto3\nimport botocore.config\nimport nbclient\nimport waitress\nimport yaml\n"
    )
    (planted / "tests").mkdir()
    (planted / "tests" / "test_x.py").write_text(
        "import hypothesis\nimport jsonschema\nimport moto\nimport nbformat\nimport pytest\n"
        "import requests\nimport schemathesis\nimport tqdm\nimport werkzeug\n"
    )
    answer = _deptry(planted)
    assert answer.returncode == 0, answer.stdout + answer.stderr


def test_a_listed_dependency_nothing_uses_is_reported(planted):
    (planted / "workshop" / "run.py").write_text("import boto3\n")
    answer = _deptry(planted)
    assert "DEP002 'moto' defined as a dependency but not used in the codebase" in answer.stdout + answer.stderr
