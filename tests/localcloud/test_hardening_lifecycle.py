"""Fault injection around the local cloud's life: down, a stopped (hung) process, a crash, an
unwritable state folder, and what connect() says when the old local cloud is gone.

Each test starts its own local cloud in its own state folder, on free ports, and kills whatever
it started even when it fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from hardening_support import kill_quietly, pid_alive, wait_until
from localcloud_support import REGION, TRUST_POLICY, make_zip, unique

from workshop.localcloud import config, lifecycle
from workshop.paths import REPO_ROOT

pytestmark = pytest.mark.localcloud

CLI = REPO_ROOT / "scripts" / "local_cloud.py"

LEAVE_A_DAEMON = r'''
import json, os, subprocess, sys, time

def handler(event, context):
    child = subprocess.Popen(["sleep", "120"], start_new_session=True).pid
    report = {"pid": os.getpid(), "supervisor": os.getppid(), "child": child}
    if event.get("report"):
        with open(event["report"], "w") as f:
            json.dump(report, f)
        time.sleep(120)  # busy when the local cloud goes down
    return report
'''


def run_cli(*args: str, state_dir: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WORKSHOP_STATE_DIR=str(state_dir),
               WORKSHOP_ENDPOINT_PORT="0", WORKSHOP_GATEWAY_PORT="0")
    return subprocess.run([sys.executable, str(CLI), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def own_cloud(tmp_path: Path) -> Iterator[tuple[lifecycle.LocalCloudInfo, set[int]]]:
    """A local cloud of this test's own; the set collects pids to kill if the test fails."""
    state_dir = tmp_path / "state"
    info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)
    pids = {info.pid}
    try:
        yield info, pids
    finally:
        kill_quietly(*pids)
        with_timeout = time.monotonic() + 5
        while any(pid_alive(pid) for pid in pids) and time.monotonic() < with_timeout:
            time.sleep(0.05)
        try:
            lifecycle.stop(state_dir)
        except lifecycle.LocalCloudError:
            pass


def _lambda(info: lifecycle.LocalCloudInfo, service: str = "lambda"):  # noqa: ANN202
    return boto3.client(service, endpoint_url=info.endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(read_timeout=60, retries={"max_attempts": 0}))


def _deploy_daemon_leaver(info: lifecycle.LocalCloudInfo) -> str:
    role = _lambda(info, "iam").create_role(
        RoleName=unique("role"), AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    name = unique("daemon")
    _lambda(info).create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                  Handler="app.handler", Timeout=60,
                                  Code={"ZipFile": make_zip({"app.py": LEAVE_A_DAEMON})})
    return name


def _processes_of(info: lifecycle.LocalCloudInfo, pids: set[int]) -> dict:
    """Invoke the daemon-leaving function once; returns the pids it reports."""
    name = _deploy_daemon_leaver(info)
    answer = _lambda(info).invoke(FunctionName=name, Payload=b"{}")
    reported = json.loads(answer["Payload"].read())
    pids.update(reported.values())
    return reported


# -- down ---------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process trees via /proc (Linux)")
def test_down_ends_everything_within_five_seconds_and_orphans_nothing(own_cloud):
    # GIVEN a local cloud with a warm environment whose function left a daemon running, and a
    # second environment busy in a long invocation
    info, pids = own_cloud
    _processes_of(info, pids)
    busy_name = _deploy_daemon_leaver(info)
    import threading

    busy_report = Path(info.state_dir) / "busy.json"
    threading.Thread(
        target=lambda: _safe_invoke(info, busy_name, busy_report), daemon=True
    ).start()
    assert wait_until(busy_report.exists, 20)
    time.sleep(0.1)
    pids.update(json.loads(busy_report.read_text()).values())
    assert all(pid_alive(pid) for pid in pids)
    # WHEN the learner runs `local_cloud.py down`
    started = time.monotonic()
    result = run_cli("down", state_dir=Path(info.state_dir))
    elapsed = time.monotonic() - started
    # THEN it is all gone within 5 s: the local cloud, its workers, what they started
    assert result.returncode == 0, result.stderr
    assert elapsed < 5, f"down took {elapsed:.1f} s"
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5 - elapsed + 0.5), [
        p for p in pids if pid_alive(p)
    ]
    assert not (Path(info.state_dir) / config.STATE_FILE_NAME).exists()


def _safe_invoke(info: lifecycle.LocalCloudInfo, name: str, report: Path) -> None:
    try:
        _lambda(info).invoke(FunctionName=name, Payload=json.dumps({"report": str(report)}))
    except Exception:  # noqa: BLE001 - the local cloud goes away under it, on purpose
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process trees via /proc (Linux)")
def test_a_killed_local_cloud_leaves_no_worker_behind(own_cloud):
    # GIVEN a warm environment that left a daemon
    info, pids = own_cloud
    reported = _processes_of(info, pids)
    # WHEN the local cloud itself is SIGKILLed (no chance to stop its workers)
    os.kill(info.pid, signal.SIGKILL)
    # THEN each environment's supervisor notices and ends its whole tree
    assert wait_until(lambda: not any(pid_alive(p) for p in reported.values()), 5)


# -- a hung local cloud ------------------------------------------------------------------------


def test_a_stopped_local_cloud_is_reported_not_responding_and_not_replaced(own_cloud):
    info, pids = own_cloud
    state_dir = Path(info.state_dir)
    state_file = state_dir / config.STATE_FILE_NAME
    os.kill(info.pid, signal.SIGSTOP)
    try:
        # WHEN the learner asks for its status
        started = time.monotonic()
        status = run_cli("status", state_dir=state_dir)
        elapsed = time.monotonic() - started
        # THEN within 3 s: "not responding (pid N)", the state file kept
        assert f"not responding (pid {info.pid})" in status.stdout, status
        assert status.returncode == 1
        assert elapsed < 3 + 1.0, f"status took {elapsed:.1f} s"  # + Python's own start-up
        assert json.loads(state_file.read_text())["pid"] == info.pid
        # AND `up` does not start a second local cloud over it
        up = run_cli("up", state_dir=state_dir, timeout=60)
        assert up.returncode == 1
        assert f"not responding (pid {info.pid})" in up.stderr
        assert "Traceback" not in up.stderr
        assert json.loads(state_file.read_text())["pid"] == info.pid
        # AND connect() (through ensure_running) refuses too, with the same one-line message
        with pytest.raises(lifecycle.LocalCloudNotResponding, match=f"pid {info.pid}"):
            lifecycle.ensure_running(state_dir)
    finally:
        os.kill(info.pid, signal.SIGCONT)
    assert lifecycle.status(state_dir) == info  # resumed: found again, same process


def test_down_ends_a_stopped_local_cloud(own_cloud):
    info, _ = own_cloud
    os.kill(info.pid, signal.SIGSTOP)
    started = time.monotonic()
    result = run_cli("down", state_dir=Path(info.state_dir))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 5 + 1.0
    assert wait_until(lambda: not pid_alive(info.pid), 2)
    assert lifecycle.status(info.state_dir) is None


# -- an unwritable state folder ----------------------------------------------------------------


def _unwritable_folders(tmp_path: Path) -> list[Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    folders = [a_file / "state"]  # cannot be created, even by root
    if os.geteuid() != 0:  # root writes anywhere: the permission case needs a normal user
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        folders += [locked, locked / "state"]
    return folders


@pytest.mark.parametrize("command", ["up", "status", "down"])
def test_an_unwritable_state_folder_is_one_line_and_exit_status_1(tmp_path, command):
    for folder in _unwritable_folders(tmp_path):
        result = run_cli(command, state_dir=folder)
        assert result.returncode == 1, (folder, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(folder) in lines[0] and "WORKSHOP_STATE_DIR" in lines[0]
        assert "Traceback" not in result.stderr + result.stdout


def test_connect_with_an_unwritable_state_folder_shows_one_line_in_a_notebook(tmp_path):
    folder = _unwritable_folders(tmp_path)[0]
    # The notebook's first cell, run by IPython as a kernel runs it
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "result = shell.run_cell('from workshop.target import connect\\nconnect()')\n"
        "print('FAILED' if result.error_in_exec else 'OK')\n"
    )
    env = dict(os.environ, WORKSHOP_STATE_DIR=str(folder), WORKSHOP_TARGET="local")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, cwd=REPO_ROOT)
    output = result.stdout + result.stderr
    assert "FAILED" in output
    assert "Traceback" not in output and "---------" not in output
    message = [line for line in output.splitlines() if "WORKSHOP_STATE_DIR" in line]
    assert len(message) == 1 and str(folder) in message[0]


def test_scripts_that_connect_report_an_unwritable_state_folder_in_one_line(tmp_path):
    folder = _unwritable_folders(tmp_path)[0]
    env = dict(os.environ, WORKSHOP_STATE_DIR=str(folder), WORKSHOP_TARGET="local")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "deploy.py")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "WORKSHOP_STATE_DIR" in result.stderr and str(folder) in result.stderr


# -- the old local cloud is gone ---------------------------------------------------------------


@pytest.fixture
def connect_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state_dir = tmp_path / "state"
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(state_dir))
    monkeypatch.setenv("WORKSHOP_ENDPOINT_PORT", "0")
    monkeypatch.setenv("WORKSHOP_GATEWAY_PORT", "0")
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored by monkeypatch
    return state_dir


def _connect_output(capsys: pytest.CaptureFixture[str]) -> str:
    from workshop.target import connect

    connect()
    return capsys.readouterr().out


def test_connect_says_when_it_replaced_a_crashed_local_cloud_with_an_empty_one(connect_env, capsys):
    state_dir = connect_env
    first = _connect_output(capsys)
    info = lifecycle.status(state_dir)
    try:
        assert info is not None
        assert "started EMPTY" not in first  # the first local cloud of the folder: nothing lost
        os.kill(info.pid, signal.SIGKILL)  # a crash (or a reboot)
        assert wait_until(lambda: not lifecycle._pid_alive(info.pid), 5)
        second = _connect_output(capsys)
        assert "started EMPTY" in second
        assert f"pid {info.pid}" in second and "crashed" in second
        assert "catch_up(" in second  # names the catch-up cell
    finally:
        lifecycle.stop(state_dir)
        kill_quietly(info.pid if info else 0)


def test_connect_says_when_the_old_local_cloud_was_stopped_with_down(connect_env, capsys):
    state_dir = connect_env
    _connect_output(capsys)
    try:
        assert lifecycle.stop(state_dir)
        again = _connect_output(capsys)
        assert "started EMPTY" in again and "local_cloud.py down" in again
        assert "started EMPTY" not in _connect_output(capsys)  # still running: nothing to say
    finally:
        lifecycle.stop(state_dir)
