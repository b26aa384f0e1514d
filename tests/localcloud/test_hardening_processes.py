"""Fault injection in execution environments: children left behind, crashes, isolation.

A local cloud of this module's own (a real detached process, as `local_cloud.py up` starts it)
is started from an environment holding made-up "real" AWS credentials, so the tests can look for
them wherever a function could read them. Every process a test learns about is killed at the end
even when the test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from hardening_support import kill_quietly, pid_alive, wait_until
from localcloud_support import REGION, TRUST_POLICY, make_zip, unique

from workshop.localcloud import lifecycle

pytestmark = [
    pytest.mark.localcloud,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process trees via /proc (Linux)"),
]

MARKER = f"real-secret-{uuid.uuid4().hex}"
SHELL_SECRETS = {
    "AWS_SECRET_ACCESS_KEY": MARKER,
    "AWS_ACCESS_KEY_ID": "AKIA" + MARKER[-16:].upper(),
    "AWS_SESSION_TOKEN": MARKER + "-token",
    "AWS_PROFILE": MARKER + "-profile",
    "GITHUB_TOKEN": MARKER + "-github",
}

#: One function for every fault, chosen by the event.
FAULTS_SOURCE = r'''
import json, os, signal, subprocess, sys, time


def _leave_child(event):
    """Start a process that outlives the handler; returns its pid."""
    how = event["child"]
    if how == "popen-new-session":
        return subprocess.Popen(["sleep", "120"], start_new_session=True,
                                stdout=sys.__stdout__, stderr=subprocess.STDOUT).pid
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        if how in ("fork-setsid", "double-fork"):
            os.setsid()
        if how == "double-fork":
            if os.fork() > 0:
                os._exit(0)
        os.write(write_end, str(os.getpid()).encode())
        os.close(write_end)
        time.sleep(120)  # holds the environment's output pipes, as a daemon would
        os._exit(0)
    os.close(write_end)
    child = int(os.read(read_end, 32) or 0)
    os.close(read_end)
    if how != "double-fork":
        return pid
    return child


def handler(event, context):
    kind = event.get("kind")
    if kind == "environ-scan":
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for marker in event["markers"]:
                if marker.encode() in data:
                    found.append([int(entry), marker])
        readable = {}
        for pid in event.get("try_pids", []):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    f.read()
                readable[str(pid)] = True
            except OSError:
                readable[str(pid)] = False
        return {"found": found, "readable": readable, "ppid": os.getppid(),
                "parent_environ": _parent_environ()}
    if kind == "whoami":
        return {"pid": os.getpid(), "ppid": os.getppid(),
                "secret": os.environ.get("FUNCTION_SECRET")}
    child = _leave_child(event)
    with open(event["report"], "w") as f:
        json.dump({"child": child, "pid": os.getpid(), "ppid": os.getppid()}, f)
    end = event.get("end")
    if end == "exit":
        os._exit(3)
    if end == "sys.exit":
        sys.exit(2)
    if end == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if end == "kill-supervisor":
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(120)
    if end == "hang":
        time.sleep(120)
    return {"statusCode": 200, "body": json.dumps({"child": child})}


def _parent_environ():
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            return f.read().decode("latin-1")
    except OSError as error:
        return f"unreadable: {error}"
'''


class Cloud:
    """This module's local cloud and the boto3 clients that reach it."""

    def __init__(self, info: lifecycle.LocalCloudInfo) -> None:
        self.info = info
        self.pids: set[int] = set()  # everything a test learned about, killed at the end
        self._clients: dict[str, object] = {}

    def client(self, service: str):  # noqa: ANN201 - a boto3 client
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.info.endpoint, region_name=REGION,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(read_timeout=60, retries={"max_attempts": 0}),
            )
        return self._clients[service]

    def deploy(self, *, timeout: int = 30, environment: dict[str, str] | None = None) -> str:
        name = unique("faults")
        iam = self.client("iam")
        role = iam.create_role(RoleName=unique("faults-role"),
                               AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
        self.client("lambda").create_function(
            FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
            Code={"ZipFile": make_zip({"app.py": FAULTS_SOURCE})}, Timeout=timeout,
            Environment={"Variables": environment or {}},
        )
        return name

    def invoke(self, name: str, event: dict) -> tuple[dict, dict, float]:
        started = time.monotonic()
        answer = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
        elapsed = time.monotonic() - started
        return answer, json.loads(answer["Payload"].read() or b"null"), elapsed


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    state_dir = tempfile.mkdtemp(prefix="workshop-hardening-")
    saved = dict(os.environ)
    os.environ.update(SHELL_SECRETS)  # what a learner's shell may hold
    try:
        info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    handle = Cloud(info)
    try:
        yield handle
    finally:
        lifecycle.stop(state_dir)
        kill_quietly(info.pid, *handle.pids)
        shutil.rmtree(state_dir, ignore_errors=True)


def _report(tmp_path: Path) -> Path:
    return tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"


def _read_report(path: Path, cloud: Cloud) -> dict:
    report = json.loads(path.read_text())
    cloud.pids.update({report["child"], report["pid"], report["ppid"]})
    return report


@pytest.mark.parametrize("child", ["fork", "fork-setsid", "double-fork", "popen-new-session"])
@pytest.mark.parametrize("end", ["exit", "sys.exit", "crash"])
def test_a_function_that_leaves_a_child_and_dies_is_answered_at_once_and_the_child_ends(
    cloud, tmp_path, child, end
):
    # GIVEN a function (Timeout 30 s) that starts a child holding its output pipes
    name = cloud.deploy(timeout=30)
    report = _report(tmp_path)
    # WHEN the function's process then ends (exit, sys.exit, a crash)
    answer, payload, elapsed = cloud.invoke(name, {"child": child, "end": end, "report": str(report)})
    # THEN the caller gets the runtime's error at once, not after the timeout
    assert answer.get("FunctionError") == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert elapsed < 5, f"answered after {elapsed:.1f} s"
    # AND the child it left behind is ended with the environment
    pids = _read_report(report, cloud)
    assert wait_until(lambda: not pid_alive(pids["child"]), 3), f"child {pids['child']} still runs"
    assert not pid_alive(pids["pid"])


def test_a_function_that_kills_its_own_supervisor_leaves_nothing_behind(cloud, tmp_path):
    name = cloud.deploy(timeout=30)
    report = _report(tmp_path)
    answer, payload, elapsed = cloud.invoke(
        name, {"child": "fork-setsid", "end": "kill-supervisor", "report": str(report)}
    )
    assert answer.get("FunctionError") == "Unhandled"
    assert elapsed < 5
    pids = _read_report(report, cloud)
    # the local cloud adopts what the supervisor left and ends it
    assert wait_until(lambda: not pid_alive(pids["child"]) and not pid_alive(pids["pid"]), 3)


def test_a_timeout_ends_the_children_a_function_started(cloud, tmp_path):
    name = cloud.deploy(timeout=1)
    report = _report(tmp_path)
    answer, payload, elapsed = cloud.invoke(name, {"child": "fork-setsid", "end": "hang", "report": str(report)})
    assert payload["errorType"] == "Sandbox.Timedout"
    assert elapsed < 5
    pids = _read_report(report, cloud)
    assert wait_until(lambda: not pid_alive(pids["child"]), 3)


def test_a_gateway_caller_gets_its_502_at_once(cloud, tmp_path):
    # GIVEN an API whose function leaves a child in a session of its own, then crashes
    name = cloud.deploy(timeout=30)
    apigateway = cloud.client("apigateway")
    api_id = apigateway.create_rest_api(name=unique("faults-api"))["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="POST", authorizationType="NONE")
    arn = cloud.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    apigateway.put_integration(
        restApiId=api_id, resourceId=root, httpMethod="POST", type="AWS_PROXY", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    cloud.client("lambda").add_permission(
        FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    report = _report(tmp_path)
    # The proxy event carries the request body; the handler reads its fields from the event
    # itself, so route them through the body's JSON into a tiny shim.
    shim = FAULTS_SOURCE + '''
_inner = handler
def handler(event, context):
    if "body" in event:
        event = json.loads(event["body"])
    return _inner(event, context)
'''
    cloud.client("lambda").update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": shim}))
    started = time.monotonic()
    response = requests.post(
        f"{cloud.info.gateway}/{api_id}/prod/",
        json={"child": "popen-new-session", "end": "crash", "report": str(report)}, timeout=60,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert elapsed < 5
    pids = _read_report(report, cloud)
    assert wait_until(lambda: not pid_alive(pids["child"]), 3)


def test_functions_cannot_read_each_others_or_the_local_clouds_environment(cloud):
    # GIVEN a warm function holding a secret in its environment variables
    secret = f"function-secret-{uuid.uuid4().hex}"
    holder = cloud.deploy(environment={"FUNCTION_SECRET": secret})
    _, whoami, _ = cloud.invoke(holder, {"kind": "whoami"})
    assert whoami["secret"] == secret  # the function itself sees it
    cloud.pids.update({whoami["pid"], whoami["ppid"]})
    # WHEN another function looks through every /proc/<pid>/environ it can open
    reader = cloud.deploy()
    _, scan, _ = cloud.invoke(
        reader,
        {"kind": "environ-scan", "markers": [secret, MARKER], "try_pids": [whoami["pid"], whoami["ppid"]]},
    )
    # THEN it finds neither the other function's secret nor the learner's shell secrets
    assert scan["found"] == []
    assert MARKER not in scan["parent_environ"]
    if os.geteuid() != 0:
        # AND the other environment's process cannot even be opened (non-dumpable); root
        # (CAP_SYS_PTRACE) reads any process, which is why the variables are not there at all
        assert scan["readable"] == {str(whoami["pid"]): False, str(whoami["ppid"]): False}


def test_the_local_cloud_process_starts_without_the_shells_secrets(cloud):
    environ = Path(f"/proc/{cloud.info.pid}/environ").read_bytes().decode("latin-1")
    variables = dict(item.split("=", 1) for item in environ.split("\0") if "=" in item)
    assert MARKER not in environ
    assert "AWS_PROFILE" not in variables and "AWS_SESSION_TOKEN" not in variables
    assert "GITHUB_TOKEN" not in variables
    assert variables["AWS_ACCESS_KEY_ID"] == "testing"
    assert variables["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull


def test_a_local_cloud_run_in_the_foreground_drops_the_shells_secrets_too(tmp_path):
    import subprocess

    from workshop.paths import REPO_ROOT

    env = dict(os.environ, **SHELL_SECRETS, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "workshop.localcloud", "--endpoint-port", "0", "--gateway-port", "0",
         "--state-dir", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        assert b"Local cloud ready" in process.stdout.readline()
        environ = Path(f"/proc/{process.pid}/environ").read_bytes()
        assert MARKER.encode() not in environ
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
