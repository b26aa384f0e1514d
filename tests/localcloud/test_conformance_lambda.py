"""Lambda answers as AWS answers: each test is one fact and names its source.

Sources:
- QUOTAS: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  ("Invocation payload (request and response): 6 MB each for request and response
  (synchronous)"); the refusal "Request must be smaller than 6291456 bytes for the
  InvokeFunction operation" with RequestEntityTooLargeException (HTTP 413) is in
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (Errors).
- LS_API: localstack/localstack tests/aws/services/lambda_/test_lambda_api.snapshot.json
  (aws.validated; facts as issue 10 measured them there, keys not re-read here): not-found errors carry ``"Type": "User"`` and, for an unqualified name, the
  ARN with ``:$LATEST``; CreateFunction answers ``"State": "Pending"``,
  ``"StateReasonCode": "Creating"``; an unknown runtime is InvalidParameterValueException
  "Value X at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [...]
  or be a valid ARN"; RemovePermission of an unknown statement id is ResourceNotFoundException
  "Statement X is not found in resource policy.".
- EXIT: https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html and the log
  samples of https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
  ("Runtime exited without providing a reason", Runtime.ExitError).
- LOG_EVENT: CloudWatch Logs counts an event as its message + 26 bytes, 256 KB at most
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html); Lambda
  writes a longer line as consecutive events of 2**18 - 26 bytes
  (https://stackoverflow.com/questions/77175643, observed on AWS).
- INVOKE_JSON: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
  (InvalidRequestContentException, 400: "The request body could not be parsed as JSON").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from function_roles import allow_function_basics, delete_role
from localcloud_support import REGION, TRUST_POLICY, make_zip

pytestmark = pytest.mark.localcloud

ACCOUNT_ID = "123456789012"
MAX_PAYLOAD = 6_291_456
LOG_EVENT_LIMIT = 2**18 - 26

SOURCE = '''
import sys


def handler(event, context):
    if isinstance(event, dict) and event.get("exit"):
        sys.exit()
    if isinstance(event, dict) and "reply" in event:
        return "r" * event["reply"]
    if isinstance(event, dict) and event.get("shout"):
        print("L" * event["shout"])
        return "shouted"
    return len(event) if isinstance(event, str) else "ok"
'''


@pytest.fixture(scope="module")
def lam(local_cloud) -> Any:
    return boto3.client("lambda", config=Config(retries={"max_attempts": 0}, read_timeout=120))


@pytest.fixture(scope="module")
def role_arn(local_cloud) -> Iterator[str]:
    iam = boto3.client("iam")
    name = f"conformance-lambda-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    allow_function_basics(iam, name)
    yield arn
    delete_role(iam, name)


@pytest.fixture(scope="module")
def created(lam, role_arn) -> Iterator[dict[str, Any]]:
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    answer = lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=role_arn, Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": SOURCE})}, Timeout=30,
    )
    yield answer
    lam.delete_function(FunctionName=name)


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response


# -- control plane (LS_API, INVOKE_JSON, QUOTAS) --------------------------------------------------


@pytest.mark.parametrize("operation", ["invoke", "get_function", "get_function_configuration"])
def test_an_unknown_function_is_not_found_with_latest_in_the_arn(lam, operation):
    name = f"no-such-fn-{uuid.uuid4().hex[:6]}"
    response = refused(getattr(lam, operation), FunctionName=name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["Error"]["Message"] == (
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}:$LATEST"
    )
    assert response["Type"] == "User"


def test_create_function_answers_state_pending(created):
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    assert created["StateReason"] == "The function is being created."


@pytest.mark.parametrize("runtime", ["python3.99", "python", "Python3.11"])
def test_an_unknown_runtime_is_refused(lam, role_arn, runtime):
    response = refused(
        lam.create_function, FunctionName=f"bad-runtime-{uuid.uuid4().hex[:6]}", Runtime=runtime,
        Role=role_arn, Handler="app.handler", Code={"ZipFile": make_zip({"app.py": SOURCE})},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    message = response["Error"]["Message"]
    assert message.startswith(
        f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: ["
    )
    assert "python3.11" in message and message.endswith("] or be a valid ARN")


def test_an_unknown_runtime_is_refused_by_update_function_configuration(lam, created):
    response = refused(
        lam.update_function_configuration, FunctionName=created["FunctionName"], Runtime="python2.99"
    )
    assert response["Error"]["Code"] == "InvalidParameterValueException"


def test_removing_an_unknown_statement_is_not_found(lam, created):
    lam.add_permission(
        FunctionName=created["FunctionName"], StatementId="known", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    response = refused(lam.remove_permission, FunctionName=created["FunctionName"], StatementId="unknown")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["Error"]["Message"] == "Statement unknown is not found in resource policy."
    lam.remove_permission(FunctionName=created["FunctionName"], StatementId="known")


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe", b"[1, 2"])
def test_a_payload_that_is_not_json_is_refused(lam, created, payload):
    response = refused(lam.invoke, FunctionName=created["FunctionName"], Payload=payload)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidRequestContentException"


def test_a_payload_of_exactly_6_mb_is_accepted(lam, created):
    payload = json.dumps("x" * (MAX_PAYLOAD - 2)).encode()
    assert len(payload) == MAX_PAYLOAD
    answer = lam.invoke(FunctionName=created["FunctionName"], Payload=payload)
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == MAX_PAYLOAD - 2


def test_a_payload_over_6_mb_is_refused_with_413(lam, created):
    payload = json.dumps("x" * (MAX_PAYLOAD - 1)).encode()
    response = refused(lam.invoke, FunctionName=created["FunctionName"], Payload=payload)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )


# -- runtime (EXIT, LOG_EVENT, RESPONSE) -------------------------------------------------------------

#: RESPONSE: a result over 6 MB is the function error Function.ResponseSizeTooLarge, "Response
#: payload size exceeded maximum allowed payload size (6291556 bytes)." (AWS's answer, as
#: getmoto/moto's tests/test_awslambda test of it records; limit in QUOTAS).
MAX_RESPONSE = 6_291_556


@pytest.mark.parametrize("extra", [0, 1])
def test_a_result_over_6_mb_is_a_function_error(lam, created, extra):
    length = MAX_RESPONSE - 2 + extra  # the JSON string's quotes count
    answer = lam.invoke(FunctionName=created["FunctionName"], Payload=json.dumps({"reply": length}))
    payload = answer["Payload"].read()
    if extra == 0:
        assert "FunctionError" not in answer and len(payload) == MAX_RESPONSE
        return
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(payload) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }



def test_sys_exit_in_a_handler_is_runtime_exited_without_a_reason(lam, created):
    answer = lam.invoke(FunctionName=created["FunctionName"], Payload=json.dumps({"exit": True}))
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Error: Runtime exited without providing a reason")
    assert error["errorMessage"].startswith("RequestId: ")


def test_a_log_line_over_256_kb_arrives_as_events_of_at_most_256_kb(lam, created):
    length = LOG_EVENT_LIMIT + 1000
    lam.invoke(FunctionName=created["FunctionName"], Payload=json.dumps({"shout": length}))
    logs = boto3.client("logs")
    events, kwargs = [], {"logGroupName": f"/aws/lambda/{created['FunctionName']}"}
    while True:
        page = logs.filter_log_events(**kwargs)
        events += [event["message"] for event in page["events"]]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    pieces = [message for message in events if message and set(message.strip()) == {"L"}]
    assert [len(piece.encode()) for piece in pieces][:1] == [LOG_EVENT_LIMIT]
    assert "".join(pieces).strip() == "L" * length
