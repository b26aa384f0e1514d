"""The local cloud keeps a learner's work across ``down``, ``kill -9`` and ``reset``: real local
clouds (detached processes, free ports), each in a state folder of its own.

GIVEN work done on a local cloud WHEN it stops (cleanly or killed) and starts again THEN the work
is there with the same ids, the same URLs (when the ports are free) and exactly the same values.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from function_roles import allow_function_basics
from localcloud_support import TRUST_POLICY, make_zip

from workshop.localcloud import config, lifecycle
from workshop.localcloud.snapshots import fileformat, take_notice
from workshop.paths import REPO_ROOT

pytestmark = pytest.mark.localcloud

CLI = REPO_ROOT / "scripts" / "local_cloud.py"
OWNER = "tester"
_ENV_KEYS = (
    "WORKSHOP_STATE_DIR",
    "AWS_ENDPOINT_URL",
    config.ENDPOINT_PORT_ENV,
    config.GATEWAY_PORT_ENV,
)


@dataclass
class Cloud:
    """A local cloud of its own; ``start`` / ``stop`` / ``kill`` keep the same state folder."""

    state_dir: Path
    info: Any = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def start(self, ports: tuple[int | None, int | None] = (None, None)) -> Any:
        self.info = lifecycle.start(*ports, state_dir=self.state_dir)
        os.environ["AWS_ENDPOINT_URL"] = self.info.endpoint
        self._clients.clear()
        return self.info

    def stop(self) -> None:
        lifecycle.stop(self.state_dir)

    def kill(self) -> None:
        """``kill -9``: the process (and its Lambda workers) dies without writing anything."""
        os.killpg(self.info.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while lifecycle.status(self.state_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.info.endpoint,
                region_name="us-east-1",
                config=Config(retries={"max_attempts": 0}, read_timeout=60),
            )
        return self._clients[service]

    def header(self) -> fileformat.Header | None:
        try:
            return fileformat.read_header(fileformat.snapshot_path(self.state_dir))
        except FileNotFoundError:
            return None

    def snapshot_now(self) -> dict[str, Any]:
        request = urllib.request.Request(
            self.info.endpoint + "/_localcloud/snapshot", method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())


def _own_state_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="workshop-snapshots-"))


@contextlib.contextmanager
def own_cloud() -> Iterator[Cloud]:
    """A state folder and environment of its own; whatever runs in it is stopped at the end."""
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    state_dir = _own_state_dir()
    os.environ["WORKSHOP_STATE_DIR"] = str(state_dir)
    for key in (config.ENDPOINT_PORT_ENV, config.GATEWAY_PORT_ENV):
        os.environ.pop(key, None)
    cloud = Cloud(state_dir)
    try:
        yield cloud
    finally:
        try:
            lifecycle.stop(state_dir)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            import shutil

            shutil.rmtree(state_dir, ignore_errors=True)


def run_cli(cloud: Cloud, *args: str) -> subprocess.CompletedProcess[str]:
    """``scripts/local_cloud.py`` in this process (no interpreter start per call), any free
    ports, no terminal on stdin."""
    import io

    sys.path.insert(0, str(CLI.parent))
    try:
        import local_cloud as cli
    finally:
        sys.path.remove(str(CLI.parent))
    os.environ["WORKSHOP_STATE_DIR"] = str(cloud.state_dir)
    os.environ[config.ENDPOINT_PORT_ENV] = os.environ[config.GATEWAY_PORT_ENV] = "0"
    out, err, saved_stdin = io.StringIO(), io.StringIO(), sys.stdin
    sys.stdin = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(args))
    finally:
        sys.stdin = saved_stdin
    return subprocess.CompletedProcess(
        ["local_cloud.py", *args], code, out.getvalue(), err.getvalue()
    )


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_for_snapshot(cloud: Cloud, done: Any, timeout: float = 30.0) -> fileformat.Header:
    """The debounced snapshot that satisfies ``done(header)``, as the keeper writes it by itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        header = cloud.header()
        if header is not None and done(header):
            return header
        time.sleep(0.1)
    raise AssertionError(
        f"no snapshot satisfied the condition within {timeout} s: {cloud.header()}"
    )


# -- the whole stack, down and up ---------------------------------------------------------------------

PRODUCTS = [
    {
        "productId": "p-1",
        "name": "Widget",
        "price": 19.99,
        "quantity": 500,
        "weight": 0.1,
        "serial": 12345678901234567890,
        "dimensions": {"w": 2.5, "h": [1, 2, 3]},
        "active": True,
    },
    {"productId": "p-2", "status": "draft", "size": "XL", "price": 0.3},
]


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Cloud, dict[str, Any]]]:
    """The reference stack (built by deploy.py's code) with two products, on a cloud of its own."""
    from workshop.deploy import deploy

    with own_cloud() as cloud:
        cloud.start((0, 0))
        built = deploy(quiet=True)
        for product in PRODUCTS:
            status, _ = http("POST", f"{built['api_url']}/product", product)
            assert status == 201
        yield cloud, built


def observe(cloud: Cloud, built: dict[str, Any]) -> dict[str, Any]:
    """What a learner reads back: boto3 answers (volatile fields left out) and the API's answers."""
    ddb, iam, lam, apigw, logs = (
        cloud.client(s) for s in ("dynamodb", "iam", "lambda", "apigateway", "logs")
    )
    api_id, function = built["api_id"], built["function"]
    configuration = lam.get_function(FunctionName=function)["Configuration"]
    items = ddb.scan(TableName=built["table"])["Items"]
    return {
        "table": ddb.describe_table(TableName=built["table"])["Table"]["KeySchema"],
        "items": sorted(items, key=lambda item: item["productId"]["S"]),
        "function": {
            key: configuration[key]
            for key in (
                "FunctionArn",
                "CodeSha256",
                "CodeSize",
                "Handler",
                "Role",
                "Environment",
                "Timeout",
            )
        },
        "role": iam.get_role(RoleName=built["role"])["Role"]["Arn"],
        "attached": iam.list_attached_role_policies(RoleName=built["role"])["AttachedPolicies"],
        "inline": {
            name: iam.get_role_policy(RoleName=built["role"], PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=built["role"])["PolicyNames"]
        },
        "resources": sorted(
            (r["id"], r["path"], sorted(r.get("resourceMethods", {})))
            for r in apigw.get_resources(restApiId=api_id)["items"]
        ),
        "stages": sorted(s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]),
        "permission": lam.get_policy(FunctionName=function)["Policy"],
        "log_groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
    }


def log_messages(cloud: Cloud, function: str) -> list[str]:
    events = cloud.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}")[
        "events"
    ]
    return [event["message"] for event in events]


def test_the_stack_comes_back_after_down_and_up_with_the_same_ids_urls_and_values(
    stack: tuple[Cloud, dict[str, Any]],
) -> None:
    cloud, built = stack
    before = observe(cloud, built)
    answers_before = [
        http("GET", f"{built['api_url']}/product?productId={p['productId']}") for p in PRODUCTS
    ]
    messages_before = log_messages(cloud, built["function"])
    old_ports = (cloud.info.endpoint_port, cloud.info.gateway_port)

    cloud.stop()
    cloud.start()  # default ports: the ones remembered in the snapshot
    notice = take_notice(cloud.state_dir)

    assert notice and notice[0].startswith("Restored your local cloud's saved state")
    assert "1 table (2 items), 1 function, 1 role, 1 REST API" in notice[0]
    new_ports = (cloud.info.endpoint_port, cloud.info.gateway_port)
    if new_ports == old_ports:
        assert len(notice) == 1
    else:  # another process took a port meanwhile: said, not hidden
        assert any("need the new port" in line for line in notice[1:])
    assert observe(cloud, built) == before
    assert set(messages_before) <= set(log_messages(cloud, built["function"]))
    api_url = f"{cloud.info.gateway}/{built['api_id']}/prod"
    if new_ports == old_ports:
        assert api_url == built["api_url"]
    assert http("GET", f"{api_url}/health")[0] == 200  # the restored code runs (a cold start)
    answers_after = [http("GET", f"{api_url}/product?productId={p['productId']}") for p in PRODUCTS]
    assert answers_after == answers_before
    assert [body for _, body in answers_after] == PRODUCTS  # exact numbers, reserved words
    # The restored stack keeps working: a new product is saved like before.
    assert http("POST", f"{api_url}/product", {"productId": "p-3", "price": 1.5})[0] == 201
    assert http("POST", f"{api_url}/product", {"productId": "p-1"})[0] == 409
    # What the benchmark reads: a snapshot on request, with its cost.
    stats = cloud.snapshot_now()
    assert stats["enabled"] is True and stats["dirty"] is False and stats["snapshots"] >= 1
    assert (
        stats["path"] == str(fileformat.snapshot_path(cloud.state_dir))
        and stats["last_size_bytes"] > 0
    )
    assert cloud.header().summary["items"] == 3


def test_lab_07_cleanup_leaves_nothing_behind_in_the_snapshot(
    stack: tuple[Cloud, dict[str, Any]],
) -> None:
    import io

    from workshop.cleanup import discover, main as cleanup

    cloud, built = stack
    assert discover(OWNER)  # GIVEN the learner's stack
    assert cleanup(["--yes"], out=io.StringIO()) == 0
    cloud.stop()
    cloud.start()
    assert discover(OWNER) == []
    assert cloud.client("dynamodb").list_tables()["TableNames"] == []
    assert cloud.client("lambda").list_functions()["Functions"] == []
    assert cloud.client("apigateway").get_rest_apis()["items"] == []
    assert [r["RoleName"] for r in cloud.client("iam").list_roles()["Roles"]] == []
    assert cloud.client("logs").describe_log_groups()["logGroups"] == []
    assert fileformat.read_header(fileformat.snapshot_path(cloud.state_dir)).summary == {
        "tables": 0,
        "items": 0,
        "functions": 0,
        "roles": 0,
        "rest_apis": 0,
        "log_groups": 0,
    }


# -- a crash ---------------------------------------------------------------------------------------

WRITER = """
import os, boto3

def handler(event, context):
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE"],
        Item={"k": {"S": event["k"]}, "n": {"N": event["n"]}},
    )
    return "written"
"""


def test_a_write_older_than_the_interval_survives_kill_9() -> None:
    with own_cloud() as cloud:
        cloud.start((0, 0))
        ddb, lam, iam = cloud.client("dynamodb"), cloud.client("lambda"), cloud.client("iam")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        role = iam.create_role(
            RoleName="writer", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
        )["Role"]
        allow_function_basics(iam, "writer")  # the function runs as its role: let it write
        lam.create_function(
            FunctionName="writer",
            Runtime="python3.11",
            Role=role["Arn"],
            Handler="writer.handler",
            Code={"ZipFile": make_zip({"writer.py": WRITER})},
            Environment={"Variables": {"TABLE": "t"}},
        )
        # WHEN one item is written directly and one by a function (through the endpoint) ...
        ddb.put_item(TableName="t", Item={"k": {"S": "direct"}, "n": {"N": "19.99"}})
        answer = lam.invoke(
            FunctionName="writer", Payload=json.dumps({"k": "by-lambda", "n": "500"})
        )
        assert json.loads(answer["Payload"].read()) == "written"
        # ... and the keeper has written its debounced snapshot by itself (nobody asked) ...
        wait_for_snapshot(cloud, lambda header: header.summary.get("items") == 2)
        pid = cloud.info.pid
        cloud.kill()
        # THEN a restart has both, exactly.
        assert lifecycle.status(cloud.state_dir) is None
        cloud.start((0, 0))
        assert cloud.info.pid != pid
        items = {item["k"]["S"]: item["n"]["N"] for item in ddb_scan(cloud, "t")}
        assert items == {"direct": "19.99", "by-lambda": "500"}
        assert lam_names(cloud) == ["writer"]


def ddb_scan(cloud: Cloud, table: str) -> list[dict[str, Any]]:
    return cloud.client("dynamodb").scan(TableName=table)["Items"]


def lam_names(cloud: Cloud) -> list[str]:
    return [f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]]


# -- what cannot be restored, reset and --fresh, through the CLI -----------------------------------


def _write_foreign_version(path: Path) -> None:
    payload = b"\x80\x05N."
    header = fileformat.payload_header(
        payload, moto_version="0.0.1", endpoint_port=None, gateway_port=None
    )
    fileformat.write_atomic(path, header, payload)


def test_up_sets_a_snapshot_it_cannot_restore_aside_and_starts_empty() -> None:
    """One kind here (each start costs seconds); every kind is tested in-process, in
    test_snapshots_codec.py (truncated, garbage, other moto, other format, unpickling fails)."""
    spoil, kind, why = _write_foreign_version, "incompatible", "made with moto 0.0.1"
    with own_cloud() as cloud:
        path = fileformat.snapshot_path(cloud.state_dir)
        spoil(path)
        original = path.read_bytes()
        result = run_cli(cloud, "up")
        assert result.returncode == 0, result.stderr
        (kept,) = fileformat.set_aside_files(cloud.state_dir)
        lines = [line for line in result.stdout.splitlines() if line.startswith("Started empty")]
        assert len(lines) == 1, result.stdout  # one line says why and where
        assert why in lines[0] and str(kept) in lines[0]
        assert kept.name.startswith(f"snapshot.pickle.{kind}-") and kept.read_bytes() == original
        cloud.info = lifecycle.status(cloud.state_dir)
        assert cloud.client("dynamodb").list_tables()["TableNames"] == []


def test_reset_and_fresh_start_empty() -> None:
    with own_cloud() as cloud:

        def make_table(name: str) -> None:
            cloud.info = lifecycle.status(cloud.state_dir)
            cloud._clients.clear()
            cloud.client("dynamodb").create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

        def tables() -> list[str]:
            cloud.info = lifecycle.status(cloud.state_dir)
            cloud._clients.clear()
            return cloud.client("dynamodb").list_tables()["TableNames"]

        assert run_cli(cloud, "up").returncode == 0
        make_table("kept")
        assert run_cli(cloud, "down").returncode == 0
        status = run_cli(cloud, "status")
        assert (
            status.returncode == 1
            and "saved state:" in status.stdout
            and "1 table" in status.stdout
        )

        # up --fresh: empty, and the saved state is kept aside, not deleted.
        fresh = run_cli(cloud, "up", "--fresh")
        assert fresh.returncode == 0, fresh.stderr
        (kept,) = fileformat.set_aside_files(cloud.state_dir)
        assert kept.name.startswith("snapshot.pickle.before-fresh-") and str(kept) in fresh.stdout
        assert tables() == []
        assert run_cli(cloud, "up", "--fresh").returncode == 1  # running: refused, nothing moved
        make_table("scratch")

        # reset without a terminal and without --yes: refused, nothing deleted.
        refused = run_cli(cloud, "reset")
        assert refused.returncode == 2 and "--yes" in refused.stderr
        assert tables() == ["scratch"]

        # reset --yes: stopped, deleted (what was set aside stays), started again empty.
        reset = run_cli(cloud, "reset", "--yes")
        assert reset.returncode == 0, reset.stderr
        assert "restarted, empty" in reset.stdout
        assert tables() == []
        assert not fileformat.snapshot_path(cloud.state_dir).exists() and kept.exists()
