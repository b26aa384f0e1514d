"""The issue's "done when", against the real local cloud process: build a stack with plain boto3
(table, role with the AWS managed policy, the reference Lambda, REST API, deployment), call it
over HTTP through the hosted gateway, read the function's logs with boto3.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import boto3
import pytest
import requests

from workshop.paths import SOLUTION_LAMBDA_DIR

pytestmark = pytest.mark.localcloud

BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def reference_lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for source in sorted(SOLUTION_LAMBDA_DIR.glob("*.py")):
            archive.write(source, source.name)
    return buffer.getvalue()


def test_aws_managed_policies_are_loaded_and_attach(local_cloud):
    iam = boto3.client("iam")
    role = f"managed-policy-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))

    policy = iam.get_policy(PolicyArn=BASIC_EXECUTION_ROLE)["Policy"]
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC_EXECUTION_ROLE)

    assert policy["PolicyName"] == "AWSLambdaBasicExecutionRole"
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC_EXECUTION_ROLE}]
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"


@pytest.mark.skipif(
    not (SOLUTION_LAMBDA_DIR / "lambda_function.py").is_file(), reason="the reference Lambda is not there yet"
)
def test_a_stack_built_with_plain_boto3_answers_through_the_gateway_and_logs(local_cloud):
    suffix = uuid.uuid4().hex[:8]
    table, function, role = f"stack-{suffix}-products", f"stack-{suffix}-api", f"stack-{suffix}-role"
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC_EXECUTION_ROLE)
    # The function runs as its role: it needs the table's item actions, as on AWS.
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    iam.put_role_policy(RoleName=role, PolicyName="table", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": table_arn}],
    }))
    lambda_client = boto3.client("lambda")
    function_arn = lambda_client.create_function(
        FunctionName=function, Runtime="python3.11", Role=role_arn,
        Handler="lambda_function.lambda_handler", Code={"ZipFile": reference_lambda_zip()},
        Environment={"Variables": {"TABLE_NAME": table}},
    )["FunctionArn"]
    apigateway = boto3.client("apigateway")
    api_id = apigateway.create_rest_api(name=f"stack-{suffix}")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    for part in ("health", "product"):
        resource = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart=part)["id"]
        for method in (["GET"] if part == "health" else ["GET", "POST"]):
            apigateway.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
            apigateway.put_integration(
                restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                integrationHttpMethod="POST", uri=uri,
            )
    lambda_client.add_permission(
        FunctionName=function, StatementId="apigateway", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/*/*",
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    base_url = local_cloud.invoke_url(api_id, "prod")

    health = requests.get(f"{base_url}/health", timeout=30)
    created = requests.post(f"{base_url}/product", json={"productId": "p-1", "price": 19.99}, timeout=30)
    fetched = requests.get(f"{base_url}/product", params={"productId": "p-1"}, timeout=30)
    missing = requests.get(f"{base_url}/nowhere", timeout=30)

    assert health.status_code == 200
    assert health.headers["x-amzn-RequestId"]
    assert created.status_code == 201, created.text
    assert fetched.status_code == 200
    assert fetched.json()["price"] == 19.99
    assert missing.status_code == 403
    assert missing.json() == {"message": "Missing Authentication Token"}
    stored = boto3.client("dynamodb").get_item(TableName=table, Key={"productId": {"S": "p-1"}})
    assert stored["Item"]["price"] == {"N": "19.99"}  # written by the function's own boto3 call

    events = boto3.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    messages = [event["message"] for event in events]
    assert sum(m.startswith("START RequestId: ") for m in messages) == 3
    assert sum(m.startswith("END RequestId: ") for m in messages) == 3
    reports = [m for m in messages if m.startswith("REPORT RequestId: ")]
    assert len(reports) == 3
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[-1]
