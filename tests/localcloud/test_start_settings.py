"""A bad local-cloud setting in the environment stops `up` with one clear line.

GIVEN a learner or instructor exports a local-cloud setting with a typo (the endpoint's server,
a port), WHEN they start the local cloud (``scripts/local_cloud.py up`` or a notebook's
``ensure_running``), THEN the start stops before any process is started, with the variable, the
value and what is accepted — the way a bad ``WORKSHOP_REALISM`` already is — rather than a
traceback or a log tail that ends with the reason after a dozen unrelated lines.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workshop.localcloud import config, lifecycle
from workshop.paths import REPO_ROOT

BAD_SETTINGS = [
    (config.ENDPOINT_SERVER_ENV, "nginx", "WORKSHOP_ENDPOINT_SERVER='nginx': choose one of waitress, werkzeug"),
    (config.ENDPOINT_SERVER_ENV, "gunicorn", "WORKSHOP_ENDPOINT_SERVER='gunicorn': choose one of waitress, werkzeug"),
    (config.ENDPOINT_PORT_ENV, "abc", "WORKSHOP_ENDPOINT_PORT='abc' is not a port number"),
    (config.GATEWAY_PORT_ENV, "70000", "WORKSHOP_GATEWAY_PORT='70000' is not a port number (0-65535)"),
]


@pytest.mark.parametrize(("variable", "value", "message"), BAD_SETTINGS)
def test_a_bad_setting_stops_the_start_before_any_process_starts(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(lifecycle.LocalCloudError) as caught:
        lifecycle.start(state_dir=tmp_path)
    assert message in str(caught.value)
    assert not (tmp_path / config.STATE_FILE_NAME).exists()
    assert not (tmp_path / config.LOG_FILE_NAME).exists()  # no process was started


@pytest.mark.parametrize(("variable", "value", "message"), [BAD_SETTINGS[0], BAD_SETTINGS[2]])
def test_local_cloud_up_reports_a_bad_setting_in_one_line_and_exits_1(tmp_path, variable, value, message):
    env = {**os.environ, "WORKSHOP_STATE_DIR": str(tmp_path), variable: value}
    result = subprocess.run([sys.executable, "scripts/local_cloud.py", "up"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {message}"
    assert not (tmp_path / config.STATE_FILE_NAME).exists()


@pytest.mark.parametrize("value", ["waitress", " Werkzeug ", ""])
def test_every_accepted_server_name_passes_the_check(monkeypatch, value):
    monkeypatch.setenv(config.ENDPOINT_SERVER_ENV, value)
    lifecycle.check_settings()  # no error


def _running(endpoint_server: str | None) -> lifecycle.LocalCloudInfo:
    return lifecycle.LocalCloudInfo(endpoint="http://127.0.0.1:1", gateway="http://127.0.0.1:2", pid=1,
                                    state_dir="/tmp/x", endpoint_port=1, gateway_port=2,
                                    realism={"mode": "off", "scale": 1.0}, endpoint_server=endpoint_server)


@pytest.mark.parametrize(("running", "asked", "warns"), [
    ("waitress", None, False),
    ("waitress", "waitress", False),
    ("waitress", " Werkzeug ", True),
    ("werkzeug", None, True),  # the default is waitress
    (None, "werkzeug", False),  # a local cloud from before the setting existed: nothing to compare
])
def test_a_running_local_cloud_on_another_endpoint_server_is_pointed_out(monkeypatch, capsys, running, asked, warns):
    """Like realism, the server is chosen at start: someone comparing servers who sets the
    variable while a local cloud runs must learn that it still runs the other one."""
    monkeypatch.delenv(config.ENDPOINT_SERVER_ENV, raising=False)
    monkeypatch.delenv("WORKSHOP_REALISM", raising=False)
    monkeypatch.delenv("WORKSHOP_REALISM_SCALE", raising=False)
    if asked is not None:
        monkeypatch.setenv(config.ENDPOINT_SERVER_ENV, asked)

    lifecycle.warn_if_settings_differ(_running(running))

    err = capsys.readouterr().err
    assert ("WORKSHOP_ENDPOINT_SERVER" in err and "is read at start" in err) is warns
    if warns:
        assert running in err


def test_the_status_of_a_running_local_cloud_names_its_endpoint_server(tmp_path):
    state = {"endpoint": "http://127.0.0.1:1", "gateway": "http://127.0.0.1:2", "pid": 1,
             "endpoint_port": 1, "gateway_port": 2, "endpoint_server": "werkzeug"}
    assert lifecycle._info(state, tmp_path).endpoint_server == "werkzeug"
    assert lifecycle._info(state, tmp_path).to_dict()["endpoint_server"] == "werkzeug"
