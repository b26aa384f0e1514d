"""Which IAM action on which resource ARN each request needs, from requests boto3 really sends.

Every call is serialized by botocore (captured before it is sent), so the mapping is tested on
the wire format the workshop's notebooks, scripts and Lambda produce. Oracle: the Service
Authorization Reference ("Actions, resources, and condition keys for Amazon DynamoDB / AWS Lambda
/ IAM / CloudWatch Logs / API Gateway / STS / Budgets"), and for CloudWatch Logs the resource
AWS's denials name (``log-group:NAME:log-stream:``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from workshop.localcloud.iam.actions import ApiCall, Check, HttpRequest, api_call

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/inventory-ada"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inventory-ada-api"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/inventory-ada-role"
GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/inventory-ada-api"


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def mapped(service: str, operation: str, caller: str | None = None, **params: Any) -> ApiCall:
    """Serialize ``operation`` with boto3 and map the captured request."""
    client = boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9",
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def capture(request: Any, **kwargs: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Captured) as captured:
        getattr(client, operation)(**params)
    request = captured.value.request
    url = urlsplit(request.url)
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    signing = {"tagging": "tagging", "resourcegroupstaggingapi": "tagging"}.get(service, service)
    http = HttpRequest(
        method=request.method,
        path=url.path,
        query=parse_qs(url.query, keep_blank_values=True),
        headers={k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()},
        body=body,
        region=REGION,
        account_id=ACCOUNT,
    )
    return api_call(signing, http, caller)


@pytest.fixture(autouse=True)
def moto_backends() -> Iterator[None]:
    """The IAM mapping reads moto's IAM backend (existing roles' paths): inside mock_aws, so no
    backend outlives the test (a later in-process local cloud builds its own, with the AWS
    managed policies it loads)."""
    with mock_aws():
        yield


def pairs(call: ApiCall) -> list[tuple[str, str]]:
    return [(check.action, check.resource) for check in call.checks]


# -- DynamoDB ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("get_item", {"TableName": "inventory-ada", "Key": {"productId": {"S": "1"}}}, [("dynamodb:GetItem", TABLE)]),
        ("put_item", {"TableName": "inventory-ada", "Item": {"productId": {"S": "1"}}}, [("dynamodb:PutItem", TABLE)]),
        ("update_item", {"TableName": "inventory-ada", "Key": {"productId": {"S": "1"}}}, [("dynamodb:UpdateItem", TABLE)]),
        ("delete_item", {"TableName": "inventory-ada", "Key": {"productId": {"S": "1"}}}, [("dynamodb:DeleteItem", TABLE)]),
        ("scan", {"TableName": "inventory-ada"}, [("dynamodb:Scan", TABLE)]),
        ("query", {"TableName": "inventory-ada", "IndexName": "byName"}, [("dynamodb:Query", TABLE + "/index/byName")]),
        ("describe_table", {"TableName": "inventory-ada"}, [("dynamodb:DescribeTable", TABLE)]),
        ("delete_table", {"TableName": TABLE}, [("dynamodb:DeleteTable", TABLE)]),
        # AWS's denial: "dynamodb:ListTables on resource: arn:aws:dynamodb:R:A:table/*"
        ("list_tables", {}, [("dynamodb:ListTables", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*")]),
        ("list_tags_of_resource", {"ResourceArn": TABLE}, [("dynamodb:ListTagsOfResource", TABLE)]),
        ("batch_write_item", {"RequestItems": {
            "inventory-ada": [{"PutRequest": {"Item": {"productId": {"S": "1"}}}}],
            "inventory-bob": [{"DeleteRequest": {"Key": {"productId": {"S": "1"}}}}]}},
         [("dynamodb:BatchWriteItem", TABLE), ("dynamodb:BatchWriteItem", TABLE.replace("ada", "bob"))]),
        ("transact_write_items", {"TransactItems": [
            {"Put": {"TableName": "inventory-ada", "Item": {"productId": {"S": "1"}}}},
            {"Update": {"TableName": "inventory-ada", "Key": {"productId": {"S": "2"}}, "UpdateExpression": "SET a = :a",
                        "ExpressionAttributeValues": {":a": {"S": "x"}}}},
            {"ConditionCheck": {"TableName": "inventory-bob", "Key": {"productId": {"S": "3"}},
                                "ConditionExpression": "attribute_exists(productId)"}}]},
         [("dynamodb:PutItem", TABLE), ("dynamodb:UpdateItem", TABLE),
          ("dynamodb:ConditionCheckItem", TABLE.replace("ada", "bob"))]),
    ],
)
def test_dynamodb(operation: str, params: dict, expected: list):
    assert pairs(mapped("dynamodb", operation, **params)) == expected


def test_dynamodb_request_tags_become_condition_keys():
    call = mapped("dynamodb", "create_table", TableName="inventory-ada", BillingMode="PAY_PER_REQUEST",
                  KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
                  AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
                  Tags=[{"Key": "Owner", "Value": "ada"}])

    assert call.checks == [Check("dynamodb:CreateTable", TABLE,
                                 {"aws:requesttag/owner": ["ada"], "aws:tagkeys": ["Owner"]})]


# -- Lambda --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("invoke", {"FunctionName": "inventory-ada-api"}, [("lambda:InvokeFunction", FUNCTION)]),
        ("invoke", {"FunctionName": "inventory-ada-api", "Qualifier": "live"}, [("lambda:InvokeFunction", FUNCTION + ":live")]),
        ("invoke", {"FunctionName": FUNCTION + ":3"}, [("lambda:InvokeFunction", FUNCTION + ":3")]),
        ("get_function", {"FunctionName": FUNCTION}, [("lambda:GetFunction", FUNCTION)]),
        ("get_function_configuration", {"FunctionName": "inventory-ada-api"},
         [("lambda:GetFunctionConfiguration", FUNCTION)]),
        ("update_function_code", {"FunctionName": "inventory-ada-api", "ZipFile": b"zip"},
         [("lambda:UpdateFunctionCode", FUNCTION)]),
        ("delete_function", {"FunctionName": "inventory-ada-api"}, [("lambda:DeleteFunction", FUNCTION)]),
        ("add_permission", {"FunctionName": "inventory-ada-api", "StatementId": "s", "Action": "lambda:InvokeFunction",
                            "Principal": "apigateway.amazonaws.com"}, [("lambda:AddPermission", FUNCTION)]),
        ("remove_permission", {"FunctionName": "inventory-ada-api", "StatementId": "s"},
         [("lambda:RemovePermission", FUNCTION)]),
        ("get_policy", {"FunctionName": "inventory-ada-api"}, [("lambda:GetPolicy", FUNCTION)]),
        ("list_tags", {"Resource": FUNCTION}, [("lambda:ListTags", FUNCTION)]),
        ("list_functions", {}, [("lambda:ListFunctions", "*")]),
        ("list_versions_by_function", {"FunctionName": "inventory-ada-api"},
         [("lambda:ListVersionsByFunction", FUNCTION)]),
        ("publish_version", {"FunctionName": "inventory-ada-api"}, [("lambda:PublishVersion", FUNCTION)]),
    ],
)
def test_lambda(operation: str, params: dict, expected: list):
    assert pairs(mapped("lambda", operation, **params)) == expected


def test_create_function_also_needs_pass_role_to_lambda():
    call = mapped("lambda", "create_function", FunctionName="inventory-ada-api", Runtime="python3.11", Role=ROLE,
                  Handler="lambda_function.lambda_handler", Code={"ZipFile": b"zip"}, Tags={"owner": "ada"})
    tag_keys = {"aws:requesttag/owner": ["ada"], "aws:tagkeys": ["owner"]}

    assert call.checks == [
        Check("lambda:CreateFunction", FUNCTION, tag_keys),
        Check("lambda:TagResource", FUNCTION, tag_keys),
        Check("iam:PassRole", ROLE, {"iam:passedtoservice": ["lambda.amazonaws.com"]}),
    ]
    assert call.function_role == ROLE


def test_update_function_configuration_needs_pass_role_only_when_it_sets_a_role():
    with_role = mapped("lambda", "update_function_configuration", FunctionName="inventory-ada-api", Role=ROLE)
    without = mapped("lambda", "update_function_configuration", FunctionName="inventory-ada-api", Timeout=5)

    assert pairs(with_role) == [("lambda:UpdateFunctionConfiguration", FUNCTION), ("iam:PassRole", ROLE)]
    assert pairs(without) == [("lambda:UpdateFunctionConfiguration", FUNCTION)]
    assert without.function_role is None


# -- CloudWatch Logs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("create_log_group", {"logGroupName": "/aws/lambda/inventory-ada-api"},
         [("logs:CreateLogGroup", GROUP + ":log-stream:")]),
        ("put_retention_policy", {"logGroupName": "/aws/lambda/inventory-ada-api", "retentionInDays": 7},
         [("logs:PutRetentionPolicy", GROUP + ":log-stream:")]),
        ("delete_log_group", {"logGroupName": "/aws/lambda/inventory-ada-api"},
         [("logs:DeleteLogGroup", GROUP + ":log-stream:")]),
        ("filter_log_events", {"logGroupName": "/aws/lambda/inventory-ada-api"},
         [("logs:FilterLogEvents", GROUP + ":log-stream:")]),
        ("describe_log_streams", {"logGroupName": "/aws/lambda/inventory-ada-api"},
         [("logs:DescribeLogStreams", GROUP + ":log-stream:")]),
        ("describe_log_streams", {"logGroupIdentifier": GROUP},
         [("logs:DescribeLogStreams", GROUP + ":log-stream:")]),
        ("get_log_events", {"logGroupName": "/aws/lambda/inventory-ada-api", "logStreamName": "s1"},
         [("logs:GetLogEvents", GROUP + ":log-stream:s1")]),
        ("put_log_events", {"logGroupName": "/aws/lambda/inventory-ada-api", "logStreamName": "s1",
                            "logEvents": [{"timestamp": 1, "message": "m"}]},
         [("logs:PutLogEvents", GROUP + ":log-stream:s1")]),
        ("describe_log_groups", {}, [("logs:DescribeLogGroups", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group::log-stream:")]),
        ("list_tags_for_resource", {"resourceArn": GROUP}, [("logs:ListTagsForResource", GROUP)]),
        ("list_tags_log_group", {"logGroupName": "/aws/lambda/inventory-ada-api"},
         [("logs:ListTagsLogGroup", GROUP + ":log-stream:")]),
    ],
)
def test_logs(operation: str, params: dict, expected: list):
    assert pairs(mapped("logs", operation, **params)) == expected


def test_a_tagged_log_group_needs_tag_resource_too():
    call = mapped("logs", "create_log_group", logGroupName="/aws/lambda/inventory-ada-api", tags={"owner": "ada"})

    assert [c.action for c in call.checks] == ["logs:CreateLogGroup", "logs:TagResource"]
    assert call.checks[0].keys == {"aws:requesttag/owner": ["ada"], "aws:tagkeys": ["owner"]}


# -- API Gateway ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("get_rest_apis", {}, [("apigateway:GET", f"arn:aws:apigateway:{REGION}::/restapis")]),
        ("create_rest_api", {"name": "x"}, [("apigateway:POST", f"arn:aws:apigateway:{REGION}::/restapis")]),
        ("get_resources", {"restApiId": "a1"}, [("apigateway:GET", f"arn:aws:apigateway:{REGION}::/restapis/a1/resources")]),
        ("put_integration", {"restApiId": "a1", "resourceId": "r1", "httpMethod": "GET", "type": "AWS_PROXY"},
         [("apigateway:PUT", f"arn:aws:apigateway:{REGION}::/restapis/a1/resources/r1/methods/GET/integration")]),
        ("delete_rest_api", {"restApiId": "a1"}, [("apigateway:DELETE", f"arn:aws:apigateway:{REGION}::/restapis/a1")]),
        ("create_deployment", {"restApiId": "a1", "stageName": "prod"},
         [("apigateway:POST", f"arn:aws:apigateway:{REGION}::/restapis/a1/deployments")]),
    ],
)
def test_apigateway(operation: str, params: dict, expected: list):
    assert pairs(mapped("apigateway", operation, **params)) == expected


# -- IAM, STS, Budgets, tagging ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("get_role", {"RoleName": "inventory-ada-role"}, [("iam:GetRole", ROLE)]),
        ("create_role", {"RoleName": "inventory-ada-role", "AssumeRolePolicyDocument": "{}", "Path": "/service/"},
         [("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/service/inventory-ada-role")]),
        ("put_role_policy", {"RoleName": "inventory-ada-role", "PolicyName": "p", "PolicyDocument": "{}"},
         [("iam:PutRolePolicy", ROLE)]),
        ("list_instance_profiles_for_role", {"RoleName": "inventory-ada-role"},
         [("iam:ListInstanceProfilesForRole", ROLE)]),
        # AWS: "iam:ListRoles on resource: arn:aws:iam::A:role/", "iam:ListPolicies on
        # resource: policy path /" (denials recorded from AWS).
        ("list_roles", {}, [("iam:ListRoles", f"arn:aws:iam::{ACCOUNT}:role/")]),
        ("list_roles", {"PathPrefix": "/service-role/"}, [("iam:ListRoles", f"arn:aws:iam::{ACCOUNT}:role/service-role/")]),
        ("list_users", {}, [("iam:ListUsers", f"arn:aws:iam::{ACCOUNT}:user/")]),
        ("list_policies", {}, [("iam:ListPolicies", "policy path /")]),
        ("get_account_summary", {}, [("iam:GetAccountSummary", "*")]),
        ("list_policy_tags", {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/p"},
         [("iam:ListPolicyTags", f"arn:aws:iam::{ACCOUNT}:policy/p")]),
        ("create_policy", {"PolicyName": "p", "PolicyDocument": "{}"},
         [("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/p")]),
        ("get_user", {}, [("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/ada")]),
    ],
)
def test_iam(operation: str, params: dict, expected: list):
    assert pairs(mapped("iam", operation, f"arn:aws:iam::{ACCOUNT}:user/ada", **params)) == expected


def test_iam_condition_keys_from_the_request():
    attach = mapped("iam", "attach_role_policy", RoleName="inventory-ada-role",
                    PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    tag = mapped("iam", "tag_role", RoleName="inventory-ada-role", Tags=[{"Key": "owner", "Value": "ada"}])
    untag = mapped("iam", "untag_role", RoleName="inventory-ada-role", TagKeys=["owner", "cost"])

    assert attach.checks[0].keys == {
        "iam:policyarn": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]}
    assert tag.checks[0].keys == {"aws:requesttag/owner": ["ada"], "aws:tagkeys": ["owner"]}
    assert untag.checks[0].keys == {"aws:tagkeys": ["owner", "cost"]}


def test_sts():
    assert mapped("sts", "get_caller_identity").always_allowed
    assume = mapped("sts", "assume_role", RoleArn=ROLE, RoleSessionName="s1")
    assert pairs(assume) == [("sts:AssumeRole", ROLE)] and assume.assume_role_arn == ROLE


def test_budgets_and_the_tagging_api():
    create = mapped("budgets", "create_budget", AccountId=ACCOUNT, ResourceTags=[{"Key": "owner", "Value": "ada"}],
                    Budget={"BudgetName": "inventory-ada", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                            "BudgetLimit": {"Amount": "5", "Unit": "USD"}})
    budget = f"arn:aws:budgets::{ACCOUNT}:budget/inventory-ada"

    assert pairs(create) == [("budgets:ModifyBudget", budget), ("budgets:TagResource", budget)]
    assert pairs(mapped("budgets", "describe_budgets", AccountId=ACCOUNT)) == [("budgets:ViewBudget", "*")]
    assert pairs(mapped("resourcegroupstaggingapi", "get_resources")) == [("tag:GetResources", "*")]


# -- bad input -----------------------------------------------------------------------------------


def test_requests_the_mapping_cannot_read_still_map_to_something_checkable():
    garbage = HttpRequest("POST", "/", {}, {"x-amz-target": "DynamoDB_20120810.GetItem"}, b"{not json",
                          REGION, ACCOUNT)
    unknown_route = HttpRequest("GET", "/no/such/route", {}, {}, b"", REGION, ACCOUNT)

    assert pairs(api_call("dynamodb", garbage)) == [("dynamodb:GetItem", "*")]
    assert pairs(api_call("lambda", unknown_route)) == [("lambda:Unknown", "*")]


def test_tag_on_create_needs_the_tag_permission_too():
    role = mapped("iam", "create_role", RoleName="inventory-ada-role", AssumeRolePolicyDocument="{}",
                  Tags=[{"Key": "owner", "Value": "ada"}])
    untagged = mapped("iam", "create_role", RoleName="inventory-ada-role", AssumeRolePolicyDocument="{}")
    function = mapped("lambda", "create_function", FunctionName="inventory-ada-api", Runtime="python3.11",
                      Role=ROLE, Handler="h.h", Code={"ZipFile": b"zip"}, Tags={"owner": "ada"})

    assert pairs(role) == [("iam:CreateRole", ROLE), ("iam:TagRole", ROLE)]
    assert pairs(untagged) == [("iam:CreateRole", ROLE)]
    assert pairs(function) == [("lambda:CreateFunction", FUNCTION), ("lambda:TagResource", FUNCTION),
                               ("iam:PassRole", ROLE)]


def test_an_authorizer_with_credentials_passes_the_role_to_api_gateway():
    # SAR, API Gateway Management, operations table: CreateAuthorizer is apigateway:POST and
    # iam:PassRole with iam:PassedToService = apigateway.amazonaws.com.
    authorizers = f"arn:aws:apigateway:{REGION}::/restapis/a1/authorizers"
    with_role = mapped("apigateway", "create_authorizer", restApiId="a1", name="tokens", type="TOKEN",
                       identitySource="method.request.header.Authorization",
                       authorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                                     f"{FUNCTION}/invocations", authorizerCredentials=ROLE)
    without = mapped("apigateway", "create_authorizer", restApiId="a1", name="tokens", type="TOKEN",
                     identitySource="method.request.header.Authorization",
                     authorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                                   f"{FUNCTION}/invocations")

    assert pairs(with_role) == [("apigateway:POST", authorizers), ("iam:PassRole", ROLE)]
    assert with_role.checks[1].keys == {"iam:passedtoservice": ["apigateway.amazonaws.com"]}
    assert pairs(without) == [("apigateway:POST", authorizers)]


def test_api_keys_and_usage_plans_created_with_tags_carry_the_request_tags():
    key = mapped("apigateway", "create_api_key", name="inventory-ada-key", enabled=True,
                 tags={"workshop-owner": "ada"})
    plan = mapped("apigateway", "create_usage_plan", name="inventory-ada-plan",
                  tags={"workshop-owner": "ada"})
    untagged = mapped("apigateway", "create_api_key", name="inventory-ada-key")

    for call, path in ((key, "/apikeys"), (plan, "/usageplans")):
        assert pairs(call) == [("apigateway:POST", f"arn:aws:apigateway:{REGION}::{path}")]
        assert call.checks[0].keys == {"aws:requesttag/workshop-owner": ["ada"],
                                       "aws:tagkeys": ["workshop-owner"]}
    assert untagged.checks[0].keys == {}


def test_an_integration_with_credentials_passes_the_role_to_api_gateway():
    call = mapped("apigateway", "put_integration", restApiId="a1", resourceId="r1", httpMethod="GET",
                  type="AWS_PROXY", credentials=ROLE)

    assert call.checks[1] == Check("iam:PassRole", ROLE, {"iam:passedtoservice": ["apigateway.amazonaws.com"]})
