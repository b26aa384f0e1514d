"""The dev container offered to Windows and Codespaces learners stays in step with the README.

GIVEN `.devcontainer/devcontainer.json` THEN it parses as plain JSON, runs only Makefile targets
that the README names, uses the Python version pyproject.toml requires, and forwards exactly the
ports JupyterLab and the local cloud use.
"""

from __future__ import annotations

import json
import re
import tomllib

from workshop.localcloud import config
from workshop.paths import REPO_ROOT

DEVCONTAINER = REPO_ROOT / ".devcontainer" / "devcontainer.json"
JUPYTER_PORT = 8888


def load_devcontainer() -> dict:
    return json.loads(DEVCONTAINER.read_text())


def make_targets() -> set[str]:
    makefile = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))


def make_commands(text: str) -> list[str]:
    return re.findall(r"\bmake ([a-z][a-z-]*)", text)


def test_devcontainer_parses_and_names_its_commands() -> None:
    devcontainer = load_devcontainer()
    assert devcontainer["postCreateCommand"] == "make setup"
    assert make_commands(devcontainer["postAttachCommand"]) == ["lab"]


def test_every_make_command_is_a_makefile_target_the_readme_names() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    commands = make_commands(json.dumps(load_devcontainer()))
    assert commands, "the dev container runs no make command"
    for command in commands:
        assert command in make_targets(), f"make {command} is not a Makefile target"
        assert f"make {command}" in readme, f"the README never mentions make {command}"
    assert ".devcontainer/devcontainer.json" in readme
    assert "WSL" in readme


def test_python_version_is_the_one_the_project_requires() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    required = pyproject["project"]["requires-python"]  # ">=3.11"
    minimum = required.removeprefix(">=")
    image = load_devcontainer()["image"]
    assert re.search(rf"python:\S*{re.escape(minimum)}\b", image), image


def test_forwarded_ports_are_jupyterlab_and_the_local_cloud() -> None:
    devcontainer = load_devcontainer()
    expected = {JUPYTER_PORT, config.DEFAULT_ENDPOINT_PORT, config.DEFAULT_GATEWAY_PORT}
    assert set(devcontainer["forwardPorts"]) == expected
    assert set(devcontainer["portsAttributes"]) == {str(port) for port in expected}
