"""moto's backends to a snapshot and back, in-process under ``mock_aws`` (no server).

GIVEN resources made through boto3 WHEN the backends are pickled, moto is reset, and the pickle is
installed again THEN boto3 reads back exactly what it read before: ids, numbers, code, policies.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import threading
import time
import weakref
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from workshop.localcloud.snapshots import codec, fileformat
from workshop.localcloud.snapshots.guard import StateGuard, set_control_app
from workshop.localcloud.snapshots.keeper import SnapshotKeeper

REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
CUSTOMER_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
    }
)


def client(service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, region_name=REGION)


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "lambda_function.py", "def lambda_handler(event, context):\n    return 1\n"
        )
    return buffer.getvalue()


def build() -> dict[str, str]:
    """A small workshop-like stack; returns the ids AWS generated."""
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="products",
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for product_id, price in (
        ("p1", "19.99"),
        ("p2", "500"),
        ("p3", "12345678901234567890.000001"),
    ):
        ddb.put_item(
            TableName="products",
            Item={
                "productId": {"S": product_id},
                "price": {"N": price},
                "tags": {"SS": ["a", "b"]},
            },
        )
    iam = client("iam")
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    policy_arn = iam.create_policy(PolicyName="logs", PolicyDocument=CUSTOMER_POLICY)["Policy"][
        "Arn"
    ]
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=policy_arn)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="table",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}],
            }
        ),
    )
    lam = client("lambda")
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.11",
        Role=role["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": code_zip()},
        Environment={"Variables": {"TABLE_NAME": "products"}},
    )
    version = lam.publish_version(FunctionName="fn")["Version"]
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion=version)
    apigw = client("apigateway")
    api_id = apigw.create_rest_api(name="inventory")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    health = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="health")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=health, httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(restApiId=api_id, resourceId=health, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    logs = client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/fn")
    logs.create_log_stream(logGroupName="/aws/lambda/fn", logStreamName="s")
    logs.put_log_events(
        logGroupName="/aws/lambda/fn",
        logStreamName="s",
        logEvents=[{"timestamp": 1_700_000_000_000, "message": "START RequestId: 1"}],
    )
    return {"api_id": api_id, "health": health}


def observe(api_id: str) -> dict[str, object]:
    """What a learner reads back through boto3 (volatile fields left out)."""
    ddb, iam, lam, apigw, logs = (
        client(s) for s in ("dynamodb", "iam", "lambda", "apigateway", "logs")
    )
    function = lam.get_function(FunctionName="fn")["Configuration"]
    return {
        "items": sorted(
            ddb.scan(TableName="products")["Items"], key=lambda item: item["productId"]["S"]
        ),
        "role_arn": iam.get_role(RoleName="fn-role")["Role"]["Arn"],
        "attached": iam.list_attached_role_policies(RoleName="fn-role")["AttachedPolicies"],
        "attachments": iam.get_policy(PolicyArn="arn:aws:iam::123456789012:policy/logs")["Policy"][
            "AttachmentCount"
        ],
        "inline": iam.get_role_policy(RoleName="fn-role", PolicyName="table")["PolicyDocument"],
        "function": {
            k: function[k]
            for k in ("FunctionArn", "CodeSha256", "CodeSize", "Environment", "Handler")
        },
        "alias": lam.get_alias(FunctionName="fn", Name="live")["FunctionVersion"],
        "api": apigw.get_rest_api(restApiId=api_id)["name"],
        "resources": sorted(
            (r["id"], r["path"]) for r in apigw.get_resources(restApiId=api_id)["items"]
        ),
        "stages": [s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]],
        "events": [
            e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]
        ],
    }


@pytest.fixture(autouse=True)
def in_process_moto_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 calls never leave the process: the session's local cloud may have pointed boto3 at
    itself (AWS_ENDPOINT_URL), and an in-process server of another test module may have left
    MOTO_IAM_LOAD_MANAGED_POLICIES on (~1,000 policies per partition, seconds per test)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the local cloud: AWS managed policies exist (lab 03 attaches one)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def test_every_service_of_the_stack_comes_back_exactly() -> None:
    with mock_aws():
        ids = build()
        before = observe(ids["api_id"])
        payload = codec.dumps(codec.current_state())
        summary = codec.summary(codec.current_state())
    with mock_aws():
        assert client("dynamodb").list_tables()["TableNames"] == []  # really reset
        codec.install(codec.loads(payload))
        after = observe(ids["api_id"])
    assert after == before
    assert before["attachments"] == 1
    assert summary == {
        "tables": 1,
        "items": 3,
        "functions": 1,
        "roles": 1,
        "rest_apis": 1,
        "log_groups": 1,
    }


def test_unattached_aws_managed_policies_are_rebuilt_not_stored(managed_policies: None) -> None:
    # On the backend object itself: mock_aws would load ~1,000 policies for six partitions.
    from moto.iam.models import IAMBackend

    backend = IAMBackend(region_name="aws", account_id="123456789012")
    backend.create_role("r", json.dumps(TRUST), "/", None, "", [], None)
    backend.attach_role_policy(BASIC_EXECUTION, "r")
    key = ("moto.iam.models", "iam_backends")
    payload = codec.dumps({key: {"123456789012": {"aws": backend}}})
    restored = codec.loads(payload)[key]["123456789012"]["aws"]

    # ~4 MB when stored; a few KB when rebuilt from moto's data.
    assert len(payload) < 50_000
    assert len(backend.aws_managed_policies) > 500
    assert sorted(p.arn for p in restored.aws_managed_policies) == sorted(
        p.arn for p in backend.aws_managed_policies
    )
    assert restored.managed_policies.keys() == backend.managed_policies.keys()
    role = next(iter(restored.roles.values()))
    (policy,) = role.managed_policies.values()
    assert policy.arn == BASIC_EXECUTION and policy.attachment_count == 1
    assert restored.managed_policies[BASIC_EXECUTION] is policy  # one object, as before


def test_a_restored_function_can_be_updated_and_deleted() -> None:
    """LambdaStorage's weak ARN index and alias defaultdict must work after a restore."""
    with mock_aws():
        build()
        payload = codec.dumps(codec.current_state())
    with mock_aws():
        codec.install(codec.loads(payload))
        lam = client("lambda")
        arn = lam.get_function(FunctionName="fn")["Configuration"]["FunctionArn"]
        assert lam.get_function(FunctionName=arn)["Configuration"]["FunctionName"] == "fn"
        lam.create_alias(FunctionName="fn", Name="beta", FunctionVersion="1")
        lam.update_function_configuration(FunctionName="fn", Timeout=9)
        lam.delete_function(FunctionName="fn")
        assert lam.list_functions()["Functions"] == []


# -- what plain pickle cannot do ---------------------------------------------------------------------


class Holder:
    def __init__(self) -> None:
        self.value = Holder.__name__


def test_weak_value_dictionaries_stay_weak_and_keep_shared_values() -> None:
    held = Holder()
    data = {"strong": {"a": held}, "weak": weakref.WeakValueDictionary({"a": held})}
    restored = pickle.loads(codec.dumps(data))  # type: ignore[arg-type]
    assert isinstance(restored["weak"], weakref.WeakValueDictionary)
    assert restored["weak"]["a"] is restored["strong"]["a"]


def test_a_defaultdict_of_a_lambda_keeps_its_default() -> None:
    nested = collections.defaultdict(lambda: collections.defaultdict(lambda: []))
    nested["x"]["y"].append(1)
    data = {
        "aliases": collections.defaultdict(lambda: {}),
        "nested": nested,
        "plain": collections.defaultdict(int),
    }
    restored = pickle.loads(codec.dumps(data))  # type: ignore[arg-type]
    assert restored["aliases"]["new"] == {}
    assert restored["nested"]["x"]["y"] == [1] and restored["nested"]["new"]["z"] == []
    assert restored["plain"]["n"] == 0


def test_a_defaultdict_whose_default_cannot_be_rebuilt_is_refused() -> None:
    with pytest.raises(pickle.PicklingError, match="factory"):
        codec.dumps({"odd": collections.defaultdict(lambda: {"preset": 1})})  # type: ignore[dict-item]


def test_locks_are_recreated_unlocked() -> None:
    lock = threading.Lock()
    lock.acquire()
    restored = pickle.loads(codec.dumps({"lock": lock, "rlock": threading.RLock()}))  # type: ignore[dict-item]
    assert restored["lock"].acquire(blocking=False)
    assert restored["rlock"].acquire(blocking=False)


@pytest.mark.parametrize(
    "reference", [(os, "system"), ("builtins", "eval"), ("moto.settings", "os")]
)
def test_loading_refuses_what_a_snapshot_never_holds(reference: tuple[object, str]) -> None:
    module, name = reference
    module_name = module if isinstance(module, str) else module.__name__
    # A hand-made pickle: "call module.name" (protocol 2 GLOBAL opcode).
    crafted = b"\x80\x02c" + module_name.encode() + b"\n" + name.encode() + b"\n."
    with pytest.raises(pickle.UnpicklingError, match="never refers"):
        codec.loads(crafted)


# -- the keeper, in-process ---------------------------------------------------------------------------


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    return folder


def test_the_keeper_restores_what_it_saved(state_dir: Path) -> None:
    with mock_aws():
        ids = build()
        before = observe(ids["api_id"])
        keeper = SnapshotKeeper(state_dir, guard=StateGuard())
        keeper.ports = (45000, 45001)
        assert keeper.snapshot() is True
    assert keeper.stats.snapshots == 1 and keeper.stats.last_size_bytes > 0
    with mock_aws():
        again = SnapshotKeeper(state_dir, guard=StateGuard())
        (line,) = again.restore()
        assert line.startswith("Restored your local cloud's saved state")
        assert "1 table (3 items), 1 function, 1 role, 1 REST API, 1 log group" in line
        assert observe(ids["api_id"]) == before
        again.ports = (45000, 45099)
        (port_line,) = again.port_notice()
        assert "port 45001" in port_line and "45099" in port_line


def _write_header(path: Path, **changes: object) -> None:
    data = path.read_bytes()
    magic, header, payload = data.split(b"\n", 2)
    document = json.loads(header)
    document.update(changes)
    path.write_bytes(magic + b"\n" + json.dumps(document).encode() + b"\n" + payload)


@pytest.mark.parametrize(
    "spoil, reason, why",
    [
        (lambda p: _write_header(p, moto="4.0.0"), "incompatible", "made with moto 4.0.0"),
        (lambda p: _write_header(p, format=99), "incompatible", "has format 99"),
        (lambda p: p.write_bytes(p.read_bytes()[:-10]), "broken", "cut short"),
        (lambda p: p.write_bytes(b"\x00" * 64), "broken", "not a local-cloud snapshot"),
        (lambda p: os.chmod(p, 0o666), "refused", "other users can write"),
    ],
    ids=["other-moto", "other-format", "truncated", "garbage", "world-writable"],
)
def test_a_snapshot_that_cannot_be_restored_is_set_aside_with_one_line(
    state_dir: Path, spoil, reason: str, why: str
) -> None:
    with mock_aws():
        client("dynamodb").create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        SnapshotKeeper(state_dir, guard=StateGuard()).snapshot()
    path = fileformat.snapshot_path(state_dir)
    spoil(path)
    original = path.read_bytes()
    with mock_aws():
        lines = SnapshotKeeper(state_dir, guard=StateGuard()).restore()
        assert client("dynamodb").list_tables()["TableNames"] == []  # started empty
    (line,) = lines
    (kept,) = fileformat.set_aside_files(state_dir)
    assert (
        line.startswith("Started empty, because the saved snapshot cannot be restored: ")
        and why in line
        and str(kept) in line
    )
    assert kept.name.startswith(f"snapshot.pickle.{reason}-")
    assert kept.read_bytes() == original and not path.exists()


def test_a_snapshot_whose_unpickling_fails_is_set_aside(state_dir: Path) -> None:
    path = fileformat.snapshot_path(state_dir)
    payload = b"\x80\x05\x95\x00"  # a pickle cut inside, with a valid checksum
    header = fileformat.payload_header(
        payload, moto_version=codec.moto_version(), endpoint_port=None, gateway_port=None
    )
    fileformat.write_atomic(path, header, payload)
    (line,) = SnapshotKeeper(state_dir, guard=StateGuard()).restore()
    assert "cannot be loaded" in line and "broken-" in line


def test_snapshots_are_off_in_a_folder_anyone_can_write(state_dir: Path) -> None:
    os.chmod(state_dir, 0o777)
    keeper = SnapshotKeeper(state_dir, guard=StateGuard())
    (line,) = keeper.restore()
    assert line.startswith("Snapshots are off") and "anyone can write" in line
    assert keeper.snapshot() is False and not fileformat.snapshot_path(state_dir).exists()


def test_a_snapshot_gives_way_to_a_changing_request_that_does_not_finish(state_dir: Path) -> None:
    guard = StateGuard(writer_patience_s=0.05)
    keeper = SnapshotKeeper(state_dir, guard=guard)
    inside, release = threading.Event(), threading.Event()

    def slow_request() -> None:
        with guard.changing():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=slow_request)
    worker.start()
    inside.wait(5)
    with mock_aws():
        started = time.monotonic()
        assert keeper.snapshot() is False  # gave way after its patience
        assert time.monotonic() - started < 2
        assert keeper.stats.deferred == 1 and not fileformat.snapshot_path(state_dir).exists()
        release.set()
        worker.join(5)
        assert guard.dirty
        assert keeper.snapshot() is True
        assert not guard.dirty


def test_a_folder_that_cannot_be_written_is_reported_once_and_retried_less_often(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileformat, "write_atomic", full_disk)
    guard = StateGuard()
    keeper = SnapshotKeeper(state_dir, guard=guard, interval_s=0.1)
    guard.mark_dirty()
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while keeper.stats.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        keeper._stop.set()  # noqa: SLF001 - close() would try once more
        guard.changed.set()
        keeper._thread.join(5)  # type: ignore[union-attr]  # noqa: SLF001
        set_control_app(None)
    assert keeper.stats.failures >= 2 and guard.dirty  # the changes still wait to be saved
    errors = [r for r in caplog.records if "cannot write the snapshot" in r.getMessage()]
    assert len(errors) == 1 and "No space left on device" in errors[0].getMessage()
    # The pauses between tries grow.
    keeper._failed(OSError("again"))  # noqa: SLF001
    first = keeper._last_snapshot  # noqa: SLF001
    keeper._failed(OSError("again"))  # noqa: SLF001
    assert keeper._last_snapshot - first >= keeper.interval_s  # noqa: SLF001
