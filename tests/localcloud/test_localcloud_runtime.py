"""The Lambda runtime, driven through boto3 as a learner drives it (in-process local cloud).

GIVEN a function deployed with boto3, WHEN it is invoked, THEN it behaves as on AWS: result,
environment, warm and cold starts, timeouts, errors, and CloudWatch logs.
"""

from __future__ import annotations

import base64
import json
import os
import re
import textwrap
import threading
import time

import pytest
from botocore.exceptions import ClientError
from localcloud_support import make_zip

from workshop.localcloud.invoke import FunctionNotFoundError, InvokeResult

pytestmark = pytest.mark.localcloud

# A handler that reports what it sees, and counts calls per process (module state survives
# between warm invocations only).
INTROSPECT = textwrap.dedent(
    """
    import os, json

    CALLS = 0
    print("init ran")

    def handler(event, context):
        global CALLS
        CALLS += 1
        return {
            "event": event,
            "pid": os.getpid(),
            "calls": CALLS,
            "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "GREETING", "TABLE"))},
            "cwd": os.getcwd(),
            "context": {
                "aws_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "function_version": context.function_version,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "invoked_function_arn": context.invoked_function_arn,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
            },
        }
    """
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed worker may be a zombie for a moment until the runtime reaps it.
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except OSError:
        return True


# -- result, environment, context ---------------------------------------------------------------


def test_invoke_runs_the_deployed_zip_with_its_environment_and_context(cloud):
    name = cloud.deploy({"app.py": INTROSPECT}, environment={"GREETING": "hello"}, memory=256, timeout=7)

    response, body = cloud.invoke(name, {"productId": "p-1", "n": 19.99})

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"productId": "p-1", "n": 19.99}
    env = body["env"]
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == cloud.endpoint
    # The execution role's temporary credentials (test_iam_enforcement checks whose they are).
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ACCESS_KEY"] == env["AWS_ACCESS_KEY_ID"]
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    context = body["context"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["memory_limit_in_mb"] == "256"  # a string, as AWS's runtime gives it
    assert context["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["log_stream_name"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", context["log_stream_name"])
    assert re.fullmatch(r"[0-9a-f-]{36}", context["aws_request_id"])
    assert 0 < context["remaining"] <= 7000


def test_the_environment_does_not_leak_the_local_clouds_own_variables(cloud, monkeypatch):
    monkeypatch.setenv("SECRET_OF_THE_HOST", "do-not-pass")
    name = cloud.deploy({"app.py": "import os\ndef handler(e, c):\n    return sorted(os.environ)\n"})

    _, names = cloud.invoke(name)

    assert "SECRET_OF_THE_HOST" not in names
    assert "AWS_ENDPOINT_URL" in names


def test_an_empty_payload_arrives_as_an_empty_object(cloud):
    name = cloud.deploy({"app.py": "def handler(event, context):\n    return {'got': event}\n"})

    response = cloud.client("lambda").invoke(FunctionName=name)

    assert json.loads(response["Payload"].read()) == {"got": {}}


def test_a_handler_returning_none_gives_null(cloud):
    name = cloud.deploy({"app.py": "def handler(event, context):\n    pass\n"})

    response, body = cloud.invoke(name)

    assert "FunctionError" not in response
    assert body is None


def test_the_handler_setting_picks_module_and_function_in_subfolders(cloud):
    files = {
        "app.py": "def handler(e, c):\n    return 'wrong one'\n",
        "api/__init__.py": "",
        "api/routes.py": "def entry(e, c):\n    return {'picked': 'api/routes.entry'}\n",
    }
    name = cloud.deploy(files, handler="api/routes.entry")

    assert cloud.invoke(name)[1] == {"picked": "api/routes.entry"}

    cloud.client("lambda").update_function_configuration(FunctionName=name, Handler="api.routes.entry")
    assert cloud.invoke(name)[1] == {"picked": "api/routes.entry"}


def test_a_payload_that_is_not_json_is_rejected_before_running(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return 1\n"})

    with pytest.raises(ClientError) as raised:
        cloud.client("lambda").invoke(FunctionName=name, Payload=b"{not json")

    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_unknown_function_is_resource_not_found(cloud):
    with pytest.raises(ClientError) as raised:
        cloud.client("lambda").invoke(FunctionName="no-such-function", Payload=b"{}")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# -- warm and cold starts -------------------------------------------------------------------------


def test_a_warm_environment_is_reused_and_an_update_of_code_starts_a_cold_one(cloud):
    name = cloud.deploy({"app.py": INTROSPECT})

    _, first = cloud.invoke(name)
    _, second = cloud.invoke(name)

    assert second["pid"] == first["pid"]
    assert (first["calls"], second["calls"]) == (1, 2)  # module state survives: warm start

    code = INTROSPECT.replace("CALLS = 0", "CALLS = 100")
    cloud.client("lambda").update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": code}))
    _, third = cloud.invoke(name)

    assert third["pid"] != first["pid"]
    assert third["calls"] == 101  # the new code, freshly imported
    assert not pid_alive(first["pid"])  # the old environment is gone


def test_an_update_of_configuration_starts_a_cold_environment_with_the_new_settings(cloud):
    name = cloud.deploy({"app.py": INTROSPECT}, environment={"GREETING": "hello"})
    _, before = cloud.invoke(name)

    cloud.client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "hi", "TABLE_NAME": "t"}}, MemorySize=512
    )
    _, after = cloud.invoke(name)

    assert after["pid"] != before["pid"]
    assert after["calls"] == 1
    assert after["env"]["GREETING"] == "hi"
    assert after["env"]["TABLE_NAME"] == "t"
    assert after["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert after["context"]["memory_limit_in_mb"] == "512"


def test_concurrent_invocations_get_environments_of_their_own(cloud):
    code = "import os, time\ndef handler(e, c):\n    time.sleep(1)\n    return os.getpid()\n"
    name = cloud.deploy({"app.py": code})
    cloud.invoke(name)  # one warm environment
    pids: list[int] = []

    def call() -> None:
        pids.append(cloud.invoke(name)[1])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(pids)) == 2


# -- errors ---------------------------------------------------------------------------------------


def test_an_unhandled_exception_answers_like_aws(cloud):
    code = textwrap.dedent(
        """
        def handler(event, context):
            return helper(event)

        def helper(event):
            raise ValueError(f"bad product {event['productId']}")
        """
    )
    name = cloud.deploy({"app.py": code})

    response, body = cloud.invoke(name, {"productId": "p-9"})

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad product p-9"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["requestId"])
    assert isinstance(body["stackTrace"], list)
    assert all(isinstance(line, str) for line in body["stackTrace"])
    assert "in handler" in body["stackTrace"][0]
    assert "in helper" in body["stackTrace"][-1]
    assert "worker.py" not in "".join(body["stackTrace"])  # the runtime's own frames are hidden
    logs = "\n".join(cloud.log_messages(name))
    assert "[ERROR] ValueError: bad product p-9\nTraceback (most recent call last):" in logs


def test_the_environment_survives_a_handled_error(cloud):
    code = "import os\ndef handler(e, c):\n    if e.get('fail'):\n        raise KeyError('x')\n    return os.getpid()\n"
    name = cloud.deploy({"app.py": code})
    _, pid = cloud.invoke(name)

    response, _ = cloud.invoke(name, {"fail": True})

    assert response["FunctionError"] == "Unhandled"
    assert cloud.invoke(name)[1] == pid  # an exception does not cost the warm environment


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"app.py": "x = 1\n"}, "missing.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing': No module named 'missing'"),
        ({"app.py": "import not_installed_anywhere\n"}, "app.handler", "Runtime.ImportModuleError",
         "Unable to import module 'app': No module named 'not_installed_anywhere'"),
        ({"app.py": "x = 1\n"}, "app.handler", "Runtime.HandlerNotFound",
         "Handler 'handler' missing on module 'app'"),
        ({"app.py": "x = 1\n"}, "app", "Runtime.MalformedHandlerName", "Bad handler 'app'"),
        ({"app.py": "def handler(e, c)\n    return 1\n"}, "app.handler", "Runtime.UserCodeSyntaxError",
         "Syntax error in module 'app'"),
        ({"app.py": "import os\nTABLE = os.environ['TABLE_NAME']\n"}, "app.handler", "KeyError", "'TABLE_NAME'"),
    ],
    ids=["no-module", "import-fails", "no-function", "malformed", "syntax-error", "init-raises"],
)
def test_init_failures_use_the_runtimes_error_types(cloud, files, handler, error_type, message):
    name = cloud.deploy(files, handler=handler)

    response, body = cloud.invoke(name)

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type
    assert body["errorMessage"].startswith(message)
    logs = cloud.log_messages(name)
    assert any(line.startswith(f"[ERROR] {error_type}: ") for line in logs)
    assert any(line.startswith("REPORT RequestId: ") and "Status: error" in line for line in logs)


def test_a_result_that_is_not_json_serialisable_is_a_marshal_error(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return {1, 2}\n"})

    response, body = cloud.invoke(name)

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"
    assert "Unable to marshal response" in body["errorMessage"]


def test_a_handler_that_exits_the_process_is_an_exit_error_and_the_next_call_is_cold(cloud):
    code = "import os, sys\ndef handler(e, c):\n    if e.get('exit'):\n        sys.exit(3)\n    return os.getpid()\n"
    name = cloud.deploy({"app.py": code})
    _, pid = cloud.invoke(name)

    response, body = cloud.invoke(name, {"exit": True})

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in body["errorMessage"]
    assert cloud.invoke(name)[1] != pid


def test_a_timeout_kills_the_environment_and_the_next_call_is_cold(cloud):
    code = textwrap.dedent(
        """
        import os, time
        def handler(event, context):
            if event.get("sleep"):
                print("about to sleep", flush=True)
                time.sleep(event["sleep"])
            return os.getpid()
        """
    )
    name = cloud.deploy({"app.py": code}, timeout=1)
    _, pid = cloud.invoke(name)

    started = time.monotonic()
    response, body = cloud.invoke(name, {"sleep": 30})
    elapsed = time.monotonic() - started

    assert elapsed < 10  # killed after ~1 s, not after 30
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert not pid_alive(pid)
    _, new_pid = cloud.invoke(name)
    assert new_pid != pid
    logs = cloud.log_messages(name)
    assert "about to sleep" in logs  # what it printed before it was killed is kept
    assert any(re.fullmatch(r"\S+Z [0-9a-f-]{36} Task timed out after 1\.00 seconds", line) for line in logs)
    assert any(line.startswith("REPORT RequestId: ") and line.endswith("Status: timeout") for line in logs)


# -- invocation types -----------------------------------------------------------------------------


def test_event_invocation_answers_202_and_runs_the_function(cloud):
    table = "runtime-events"
    cloud.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code = textwrap.dedent(
        """
        import boto3, os
        def handler(event, context):
            boto3.client("dynamodb").put_item(
                TableName=os.environ["TABLE_NAME"], Item={"productId": {"S": event["id"]}}
            )
        """
    )
    name = cloud.deploy({"app.py": code}, environment={"TABLE_NAME": table})

    response = cloud.client("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"id": "async-1"})
    )

    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 20
    item = None
    while item is None and time.monotonic() < deadline:
        item = cloud.client("dynamodb").get_item(TableName=table, Key={"productId": {"S": "async-1"}}).get("Item")
        time.sleep(0.05)
    assert item == {"productId": {"S": "async-1"}}


def test_dry_run_answers_204_without_running(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    print('ran')\n"})

    response = cloud.client("lambda").invoke(FunctionName=name, InvocationType="DryRun")

    assert response["StatusCode"] == 204
    groups = cloud.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")
    assert groups["logGroups"] == []  # nothing ran, nothing logged


# -- the handler's own AWS calls --------------------------------------------------------------------


def test_the_handlers_boto3_calls_reach_the_local_dynamodb_unchanged(cloud):
    table = "runtime-products"
    dynamodb = cloud.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code = textwrap.dedent(
        """
        import os, boto3
        from decimal import Decimal

        table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

        def handler(event, context):
            table.put_item(Item={"productId": event["productId"], "price": Decimal("19.99")})
            return {"read_back": str(table.get_item(Key={"productId": event["productId"]})["Item"]["price"])}
        """
    )
    name = cloud.deploy({"app.py": code}, environment={"TABLE_NAME": table})

    response, body = cloud.invoke(name, {"productId": "from-lambda"})

    assert "FunctionError" not in response, body
    assert body == {"read_back": "19.99"}
    stored = dynamodb.get_item(TableName=table, Key={"productId": {"S": "from-lambda"}})["Item"]
    assert stored == {"productId": {"S": "from-lambda"}, "price": {"N": "19.99"}}


# -- CloudWatch Logs ------------------------------------------------------------------------------


def test_logs_have_start_output_end_and_report_like_aws(cloud):
    code = textwrap.dedent(
        """
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        print("module loaded")

        def handler(event, context):
            print("line one\\nline two")
            logger.info("saving %s", event["productId"])
            return "ok"
        """
    )
    name = cloud.deploy({"app.py": code}, memory=192)

    first, _ = cloud.invoke(name, {"productId": "p-1"})
    cloud.invoke(name, {"productId": "p-2"})

    logs = cloud.client("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1  # one environment, one stream
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", streams[0]["logStreamName"])
    events = logs.get_log_events(
        logGroupName=f"/aws/lambda/{name}", logStreamName=streams[0]["logStreamName"], startFromHead=True
    )["events"]
    messages = [event["message"] for event in events]
    request_ids = [m.split()[2] for m in messages if m.startswith("START RequestId: ")]
    assert len(request_ids) == 2
    first_id, second_id = request_ids
    start = messages.index(f"START RequestId: {first_id} Version: $LATEST")
    assert messages.index("module loaded") < start  # init output comes before START
    assert messages[start + 1 : start + 3] == ["line one", "line two"]
    assert re.fullmatch(
        rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{first_id}\tsaving p-1", messages[start + 3]
    )
    assert messages[start + 4] == f"END RequestId: {first_id}"
    cold_report, warm_report = [m for m in messages if m.startswith("REPORT")]
    assert re.fullmatch(
        rf"REPORT RequestId: {first_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 192 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms",
        cold_report,
    )
    assert re.fullmatch(
        rf"REPORT RequestId: {second_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 192 MB\tMax Memory Used: \d+ MB",
        warm_report,
    )
    used = int(re.search(r"Max Memory Used: (\d+) MB", warm_report).group(1))
    assert 5 < used < 1000
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]  # moto's own header

    found = cloud.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="saving")
    assert len(found["events"]) == 2


def test_log_type_tail_returns_the_invocations_log(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    print('hello tail')\n    return 1\n"})

    response = cloud.client("lambda").invoke(FunctionName=name, LogType="Tail", Payload=b"{}")

    tail = base64.b64decode(response["LogResult"]).decode()
    assert "hello tail" in tail
    assert tail.startswith("START RequestId: ")
    assert "\nEND RequestId: " in tail and "\nREPORT RequestId: " in tail


def test_the_log_group_is_recreated_when_deleted(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    print('again')\n"})
    cloud.invoke(name)
    cloud.client("logs").delete_log_group(logGroupName=f"/aws/lambda/{name}")

    cloud.invoke(name)

    assert "again" in cloud.log_messages(name)


# -- the invoker contract the gateway uses -------------------------------------------------------


def test_the_runtime_invokes_by_name_and_by_arn_for_the_gateway(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return {'echo': e}\n"})
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"

    by_arn = cloud.runtime.invoke(arn, b'{"a": 1}', account_id="123456789012", region="us-east-1")
    by_name = cloud.runtime.invoke(name, b'{"a": 2}', account_id="123456789012", region="us-east-1")

    assert isinstance(by_arn, InvokeResult)
    assert json.loads(by_arn.payload) == {"echo": {"a": 1}}
    assert json.loads(by_name.payload) == {"echo": {"a": 2}}
    assert by_arn.function_error is None and by_arn.timed_out is False
    assert by_arn.cold_start is True and by_name.cold_start is False
    assert by_name.duration_ms > 0


def test_the_runtime_reports_a_missing_function_to_the_gateway(cloud):
    with pytest.raises(FunctionNotFoundError):
        cloud.runtime.invoke(
            "arn:aws:lambda:us-east-1:123456789012:function:nothing-here",
            b"{}",
            account_id="123456789012",
            region="us-east-1",
        )


def test_a_package_that_is_not_a_zip_fails_with_an_import_error(cloud):
    name = "not-a-zip"
    cloud.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=cloud.role_arn,
        Handler="app.handler",
        Code={"ZipFile": b"this is not a zip archive"},
    )

    response, body = cloud.invoke(name)

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "not a zip file" in body["errorMessage"]


# -- housekeeping ---------------------------------------------------------------------------------


def test_environments_of_deleted_functions_and_long_idle_ones_are_reaped(cloud):
    code = "import os\ndef handler(e, c):\n    return os.getpid()\n"
    kept = cloud.deploy({"app.py": code})
    deleted = cloud.deploy({"app.py": code})
    _, kept_pid = cloud.invoke(kept)
    _, deleted_pid = cloud.invoke(deleted)
    cloud.client("lambda").delete_function(FunctionName=deleted)

    cloud.runtime.reap(idle_before=0.0)  # nothing counts as idle for too long

    assert not pid_alive(deleted_pid)
    assert pid_alive(kept_pid)
    assert cloud.invoke(kept)[1] == kept_pid

    cloud.runtime.reap(idle_before=time.monotonic() + 1)  # everything idle is too old now

    assert not pid_alive(kept_pid)
    assert cloud.invoke(kept)[1] != kept_pid


def test_init_time_is_reported_as_init_duration_not_as_duration(cloud):
    code = "import time\ntime.sleep(0.4)  # slow module-level setup\ndef handler(e, c):\n    return 1\n"
    name = cloud.deploy({"app.py": code})

    cloud.invoke(name)

    report = next(m for m in cloud.log_messages(name) if m.startswith("REPORT"))
    duration = float(re.search(r"\tDuration: ([\d.]+) ms", report).group(1))
    init = float(re.search(r"Init Duration: ([\d.]+) ms", report).group(1))
    assert init >= 400
    assert duration < 400


@pytest.mark.parametrize(
    ("runtime", "expected"),
    [
        ("python3.11", '{"price": 19.99, "qty": 500, "big": 1E+3, "name": "caf\\u00e9"}'),
        ("python3.12", '{"price": 19.99, "qty": 500, "big": 1E+3, "name": "café"}'),
    ],
)
def test_decimals_are_returned_as_exact_numbers_like_the_aws_marshaller(cloud, runtime, expected):
    code = (
        "from decimal import Decimal\n"
        "def handler(e, c):\n"
        "    return {'price': Decimal('19.99'), 'qty': Decimal('500'), 'big': Decimal('1E+3'), 'name': 'café'}\n"
    )
    name = cloud.deploy({"app.py": code})
    cloud.client("lambda").update_function_configuration(FunctionName=name, Runtime=runtime)

    response = cloud.client("lambda").invoke(FunctionName=name, Payload=b"{}")

    assert "FunctionError" not in response
    assert response["Payload"].read().decode() == expected


def test_bytes_are_returned_as_they_are(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return b'\\x00raw bytes'\n"})

    response = cloud.client("lambda").invoke(FunctionName=name, Payload=b"{}")

    assert "FunctionError" not in response
    assert response["Payload"].read() == b"\x00raw bytes"


def test_a_published_version_runs_its_own_code_and_logs_under_its_version(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return ['v1', c.function_version]\n"})
    version = cloud.client("lambda").publish_version(FunctionName=name)["Version"]
    cloud.client("lambda").update_function_code(
        FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return ['latest', c.function_version]\n"})
    )

    pinned, pinned_body = cloud.invoke(name, Qualifier=version)
    _, latest_body = cloud.invoke(name)

    assert pinned_body == ["v1", version]
    assert pinned["ExecutedVersion"] == version
    assert latest_body == ["latest", "$LATEST"]
    streams = cloud.client("logs").describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert {s["logStreamName"].split("]")[0].split("[")[1] for s in streams} == {version, "$LATEST"}


def test_an_event_with_a_qualifier_key_is_just_data(cloud):
    name = cloud.deploy({"app.py": "def handler(e, c):\n    return e\n"})

    response, body = cloud.invoke(name, {"qualifier": "7"})

    assert "FunctionError" not in response
    assert body == {"qualifier": "7"}
