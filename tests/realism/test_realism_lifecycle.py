"""Realism settings reach the local cloud only through its start, and a bad one stops the start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workshop.localcloud import lifecycle
from workshop.paths import REPO_ROOT


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("WORKSHOP_REALISM_SCALE", "-1", "WORKSHOP_REALISM_SCALE='-1' must be a finite number of 0 or more"),
    ("WORKSHOP_REALISM_SCALE", "fast", "WORKSHOP_REALISM_SCALE='fast' is not a number"),
    ("WORKSHOP_REALISM", "yes", "WORKSHOP_REALISM='yes' is not a realism mode"),
])
def test_a_bad_setting_stops_the_start_before_any_process_starts(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(lifecycle.LocalCloudError) as caught:
        lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=tmp_path)
    assert message in str(caught.value)
    assert not (tmp_path / "localcloud.json").exists()
    assert not (tmp_path / "localcloud.log").exists()


def test_local_cloud_up_reports_a_bad_setting_and_exits_1(tmp_path):
    env = {**os.environ, "WORKSHOP_STATE_DIR": str(tmp_path), "WORKSHOP_REALISM": "aws",
           "WORKSHOP_REALISM_SCALE": "-0.5"}
    result = subprocess.run([sys.executable, "scripts/local_cloud.py", "up"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "error: WORKSHOP_REALISM_SCALE='-0.5' must be a finite number of 0 or more" in result.stderr
    assert not (tmp_path / "localcloud.json").exists()


def test_the_local_cloud_process_itself_refuses_a_bad_setting(tmp_path):
    """Started by hand (python -m workshop.localcloud), it exits with the message in its log."""
    env = {**os.environ, "WORKSHOP_REALISM": "sometimes"}
    result = subprocess.run(
        [sys.executable, "-m", "workshop.localcloud", "--endpoint-port", "0", "--gateway-port", "0",
         "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert "WORKSHOP_REALISM='sometimes' is not a realism mode" in result.stderr


def test_fresh_notebook_runs_are_instant_unless_realism_is_asked_for(tmp_path, monkeypatch):
    """The stored outputs come from the instant local cloud, whatever the learner exported."""
    from workshop.notebook_runner import fresh_run_environment

    monkeypatch.setenv("WORKSHOP_REALISM", "aws")
    monkeypatch.setenv("WORKSHOP_REALISM_SCALE", "0.5")
    env = fresh_run_environment(tmp_path)
    assert "WORKSHOP_REALISM" not in env and "WORKSHOP_REALISM_SCALE" not in env
    assert env["WORKSHOP_STATE_DIR"] == str(tmp_path)


def running_with(realism: dict) -> lifecycle.LocalCloudInfo:
    return lifecycle.LocalCloudInfo(endpoint="http://127.0.0.1:1", gateway="http://127.0.0.1:2", pid=1,
                                    state_dir="/tmp/x", endpoint_port=1, gateway_port=2, realism=realism)


@pytest.mark.parametrize(("running", "environ", "warns"), [
    ({"mode": "off", "scale": 1.0}, {}, False),
    ({"mode": "off", "scale": 1.0}, {"WORKSHOP_REALISM_SCALE": "0.5"}, False),
    ({"mode": "off", "scale": 1.0}, {"WORKSHOP_REALISM": "aws"}, True),
    ({"mode": "aws", "scale": 0.05}, {"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": "0.05"}, False),
    ({"mode": "aws", "scale": 0.05}, {"WORKSHOP_REALISM": "aws"}, True),
    ({"mode": "aws", "scale": 1.0}, {}, True),
])
def test_a_running_local_cloud_with_another_realism_is_pointed_out(monkeypatch, capsys, running, environ, warns):
    monkeypatch.delenv("WORKSHOP_REALISM", raising=False)
    monkeypatch.delenv("WORKSHOP_REALISM_SCALE", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    lifecycle.warn_if_realism_differs(running_with(running))
    assert ("Realism is read at start" in capsys.readouterr().err) is warns
