"""scripts/install_test_tools.sh and the skip-or-fail rule of the tool fixtures.

GIVEN a machine without Node.js, Chromium or apt-get (a PATH holding only a shell and coreutils),
WHEN the install script runs, THEN a laptop gets advice and exit 0, and CI gets exit 1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from workshop.paths import REPO_ROOT

from .chromium_cdp import find_chromium
from .conftest import ENABLE_CHROMIUM, ENABLE_NEWMAN, find_newman, require_tool

SCRIPT = REPO_ROOT / "scripts" / "install_test_tools.sh"


@pytest.fixture
def bare_path(tmp_path: Path) -> str:
    """A PATH with the few commands the script needs and none of node, npm, chromium, apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in ("bash", "dirname", "sed", "head", "id", "env"):
        found = shutil.which(command)
        assert found, command
        (bin_dir / command).symlink_to(found)
    return str(bin_dir)


def run_script(path: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "CHROMIUM")}
    return subprocess.run(  # noqa: S603
        [shutil.which("bash") or "/bin/bash", str(SCRIPT)],
        env={**clean, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",  # the script must find the repository by itself
    )


def test_without_tools_a_laptop_gets_advice_and_exit_0(bare_path):
    result = run_script(bare_path)
    assert result.returncode == 0, result.stderr
    assert "Node.js/npm not found" in result.stdout
    assert "make test-tools" in result.stdout
    assert "Chromium not found" in result.stdout
    assert "continuing without: newman chromium" in result.stdout


def test_without_tools_ci_fails_loudly(bare_path):
    result = run_script(bare_path, CI="true")
    assert result.returncode == 1
    assert "CI=true and these test tools could not be installed: newman chromium" in result.stderr


def test_a_configured_chromium_counts_as_installed(bare_path, tmp_path):
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    result = run_script(bare_path, CHROMIUM=str(fake))
    assert f"Chromium already installed ({fake})" in result.stdout
    assert "continuing without: newman" in result.stdout


def test_when_both_tools_are_installed_it_only_checks(tmp_path):
    if not (find_newman() and find_chromium()):
        pytest.skip("newman or Chromium is missing here; this test would install them")
    result = run_script(os.environ["PATH"], CI="true")
    assert result.returncode == 0, result.stdout + result.stderr
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["newman"]
    assert f"newman {pinned} already installed" in result.stdout
    assert "Chromium already installed" in result.stdout


def test_require_tool_skips_on_a_laptop_and_fails_on_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make test-tools"):
        require_tool(None, "newman", ENABLE_NEWMAN)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, so this test must run"):
        require_tool(None, "Chromium", ENABLE_CHROMIUM)
    assert require_tool("/usr/bin/chromium", "Chromium", ENABLE_CHROMIUM) == "/usr/bin/chromium"
