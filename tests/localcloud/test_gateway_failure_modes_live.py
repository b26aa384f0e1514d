"""design.md's API Gateway failure table, against a REAL local cloud, over HTTP.

tests/gateway/ drives the gateway core in-process with a fake invoker; this module is the
functional counterpart: the session's ``local_cloud`` (a separate process, free ports), an API
built with plain boto3 as a learner would build it, tiny handlers run by the real Lambda runtime,
and every answer read through the real gateway URL ``{gateway}/{api_id}/{stage}/...``.

The API, its functions and its role have unique names and are deleted at the end, so other tests
sharing the session's local cloud never see them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
from localcloud_support import REGION, TRUST_POLICY, make_zip, unique

pytestmark = pytest.mark.localcloud

ACCOUNT_ID = "123456789012"
STAGE = "prod"
HTTP_TIMEOUT_S = 30
SLOW_HANDLER_SLEEP_S = 2.0
INTEGRATION_TIMEOUT_MS = 500
TEN_MB = 10 * 1024 * 1024
SIX_MB = 6 * 1024 * 1024
MISSING_TOKEN = {"message": "Missing Authentication Token"}
INTERNAL_ERROR = {"message": "Internal server error"}
BOOM_MARKER = "boom-handler-failed-on-purpose"

# One function serves every behaviour, chosen by the resource the request reached: one cold
# start instead of one per behaviour keeps this module fast.
BEHAVIOURS_SOURCE = f'''
import json
import time


def handler(event, context):
    resource = event["resource"]
    if resource == "/boom":
        raise ValueError("{BOOM_MARKER}")
    if resource == "/malformed/{{kind}}":
        kind = event["pathParameters"]["kind"]
        if kind == "string":
            return "just a string, not a proxy response"
        if kind == "no-status":
            return {{"body": "no statusCode here"}}
        if kind == "dict-body":
            return {{"statusCode": 200, "body": {{"not": "a string"}}}}
        raise RuntimeError("unknown malformed kind " + kind)
    if resource == "/big":
        return {{"statusCode": 200, "body": "x" * ({SIX_MB} + 1024)}}
    if resource == "/slow":
        time.sleep({SLOW_HANDLER_SLEEP_S})
        return {{"statusCode": 200, "body": "finally"}}
    return {{
        "statusCode": 200,
        "headers": {{"Content-Type": "application/json"}},
        "body": json.dumps(event),
    }}
'''

ECHO_SOURCE = '''
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"reached": True})}
'''


@dataclass
class LiveApi:
    """The API under test and what the tests need to reach and change it."""

    api_id: str
    gateway: str
    function: str
    function_arn: str
    resources: dict[str, str] = field(default_factory=dict)  # path -> resource id
    apigateway: Any = None

    def url(self, path: str, stage: str = STAGE) -> str:
        return f"{self.gateway}/{self.api_id}/{stage}{path}"


def lambda_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def add_proxy_method(
    apigateway: Any, api_id: str, resource_id: str, method: str, function_arn: str, **integration: Any
) -> None:
    apigateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api_id, resourceId=resource_id, httpMethod=method, type="AWS_PROXY",
        integrationHttpMethod="POST", uri=lambda_uri(function_arn), **integration,
    )


def add_cors_preflight(apigateway: Any, api_id: str, resource_id: str) -> None:
    """OPTIONS with a MOCK integration, as the console's "Enable CORS" builds it (status 204
    here, so the test can tell the integration response's status from a default 200)."""
    headers = {
        "method.response.header.Access-Control-Allow-Origin": "'https://shop.example'",
        "method.response.header.Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
        "method.response.header.Access-Control-Allow-Headers": "'Content-Type,X-Amz-Date,Authorization'",
    }
    apigateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE")
    apigateway.put_method_response(
        restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", statusCode="204",
        responseParameters={name: False for name in headers},
    )
    apigateway.put_integration(
        restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.put_integration_response(
        restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", statusCode="204",
        selectionPattern="", responseParameters=headers,
    )


@pytest.fixture(scope="module")
def live_api(local_cloud) -> Iterator[LiveApi]:
    """One REST API, deployed to ``prod``, with a route per failure mode."""
    iam, lambda_client, apigateway = boto3.client("iam"), boto3.client("lambda"), boto3.client("apigateway")
    suffix = uuid.uuid4().hex[:8]
    role = f"failure-modes-{suffix}-role"
    function, unpermitted = f"failure-modes-{suffix}-app", f"failure-modes-{suffix}-unpermitted"
    created_functions: list[str] = []
    api_id = None
    try:
        role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
        # Lambda writes the functions' logs with the role's permissions.
        iam.attach_role_policy(
            RoleName=role, PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        )
        arns = {}
        for name, source, timeout in ((function, BEHAVIOURS_SOURCE, 10), (unpermitted, ECHO_SOURCE, 3)):
            arns[name] = lambda_client.create_function(
                FunctionName=name, Runtime="python3.11", Role=role_arn, Handler="app.handler",
                Code={"ZipFile": make_zip({"app.py": source})}, Timeout=timeout, MemorySize=128,
            )["FunctionArn"]
            created_functions.append(name)
        api_id = apigateway.create_rest_api(name=unique("failure-modes"))["id"]
        root_id = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        api = LiveApi(
            api_id=api_id, gateway=local_cloud.gateway, function=function, function_arn=arns[function],
            apigateway=apigateway,
        )

        def resource(parent: str, part: str) -> str:
            return apigateway.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

        api.resources["/echo"] = resource(root_id, "echo")
        api.resources["/items"] = resource(root_id, "items")
        api.resources["/items/{id}"] = resource(api.resources["/items"], "{id}")
        api.resources["/malformed"] = resource(root_id, "malformed")
        api.resources["/malformed/{kind}"] = resource(api.resources["/malformed"], "{kind}")
        for path in ("/boom", "/big", "/slow", "/locked"):
            api.resources[path] = resource(root_id, path[1:])

        for method in ("GET", "POST"):
            add_proxy_method(apigateway, api_id, api.resources["/echo"], method, arns[function])
        for path in ("/items/{id}", "/boom", "/big", "/malformed/{kind}"):
            add_proxy_method(apigateway, api_id, api.resources[path], "GET", arns[function])
        add_proxy_method(
            apigateway, api_id, api.resources["/slow"], "GET", arns[function],
            timeoutInMillis=INTEGRATION_TIMEOUT_MS,
        )
        add_proxy_method(apigateway, api_id, api.resources["/locked"], "GET", arns[unpermitted])
        add_cors_preflight(apigateway, api_id, api.resources["/echo"])

        # Only the app function lets API Gateway invoke it; the "unpermitted" one never does.
        lambda_client.add_permission(
            FunctionName=function, StatementId="apigateway-invoke", Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/*/*/*",
        )
        apigateway.create_deployment(restApiId=api_id, stageName=STAGE)
        yield api
    finally:
        if api_id is not None:
            apigateway.delete_rest_api(restApiId=api_id)
        for name in created_functions:
            lambda_client.delete_function(FunctionName=name)
        try:
            iam.detach_role_policy(
                RoleName=role, PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            )
            iam.delete_role(RoleName=role)
        except iam.exceptions.NoSuchEntityException:
            pass


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def assert_request_id(response: requests.Response) -> str:
    """API Gateway stamps every response, its own errors included, with x-amzn-RequestId."""
    request_id = response.headers.get("x-amzn-RequestId")
    assert request_id, dict(response.headers)
    assert str(uuid.UUID(request_id)) == request_id
    return request_id


def assert_gateway_answer(response: requests.Response, status: int, body: dict[str, str]) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.json() == body
    assert response.headers["Content-Type"].startswith("application/json")
    assert_request_id(response)


def assert_missing_token(response: requests.Response) -> None:
    assert_gateway_answer(response, 403, MISSING_TOKEN)
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def function_log(function: str) -> list[str]:
    logs = boto3.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function}"}
    messages: list[str] = []
    while True:
        page = logs.filter_log_events(**kwargs)
        messages += [event["message"] for event in page["events"]]
        if not page.get("nextToken"):
            return messages
        kwargs["nextToken"] = page["nextToken"]


# ---------------------------------------------------------------------------------------------
# 502: the handler raised, or its result is not a proxy response
# ---------------------------------------------------------------------------------------------


def test_a_handler_that_raises_answers_502_and_its_log_holds_the_traceback(live_api, http):
    # GIVEN GET /boom, whose handler raises ValueError
    # WHEN it is called through the gateway
    response = http.get(live_api.url("/boom"), timeout=HTTP_TIMEOUT_S)

    # THEN API Gateway's 502, with no trace of the cause in the body ...
    assert_gateway_answer(response, 502, INTERNAL_ERROR)
    assert BOOM_MARKER not in response.text
    # ... and the cause, with its traceback, in the function's CloudWatch log (as the Python
    # runtime writes it: "[ERROR] Type: message" then the traceback, in one log event)
    errors = [m for m in function_log(live_api.function) if m.startswith(f"[ERROR] ValueError: {BOOM_MARKER}")]
    assert len(errors) == 1, errors
    traceback_lines = errors[0].splitlines()
    assert traceback_lines[1] == "Traceback (most recent call last):"
    assert traceback_lines[2].strip().startswith('File "') and 'app.py", line ' in traceback_lines[2]
    assert traceback_lines[-1].strip() == f'raise ValueError("{BOOM_MARKER}")'


@pytest.mark.parametrize("kind", ["string", "no-status", "dict-body"])
def test_a_malformed_proxy_response_answers_502(live_api, http, kind):
    # GIVEN a handler that returns a plain string / a dict without statusCode / a dict whose
    # body is not a string
    # WHEN it is called through the gateway
    response = http.get(live_api.url(f"/malformed/{kind}"), timeout=HTTP_TIMEOUT_S)

    # THEN "Malformed Lambda proxy response": 502 Internal server error
    assert_gateway_answer(response, 502, INTERNAL_ERROR)


# ---------------------------------------------------------------------------------------------
# 504: the integration timeout
# ---------------------------------------------------------------------------------------------


def test_a_handler_slower_than_the_integration_timeout_answers_504_and_the_gateway_keeps_serving(
    live_api, http
):
    # GIVEN GET /slow: the handler sleeps 2 s, the integration's timeoutInMillis is 500
    # WHEN it is called through the gateway
    started = time.monotonic()
    response = http.get(live_api.url("/slow"), timeout=HTTP_TIMEOUT_S)
    elapsed = time.monotonic() - started

    # THEN 504 Endpoint request timed out, after the integration timeout and before the handler ends
    assert_gateway_answer(response, 504, {"message": "Endpoint request timed out"})
    assert INTEGRATION_TIMEOUT_MS / 1000 * 0.9 <= elapsed < SLOW_HANDLER_SLEEP_S * 0.75, elapsed
    # AND the gateway goes on serving other requests while the slow call still runs
    after = http.get(live_api.url("/echo"), timeout=HTTP_TIMEOUT_S)
    assert after.status_code == 200, after.text[:500]
    assert after.json()["resource"] == "/echo"


# ---------------------------------------------------------------------------------------------
# 500: no Lambda permission for API Gateway
# ---------------------------------------------------------------------------------------------


def test_a_function_without_the_api_gateway_permission_answers_500(live_api, http):
    # GIVEN GET /locked, integrated with a function that never got lambda add_permission
    # WHEN it is called through the gateway
    response = http.get(live_api.url("/locked"), timeout=HTTP_TIMEOUT_S)

    # THEN "Invalid permissions on Lambda function": 500 Internal server error
    assert_gateway_answer(response, 500, INTERNAL_ERROR)
    # (a configuration error, not a route miss)
    assert response.headers.get("x-amzn-ErrorType") != "MissingAuthenticationTokenException"


# ---------------------------------------------------------------------------------------------
# 403 Missing Authentication Token: no route, not deployed
# ---------------------------------------------------------------------------------------------


def test_an_unknown_path_answers_403_missing_authentication_token(live_api, http):
    # GIVEN a path no resource matches  WHEN it is called  THEN 403 Missing Authentication Token
    assert_missing_token(http.get(live_api.url("/nowhere"), timeout=HTTP_TIMEOUT_S))
    assert_missing_token(http.get(live_api.url("/echo/deeper"), timeout=HTTP_TIMEOUT_S))


def test_a_method_the_resource_lacks_answers_403_missing_authentication_token(live_api, http):
    # GIVEN /echo has GET, POST and OPTIONS only  WHEN DELETE /echo  THEN 403
    assert_missing_token(http.delete(live_api.url("/echo"), timeout=HTTP_TIMEOUT_S))


def test_a_stage_never_deployed_answers_403_until_a_deployment_creates_it(live_api, http):
    # GIVEN the API was never deployed to stage "qa"
    stage = f"qa{uuid.uuid4().hex[:6]}"
    # WHEN GET /echo on that stage  THEN 403 Missing Authentication Token
    assert_missing_token(http.get(live_api.url("/echo", stage=stage), timeout=HTTP_TIMEOUT_S))

    # WHEN the API is deployed to it  THEN the same request reaches the function
    live_api.apigateway.create_deployment(restApiId=live_api.api_id, stageName=stage)
    response = http.get(live_api.url("/echo", stage=stage), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text[:500]
    assert_request_id(response)
    assert response.json()["requestContext"]["stage"] == stage


def test_a_method_added_after_the_last_deployment_answers_403_until_redeployed(live_api, http):
    # GIVEN PATCH /echo is added to the API after its deployment to prod, and not redeployed
    add_proxy_method(
        live_api.apigateway, live_api.api_id, live_api.resources["/echo"], "PATCH", live_api.function_arn
    )
    # WHEN PATCH /echo is called  THEN the stage still serves the old deployment: 403
    assert_missing_token(http.patch(live_api.url("/echo"), data="{}", timeout=HTTP_TIMEOUT_S))

    # WHEN the API is redeployed to prod  THEN PATCH /echo reaches the function
    live_api.apigateway.create_deployment(restApiId=live_api.api_id, stageName=STAGE)
    response = http.patch(live_api.url("/echo"), data="{}", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text[:500]
    assert_request_id(response)
    assert response.json()["httpMethod"] == "PATCH"


# ---------------------------------------------------------------------------------------------
# Size limits: 10 MB request, 6 MB Lambda response
# ---------------------------------------------------------------------------------------------


def test_a_request_body_over_10_mb_answers_413(live_api, http):
    # GIVEN a body one byte over API Gateway's 10 MB payload quota
    body = b"x" * (TEN_MB + 1)
    # WHEN it is POSTed to a route that exists
    response = requests.post(live_api.url("/echo"), data=body, timeout=HTTP_TIMEOUT_S)
    # THEN 413, before the function is called
    assert response.status_code == 413, response.text[:500]
    assert_request_id(response)
    assert response.json() == {"message": "Request Too Long"}


def test_a_handler_response_over_6_mb_answers_502(live_api, http):
    # GIVEN GET /big, whose handler returns a body just over Lambda's 6 MB response quota
    # WHEN it is called  THEN 502 Internal server error
    assert_gateway_answer(http.get(live_api.url("/big"), timeout=HTTP_TIMEOUT_S), 502, INTERNAL_ERROR)


# ---------------------------------------------------------------------------------------------
# MOCK integration: the CORS preflight
# ---------------------------------------------------------------------------------------------


def test_options_with_a_mock_integration_answers_with_the_integration_response(live_api, http):
    # GIVEN OPTIONS /echo: a MOCK integration whose integration response is 204 with
    # Access-Control-Allow-* responseParameters
    # WHEN a browser's preflight arrives
    response = http.options(
        live_api.url("/echo"),
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        timeout=HTTP_TIMEOUT_S,
    )

    # THEN the integration response's status and header values, and no function is called
    assert response.status_code == 204, response.text[:500]
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type,X-Amz-Date,Authorization"
    assert_request_id(response)


# ---------------------------------------------------------------------------------------------
# The proxy event the function receives (v1 shape)
# ---------------------------------------------------------------------------------------------


def test_the_event_for_a_path_parameter_without_query_or_body_has_the_v1_shape(live_api, http):
    # GIVEN GET /items/{id} integrated with an echo handler
    # WHEN GET /items/abc-123, with no query string and no body
    response = http.get(live_api.url("/items/abc-123"), timeout=HTTP_TIMEOUT_S)

    # THEN the handler got a v1 proxy event
    assert response.status_code == 200, response.text[:500]
    request_id = assert_request_id(response)
    event = response.json()
    assert {key: event[key] for key in (
        "resource", "path", "httpMethod", "queryStringParameters", "multiValueQueryStringParameters",
        "pathParameters", "stageVariables", "body", "isBase64Encoded",
    )} == {
        "resource": "/items/{id}",
        "path": "/items/abc-123",
        "httpMethod": "GET",
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"id": "abc-123"},
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
    }
    context = event["requestContext"]
    assert context["stage"] == STAGE
    assert context["requestId"] == request_id
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == f"/{STAGE}/items/abc-123"
    assert context["apiId"] == live_api.api_id
    assert context["accountId"] == ACCOUNT_ID
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["127.0.0.1"]


def test_the_event_for_a_query_string_and_body_has_the_v1_shape(live_api, http):
    # GIVEN POST /echo (no path parameters) integrated with an echo handler
    # WHEN it is called with a repeated query parameter and a JSON body
    response = http.post(
        live_api.url("/echo") + "?tag=a&tag=b&one=1", data='{"productId": "p-1"}',
        headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT_S,
    )

    # THEN the last value of each name in queryStringParameters, all of them in the multi form,
    # pathParameters null and the body as text
    assert response.status_code == 200, response.text[:500]
    request_id = assert_request_id(response)
    event = response.json()
    assert event["resource"] == event["path"] == "/echo"
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}
    assert event["pathParameters"] is None
    assert event["body"] == '{"productId": "p-1"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["requestId"] == request_id
    assert event["requestContext"]["resourcePath"] == "/echo"
    assert event["headers"]["Content-Type"] == "application/json"
