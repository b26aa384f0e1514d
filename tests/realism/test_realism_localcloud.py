"""Each realism behaviour through boto3 against a real local cloud (moto, runtime, gateway).

The local cloud runs in-process with ``WORKSHOP_REALISM=aws`` at scale 1.0 on a manual clock,
so every boundary is crossed exactly and nothing waits: the clock moves only when a test says,
and boto3's waiters "sleep" by moving it.

AWS's answers, and where they are recorded:

- Lambda CreateFunction / UpdateFunctionConfiguration / UpdateFunctionCode / GetFunction shapes:
  localstack/localstack tests/aws/services/lambda_/test_lambda_api.snapshot.json, key
  ``TestLambdaFunction::test_function_lifecycle`` (aws.validated): create answers State Pending,
  StateReason "The function is being created.", StateReasonCode Creating, no LastUpdateStatus;
  updates answer LastUpdateStatus InProgress with LastUpdateStatusReason "The function is being
  created." and LastUpdateStatusReasonCode Creating; GetFunction later reads Active /
  Successful without reason fields.
- Invoking a Pending function: "ResourceConflictException: The operation cannot be performed at
  this time. The function is currently in the following state: Pending" (Lambda developer guide,
  "Troubleshoot invocation issues in Lambda").
- Updating during an update: ResourceConflictException "The operation cannot be performed at this
  time. An update is in progress for resource: <function ARN>" (the message AWS returns, quoted
  in many deployment scripts' comments; ResourceConflictException is status 409 in the botocore
  model: "The resource already exists, or another operation is in progress.").
- Role not yet assumable: InvalidParameterValueException "The role defined for the function
  cannot be assumed by Lambda." (Lambda; the lab 03 retry loop matches it).
- DynamoDB: CreateTable answers CREATING, DeleteTable DELETING; DeleteTable of a CREATING table is
  a ResourceInUseException, of a DELETING one no error (DynamoDB API reference, DeleteTable);
  ResourceNotFoundException "might not be specified correctly, or its status might not be
  ACTIVE" (API reference, common errors of the item operations).
- API Gateway quotas: docs.aws.amazon.com/apigateway/latest/developerguide/limits.html; 429
  TooManyRequestsException with a Retry-After header (botocore model, shape
  TooManyRequestsException) and message "Too Many Requests" (aws/aws-cdk#15573).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from realism_cloud import TRUST, RealismCloud, realism_cloud
from workshop.localcloud import realism
from workshop.localcloud.realism import timings
from workshop.retrying import retry_after, throttle_wait

HANDLER = "def handler(event, context):\n    print('handled', event)\n    return {'ok': True}\n"


class Cloud(RealismCloud):
    def ready_role(self) -> str:
        """A role old enough for Lambda to assume."""
        return self.propagated_role()[1]

    def zip(self) -> bytes:
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", HANDLER)
        return buffer.getvalue()

    def create_function(self, role_arn: str, name: str | None = None) -> dict[str, Any]:
        return self.client("lambda").create_function(
            FunctionName=name or self.name("fn"), Runtime="python3.12", Role=role_arn,
            Handler="app.handler", Code={"ZipFile": self.zip()},
        )

    def active_function(self) -> str:
        name = self.create_function(self.ready_role())["FunctionName"]
        self.clock.advance(timings.FUNCTION_CREATE_S)
        return name


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    with realism_cloud(Cloud) as started:
        yield started


@pytest.fixture
def waiters_move_the_clock(cloud, monkeypatch):
    """boto3 waiters sleep between polls: here each sleep moves the manual clock instead."""
    import botocore.waiter

    monkeypatch.setattr(botocore.waiter.time, "sleep", cloud.clock.advance)


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_the_running_local_cloud_reports_its_realism(cloud):
    assert cloud.server.describe()["realism"] == {"mode": "aws", "scale": 1.0}


# -- IAM role propagation -----------------------------------------------------------------------


def test_a_new_role_cannot_be_assumed_by_lambda_for_about_10_seconds(cloud):
    iam = cloud.client("iam")
    arn = iam.create_role(RoleName=cloud.name("role"), AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    assert error_of(cloud.create_function, arn) == (
        400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
    cloud.clock.advance(timings.ROLE_PROPAGATION_S - 0.01)
    assert error_of(cloud.create_function, arn)[1] == "InvalidParameterValueException"
    cloud.clock.advance(0.02)
    assert cloud.create_function(arn)["State"] == "Pending"


def test_a_role_whose_trust_policy_changed_propagates_again(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    role_arn = lam.get_function_configuration(FunctionName=name)["Role"]
    other = cloud.client("iam").create_role(RoleName=cloud.name("role2"), AssumeRolePolicyDocument=TRUST)["Role"]
    # A changed role (here: a new one) named in an update is refused just as in a create.
    assert error_of(lam.update_function_configuration, FunctionName=name, Role=other["Arn"]) == (
        400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
    cloud.clock.advance(timings.ROLE_PROPAGATION_S)
    cloud.client("iam").update_assume_role_policy(RoleName=role_arn.rsplit("/", 1)[-1], PolicyDocument=TRUST)
    assert error_of(cloud.create_function, role_arn)[1] == "InvalidParameterValueException"
    # The refused update changed nothing, so the function is free for the next one.
    assert lam.update_function_configuration(FunctionName=name, Role=other["Arn"])["LastUpdateStatus"] == "InProgress"


# -- Lambda function states ---------------------------------------------------------------------


def test_create_function_answers_pending_as_aws_does_then_reads_active(cloud):
    created = cloud.create_function(cloud.ready_role())
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == (
        "Pending", "The function is being created.", "Creating")
    assert "LastUpdateStatus" not in created
    lam = cloud.client("lambda")
    during = lam.get_function(FunctionName=created["FunctionName"])["Configuration"]
    assert during["State"] == "Pending"
    cloud.clock.advance(timings.FUNCTION_CREATE_S)
    after = lam.get_function(FunctionName=created["FunctionName"])["Configuration"]
    assert (after["State"], after["LastUpdateStatus"]) == ("Active", "Successful")
    assert not {"StateReason", "StateReasonCode", "LastUpdateStatusReason"} & set(after)


def test_a_pending_function_refuses_invocations_and_updates(cloud):
    lam = cloud.client("lambda")
    name = cloud.create_function(cloud.ready_role())["FunctionName"]
    pending = "The operation cannot be performed at this time. The function is currently in the following state: Pending"
    assert error_of(lam.invoke, FunctionName=name, Payload=b"{}") == (409, "ResourceConflictException", pending)
    assert error_of(lam.update_function_code, FunctionName=name, ZipFile=cloud.zip()) == (
        409, "ResourceConflictException", pending)
    cloud.clock.advance(timings.FUNCTION_CREATE_S - 0.01)
    assert error_of(lam.invoke, FunctionName=name, Payload=b"{}")[1] == "ResourceConflictException"
    cloud.clock.advance(0.02)
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    assert (answer["StatusCode"], json.loads(answer["Payload"].read())) == (200, {"ok": True})


@pytest.mark.parametrize("update", ["code", "configuration"])
def test_an_update_is_in_progress_then_successful_and_a_second_one_waits(cloud, update):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    first = (lam.update_function_code(FunctionName=name, ZipFile=cloud.zip()) if update == "code"
             else lam.update_function_configuration(FunctionName=name, Timeout=7))
    assert (first["State"], first["LastUpdateStatus"], first["LastUpdateStatusReason"],
            first["LastUpdateStatusReasonCode"]) == ("Active", "InProgress", "The function is being created.", "Creating")
    busy = f"The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    assert error_of(lam.update_function_configuration, FunctionName=name, Timeout=8) == (
        409, "ResourceConflictException", busy)
    assert error_of(lam.update_function_code, FunctionName=name, ZipFile=cloud.zip()) == (
        409, "ResourceConflictException", busy)
    assert error_of(lam.publish_version, FunctionName=name) == (409, "ResourceConflictException", busy)
    # Invoking during an update is allowed: the previous version keeps answering.
    assert lam.invoke(FunctionName=name, Payload=b"{}")["StatusCode"] == 200
    cloud.clock.advance(timings.FUNCTION_UPDATE_S - 0.01)
    assert lam.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"] == "InProgress"
    cloud.clock.advance(0.02)
    settled = lam.get_function(FunctionName=name)["Configuration"]
    assert settled["LastUpdateStatus"] == "Successful"
    assert "LastUpdateStatusReason" not in settled
    assert lam.update_function_configuration(FunctionName=name, Timeout=9)["Timeout"] == 9


def test_update_code_with_publish_publishes_once_its_own_update_started(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    answer = lam.update_function_code(FunctionName=name, ZipFile=cloud.zip(), Publish=True)
    assert answer["Version"] == "1"
    cloud.clock.advance(timings.FUNCTION_UPDATE_S)
    assert lam.publish_version(FunctionName=name)["Version"] in ("1", "2")


def test_the_lambda_waiters_wait_for_active_and_for_the_update(cloud, waiters_move_the_clock):
    lam = cloud.client("lambda")
    name = cloud.create_function(cloud.ready_role())["FunctionName"]
    started = cloud.clock.now()
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert cloud.clock.now() - started >= timings.FUNCTION_CREATE_S
    lam.update_function_configuration(FunctionName=name, Timeout=11)
    started = cloud.clock.now()
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert cloud.clock.now() - started >= timings.FUNCTION_UPDATE_S
    assert lam.get_function_configuration(FunctionName=name)["Timeout"] == 11


def test_a_deleted_and_recreated_function_starts_pending_again(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    lam.delete_function(FunctionName=name)
    role = cloud.ready_role()
    assert cloud.create_function(role, name=name)["State"] == "Pending"


# -- DynamoDB table states ----------------------------------------------------------------------


def create_table(cloud: Cloud, name: str) -> dict[str, Any]:
    return cloud.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )["TableDescription"]


ITEM_CALLS = {
    "put_item": lambda ddb, t: ddb.put_item(TableName=t, Item={"k": {"S": "a"}}),
    "get_item": lambda ddb, t: ddb.get_item(TableName=t, Key={"k": {"S": "a"}}),
    "update_item": lambda ddb, t: ddb.update_item(TableName=t, Key={"k": {"S": "a"}},
                                                  UpdateExpression="SET v = :v",
                                                  ExpressionAttributeValues={":v": {"N": "1"}}),
    "delete_item": lambda ddb, t: ddb.delete_item(TableName=t, Key={"k": {"S": "a"}}),
    "scan": lambda ddb, t: ddb.scan(TableName=t),
    "query": lambda ddb, t: ddb.query(TableName=t, KeyConditionExpression="k = :k",
                                      ExpressionAttributeValues={":k": {"S": "a"}}),
    "batch_write_item": lambda ddb, t: ddb.batch_write_item(
        RequestItems={t: [{"PutRequest": {"Item": {"k": {"S": "b"}}}}]}),
    "batch_get_item": lambda ddb, t: ddb.batch_get_item(RequestItems={t: {"Keys": [{"k": {"S": "a"}}]}}),
    "transact_write_items": lambda ddb, t: ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": t, "Item": {"k": {"S": "c"}}}}]),
    "transact_get_items": lambda ddb, t: ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": t, "Key": {"k": {"S": "a"}}}}]),
}


@pytest.mark.parametrize("call", sorted(ITEM_CALLS))
def test_item_calls_on_a_creating_table_fail_until_it_is_active(cloud, call):
    ddb = cloud.client("dynamodb")
    table = cloud.name("tbl")
    assert create_table(cloud, table)["TableStatus"] == "CREATING"
    assert error_of(ITEM_CALLS[call], ddb, table) == (400, "ResourceNotFoundException", "Requested resource not found")
    cloud.clock.advance(timings.TABLE_CREATE_S - 0.01)
    assert ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "CREATING"
    cloud.clock.advance(0.02)
    assert ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    ITEM_CALLS[call](ddb, table)


def test_a_creating_table_cannot_be_deleted(cloud):
    ddb = cloud.client("dynamodb")
    table = cloud.name("tbl")
    create_table(cloud, table)
    status, code, _ = error_of(ddb.delete_table, TableName=table)
    assert (status, code) == (400, "ResourceInUseException")
    cloud.clock.advance(timings.TABLE_CREATE_S)
    assert ddb.delete_table(TableName=table)["TableDescription"]["TableStatus"] == "DELETING"


def test_a_deleted_table_reads_deleting_then_is_gone(cloud):
    ddb = cloud.client("dynamodb")
    table = cloud.name("tbl")
    create_table(cloud, table)
    cloud.clock.advance(timings.TABLE_CREATE_S)
    ddb.put_item(TableName=table, Item={"k": {"S": "a"}})
    deleted = ddb.delete_table(TableName=table)["TableDescription"]
    assert (deleted["TableName"], deleted["TableStatus"]) == (table, "DELETING")
    assert ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "DELETING"
    # Deleting a DELETING table is no error; creating its name again is refused.
    assert ddb.delete_table(TableName=table)["TableDescription"]["TableStatus"] == "DELETING"
    assert error_of(create_table, cloud, table)[1] == "ResourceInUseException"
    assert error_of(ddb.get_item, TableName=table, Key={"k": {"S": "a"}})[1] == "ResourceNotFoundException"
    cloud.clock.advance(timings.TABLE_DELETE_S - 0.01)
    assert ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "DELETING"
    cloud.clock.advance(0.02)
    assert error_of(ddb.describe_table, TableName=table)[1] == "ResourceNotFoundException"
    assert create_table(cloud, table)["TableStatus"] == "CREATING"


def test_the_table_waiters_wait_for_active_and_for_gone(cloud, waiters_move_the_clock):
    ddb = cloud.client("dynamodb")
    table = cloud.name("tbl")
    create_table(cloud, table)
    started = cloud.clock.now()
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert cloud.clock.now() - started >= timings.TABLE_CREATE_S
    ddb.delete_table(TableName=table)
    started = cloud.clock.now()
    ddb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert cloud.clock.now() - started >= timings.TABLE_DELETE_S


# -- API Gateway management quotas -------------------------------------------------------------


def api_names(cloud: Cloud) -> set[str]:
    return {api["name"] for api in cloud.client("apigateway").get_rest_apis(limit=500)["items"]}


def fill_the_total_bucket(cloud: Cloud) -> None:
    """Wait long enough that every bucket is full again (the slowest refills in 30 s)."""
    cloud.clock.advance(31)


def test_create_rest_api_is_throttled_as_aws_does_and_the_refused_call_creates_nothing(cloud):
    fill_the_total_bucket(cloud)
    apigateway = cloud.client("apigateway")
    first = cloud.name("api")
    apigateway.create_rest_api(name=first, endpointConfiguration={"types": ["REGIONAL"]})
    second = cloud.name("api")
    with pytest.raises(ClientError) as caught:
        apigateway.create_rest_api(name=second, endpointConfiguration={"types": ["REGIONAL"]})
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"] == {"Code": "TooManyRequestsException", "Message": "Too Many Requests"}
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "3"
    assert isinstance(caught.value, apigateway.exceptions.TooManyRequestsException)
    assert retry_after(caught.value) == 3.0
    assert throttle_wait(caught.value, 1) == 3.0
    assert first in api_names(cloud) and second not in api_names(cloud)
    cloud.clock.advance(3)
    apigateway.create_rest_api(name=second, endpointConfiguration={"types": ["REGIONAL"]})


def test_edge_optimized_apis_one_per_30_s(cloud):
    fill_the_total_bucket(cloud)
    apigateway = cloud.client("apigateway")
    apigateway.create_rest_api(name=cloud.name("edge"))  # no endpoint type: EDGE
    cloud.clock.advance(3)
    status, code, _ = error_of(apigateway.create_rest_api, name=cloud.name("edge"))
    assert (status, code) == (429, "TooManyRequestsException")
    # The regional quota is a bucket of its own.
    apigateway.create_rest_api(name=cloud.name("api"), endpointConfiguration={"types": ["REGIONAL"]})


def test_delete_rest_api_one_per_30_s(cloud):
    fill_the_total_bucket(cloud)
    apigateway = cloud.client("apigateway")
    ids = []
    for _ in range(2):
        ids.append(apigateway.create_rest_api(name=cloud.name("del"), endpointConfiguration={"types": ["REGIONAL"]})["id"])
        cloud.clock.advance(3)
    apigateway.delete_rest_api(restApiId=ids[0])
    with pytest.raises(ClientError) as caught:
        apigateway.delete_rest_api(restApiId=ids[1])
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "30"
    cloud.clock.advance(29.9)
    assert error_of(apigateway.delete_rest_api, restApiId=ids[1])[0] == 429
    cloud.clock.advance(0.2)
    apigateway.delete_rest_api(restApiId=ids[1])


def test_create_deployment_one_per_5_s_and_create_resource_five_per_second(cloud):
    fill_the_total_bucket(cloud)
    apigateway = cloud.client("apigateway")
    api_id = apigateway.create_rest_api(name=cloud.name("dep"), endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    for index in range(5):
        apigateway.create_resource(restApiId=api_id, parentId=root, pathPart=f"r{index}")
    assert error_of(apigateway.create_resource, restApiId=api_id, parentId=root, pathPart="r5")[0] == 429
    cloud.clock.advance(0.2)
    apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="r5")
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="a")
    assert error_of(apigateway.create_deployment, restApiId=api_id, stageName="b")[0] == 429
    cloud.clock.advance(5)
    apigateway.create_deployment(restApiId=api_id, stageName="b")


def test_all_management_calls_share_10_per_second_with_a_burst_of_40(cloud):
    fill_the_total_bucket(cloud)
    apigateway = cloud.client("apigateway")
    for _ in range(40):
        apigateway.get_rest_apis()
    status, code, message = error_of(apigateway.get_rest_apis)
    assert (status, code, message) == (429, "TooManyRequestsException", "Too Many Requests")
    cloud.clock.advance(0.1)
    apigateway.get_rest_apis()


def test_other_services_are_never_throttled(cloud):
    fill_the_total_bucket(cloud)
    ddb = cloud.client("dynamodb")
    for _ in range(60):
        ddb.list_tables()


# -- CloudWatch Logs delivery delay ------------------------------------------------------------


def test_log_events_become_visible_a_few_seconds_after_they_are_written(cloud):
    lam, logs = cloud.client("lambda"), cloud.client("logs")
    # CloudWatch stamps events with wall time, so the manual clock is set to just before it
    # (the role and the function need 13 s of it first).
    cloud.clock.set(time.time() - 20)
    name = cloud.active_function()
    lam.invoke(FunctionName=name, Payload=b'{"n": 1}')
    group = f"/aws/lambda/{name}"
    assert logs.filter_log_events(logGroupName=group)["events"] == []
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"] == []
    # The manual clock stood still while the invocation ran in real time: move it past both.
    cloud.clock.advance(timings.LOG_VISIBILITY_S + (time.time() - cloud.clock.now()) + 1)
    messages = [event["message"] for event in logs.filter_log_events(logGroupName=group)["events"]]
    assert any(message.startswith("REPORT") for message in messages)
    assert any("handled {'n': 1}" in message for message in messages)
    assert logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]


# -- off means off ------------------------------------------------------------------------------


def test_realism_off_changes_nothing_in_moto(monkeypatch):
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.dynamodb.models.table import Table

    originals = (LambdaFunction.get_configuration, LambdaBackend.create_function, Table.describe)
    monkeypatch.delenv("WORKSHOP_REALISM", raising=False)
    app = object()
    assert realism.install(app, environ={}) is app
    assert realism.describe() == {"mode": "off", "scale": 1.0}
    assert (LambdaFunction.get_configuration, LambdaBackend.create_function, Table.describe) == originals
