"""Starting, finding and stopping the local cloud, through the package and the CLI.

Most tests share the session's ``local_cloud`` (a real detached process); one starts and stops
its own in a fresh state folder, and stale-state tests need no process at all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from workshop.localcloud import config, lifecycle
from workshop.localcloud.server import LocalCloudServer
from workshop.paths import REPO_ROOT

pytestmark = pytest.mark.localcloud

CLI = REPO_ROOT / "scripts" / "local_cloud.py"


def run_cli(*args: str, state_dir: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WORKSHOP_STATE_DIR=str(state_dir))
    return subprocess.run(
        [sys.executable, str(CLI), *args], env=env, capture_output=True, text=True, timeout=60
    )


def cli_main(*args: str) -> int:
    sys.path.insert(0, str(CLI.parent))
    try:
        import local_cloud as cli
    finally:
        sys.path.remove(str(CLI.parent))
    return cli.main(list(args))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_state(state_dir: Path, **state: object) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / config.STATE_FILE_NAME
    path.write_text(json.dumps(state))
    return path


# -- the session's local cloud ---------------------------------------------------------------


def test_the_running_local_cloud_is_found_and_listens_on_loopback_only(local_cloud):
    found = lifecycle.status(local_cloud.state_dir)

    assert found == local_cloud
    assert local_cloud.endpoint == f"http://127.0.0.1:{local_cloud.endpoint_port}"
    assert local_cloud.gateway == f"http://127.0.0.1:{local_cloud.gateway_port}"
    assert os.environ["AWS_ENDPOINT_URL"] == local_cloud.endpoint
    with urllib.request.urlopen(local_cloud.endpoint + "/_localcloud/health", timeout=5) as answer:
        health = json.loads(answer.read())
    assert health["pid"] == local_cloud.pid
    assert (health["account_id"], health["region"]) == ("123456789012", "us-east-1")
    state = json.loads((Path(local_cloud.state_dir) / config.STATE_FILE_NAME).read_text())
    assert state["pid"] == local_cloud.pid
    assert state["endpoint"] == local_cloud.endpoint and state["gateway"] == local_cloud.gateway


def test_start_and_ensure_running_report_the_running_one_instead_of_starting_another(local_cloud):
    again = lifecycle.start(state_dir=local_cloud.state_dir)
    ensured = lifecycle.ensure_running()  # WORKSHOP_STATE_DIR names the session's folder

    assert again.pid == ensured.pid == local_cloud.pid
    assert ensured.endpoint == local_cloud.endpoint


def test_target_connect_points_boto3_at_the_running_local_cloud(local_cloud, capsys):
    from workshop.target import connect

    target = connect()

    assert target.endpoint == local_cloud.endpoint
    assert target.gateway == local_cloud.gateway
    assert target.invoke_url("abc123", "prod") == f"{local_cloud.gateway}/abc123/prod"
    assert "local cloud" in capsys.readouterr().out


def test_cli_up_twice_reports_the_running_one(local_cloud):
    result = run_cli("up", state_dir=local_cloud.state_dir)

    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    assert local_cloud.endpoint in result.stdout and local_cloud.gateway in result.stdout
    assert lifecycle.status(local_cloud.state_dir).pid == local_cloud.pid


def test_cli_status_json_prints_endpoint_and_gateway(local_cloud):
    result = run_cli("status", "--json", state_dir=local_cloud.state_dir)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["running"] is True
    assert document["endpoint"] == local_cloud.endpoint
    assert document["gateway"] == local_cloud.gateway
    assert document["pid"] == local_cloud.pid


def test_cli_url_prints_the_invoke_base_url_after_checking_api_and_stage(local_cloud, capsys):
    import boto3

    apigateway = boto3.client("apigateway")  # AWS_ENDPOINT_URL points at the local cloud
    api_id = apigateway.create_rest_api(name="cli-url-test")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")

    assert cli_main("url", api_id) == 0
    assert capsys.readouterr().out.strip() == f"{local_cloud.gateway}/{api_id}/prod"

    assert cli_main("url", api_id, "--stage", "dev") == 1
    error = capsys.readouterr().err
    assert "no stage 'dev'" in error and "prod" in error

    assert cli_main("url", "nosuchapi1") == 1
    error = capsys.readouterr().err
    assert "no REST API with id 'nosuchapi1'" in error and api_id in error


# -- a local cloud of its own: start, status, down --------------------------------------------


def test_up_status_down_in_a_fresh_state_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path))
    monkeypatch.setenv(config.ENDPOINT_PORT_ENV, "0")  # free ports, never a learner's 4566
    monkeypatch.setenv(config.GATEWAY_PORT_ENV, "0")
    try:
        assert cli_main("up") == 0
        out = capsys.readouterr().out
        info = lifecycle.status(tmp_path)
        assert info is not None
        assert out.startswith(f"Local cloud started (pid {info.pid})")
        assert info.endpoint in out and info.gateway in out
        assert (tmp_path / config.STATE_FILE_NAME).is_file()

        assert cli_main("status") == 0
        assert info.endpoint in capsys.readouterr().out

        assert cli_main("down") == 0
        assert "stopped" in capsys.readouterr().out
        assert lifecycle.status(tmp_path) is None
        assert not (tmp_path / config.STATE_FILE_NAME).exists()
        with pytest.raises(OSError):
            urllib.request.urlopen(info.endpoint + "/_localcloud/health", timeout=2)

        assert cli_main("status") == 1
        assert "not running" in capsys.readouterr().out
        assert cli_main("status", "--json") == 0
        assert json.loads(capsys.readouterr().out) == {
            "running": False, "endpoint": None, "gateway": None, "saved_state": None}
        assert cli_main("down") == 0
        assert "was not running" in capsys.readouterr().out
        assert "local cloud stopped" in (tmp_path / config.LOG_FILE_NAME).read_text()
    finally:
        lifecycle.stop(tmp_path)


def test_an_explicit_port_that_is_taken_fails_with_a_clear_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        with pytest.raises(lifecycle.LocalCloudError) as raised:
            lifecycle.start(endpoint_port=port, gateway_port=0, state_dir=tmp_path)

    assert f"cannot listen on 127.0.0.1:{port}" in str(raised.value)
    assert lifecycle.status(tmp_path) is None


# -- stale state ------------------------------------------------------------------------------


def test_a_state_file_with_a_dead_pid_is_stale_and_removed(tmp_path):
    path = write_state(
        tmp_path, pid=dead_pid(), endpoint=f"http://127.0.0.1:{closed_port()}",
        gateway="http://127.0.0.1:1", endpoint_port=1, gateway_port=1,
    )

    assert lifecycle.status(tmp_path) is None
    assert not path.exists()
    result = run_cli("status", state_dir=tmp_path)
    assert result.returncode == 1
    assert "not running" in result.stdout


def test_a_live_pid_that_is_not_the_local_cloud_is_stale(tmp_path, local_cloud):
    # After a reboot the old pid may belong to another program, and the port to another cloud.
    path = write_state(
        tmp_path, pid=os.getpid(), endpoint=local_cloud.endpoint, gateway=local_cloud.gateway,
        endpoint_port=local_cloud.endpoint_port, gateway_port=local_cloud.gateway_port,
    )

    assert lifecycle.status(tmp_path) is None
    assert not path.exists()


def test_an_unreadable_state_file_is_stale(tmp_path):
    path = tmp_path / config.STATE_FILE_NAME
    path.write_text("{ not json")

    assert lifecycle.status(tmp_path) is None
    assert not path.exists()
    assert lifecycle.stop(tmp_path) is False


# -- ports and binding (in-process, no subprocess needed) ---------------------------------------


def test_the_server_refuses_to_bind_anything_but_loopback():
    with pytest.raises(ValueError, match="127.0.0.1 only"):
        LocalCloudServer(0, 0, host="0.0.0.0")


def test_a_taken_preferred_port_falls_back_to_a_free_one_and_stop_restores_moto():
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    from workshop.localcloud import moto_seam

    original_invoke = LambdaFunction.invoke
    original_response_invoke = LambdaResponse.invoke
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        saved = dict(os.environ)
        server = LocalCloudServer(port, 0, fallback_to_free_ports=True)
        try:
            server.start()
            assert server.describe()["endpoint_port"] != port
            assert server._endpoint_server.server_address[0] == "127.0.0.1"
            assert server._gateway_server.server_address[0] == "127.0.0.1"
            assert moto_seam.installed_runtime() is server.runtime
            assert LambdaFunction.invoke is not original_invoke
        finally:
            server.stop()
            os.environ.clear()
            os.environ.update(saved)
    # Other tests in this process may use moto's mock_aws: moto must be as it was.
    assert moto_seam.installed_runtime() is None
    assert LambdaFunction.invoke is original_invoke
    assert LambdaResponse.invoke is original_response_invoke
    assert not server.runtime.work_dir.exists()


def test_default_ports_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(config.ENDPOINT_PORT_ENV, raising=False)
    monkeypatch.setenv(config.GATEWAY_PORT_ENV, "5600")

    assert config.default_endpoint_port() == 4566
    assert config.default_gateway_port() == 5600

    monkeypatch.setenv(config.ENDPOINT_PORT_ENV, "not-a-port")
    with pytest.raises(ValueError, match="WORKSHOP_ENDPOINT_PORT"):
        config.default_endpoint_port()
    monkeypatch.setenv(config.ENDPOINT_PORT_ENV, "70000")
    with pytest.raises(ValueError, match="0-65535"):
        config.default_endpoint_port()


def test_a_failed_start_releases_what_it_took():
    from workshop.localcloud import moto_seam

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        saved = dict(os.environ)
        server = LocalCloudServer(0, port)  # the gateway port is taken, no fallback
        try:
            with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port} for the gateway"):
                server.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    assert moto_seam.installed_runtime() is None
    assert not server.runtime.work_dir.exists()
    with socket.socket() as probe:  # the endpoint port was given back
        probe.bind(("127.0.0.1", server._endpoint_server.server_port))
