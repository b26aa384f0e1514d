"""API Gateway (control plane and execute-api) answers as AWS answers; each test names its source.

Sources:
- LS_LAMBDA: localstack/localstack tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json
  and its test module (aws.validated):
  ``test_aws_proxy_response_payload_format_validation`` — "invoke-api-wrong-format" (an unknown
  top-level key: 502), "invoke-api-only-headers" (no statusCode: 200),
  "invoke-api-multi-headers-overwrite" / "-overwrite-casing" (a name in both headers and
  multiValueHeaders: "value-multi, value-solo"); ``test_lambda_aws_proxy_response_format``
  ("empty-response": ``{}`` answers 200 with an empty body); the proxy events its
  proxy-integration tests recorded on AWS (the event's header spelling: Authorization /
  User-Agent, no Connection or Content-Length; a double slash inside a greedy path kept; ``%2B``
  stays encoded in path parameters; the response's X-Amzn-Trace-Id) — facts as issue 10 measured
  them there; the individual snapshot keys were not re-read for this module.
- LS_BASIC: localstack tests/aws/services/apigateway/test_apigateway_basic.py
  ``test_delete_rest_api_with_invalid_id`` (aws.validated): NotFoundException "Invalid API
  identifier specified ACCOUNT:ID".
- MAPPING: https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
  (static values are single-quoted: ``'*'``); AWS refuses ``*`` with BadRequestException
  "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid
  mapping expression specified: *]".
- BINARY: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-configure-with-control-service-api.html
  (binaryMediaTypes on CreateRestApi; patch path ``/binaryMediaTypes/image~1png``) and
  https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html
  (a binary request body reaches the function base64-encoded, ``isBase64Encoded: true``).
- PROXY_METHOD: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
  ("For Lambda integrations, you must use the HTTP method of POST for the integration request").
- ROUTING: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html
  (a greedy ``{proxy+}`` resource catches the requests of its path that other resources' methods
  do not).
- LIMIT: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (6 MB invocation
  request); through API Gateway a larger event answers 413 ``{"message": "Request Too Long"}``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from function_roles import allow_function_basics, delete_role
from localcloud_support import REGION, TRUST_POLICY, make_zip

pytestmark = pytest.mark.localcloud

ACCOUNT_ID = "123456789012"
STAGE = "prod"
TIMEOUT_S = 60

SOURCE = '''
import json


def handler(event, context):
    if event["resource"] == "/respond":
        return json.loads(event["body"])
    return {"statusCode": 200, "body": json.dumps(event)}
'''


@dataclass
class Api:
    api_id: str
    gateway: str
    function: str
    resources: dict[str, str]

    def url(self, path: str) -> str:
        return f"{self.gateway}/{self.api_id}/{STAGE}{path}"


def lambda_uri(arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


@pytest.fixture(scope="module")
def apigw(local_cloud) -> Any:
    return boto3.client("apigateway")


@pytest.fixture(scope="module")
def api(local_cloud, apigw) -> Iterator[Api]:
    iam, lam = boto3.client("iam"), boto3.client("lambda")
    suffix = uuid.uuid4().hex[:8]
    role = f"conformance-apigw-{suffix}"
    function = f"conformance-apigw-{suffix}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    allow_function_basics(iam, role)
    arn = lam.create_function(
        FunctionName=function, Runtime="python3.11", Role=role_arn, Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": SOURCE})}, Timeout=30, MemorySize=256,
    )["FunctionArn"]
    api_id = apigw.create_rest_api(name=f"conformance-{suffix}", binaryMediaTypes=["image/png"])["id"]
    try:
        root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
        resources = {"/": root}

        def resource(parent: str, part: str) -> str:
            return apigw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

        def method(resource_id: str, verb: str, integration_method: str = "POST") -> None:
            apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE")
            apigw.put_integration(
                restApiId=api_id, resourceId=resource_id, httpMethod=verb, type="AWS_PROXY",
                integrationHttpMethod=integration_method, uri=lambda_uri(arn),
            )

        resources["/respond"] = resource(root, "respond")
        resources["/items"] = resource(root, "items")
        resources["/items/{id}"] = resource(resources["/items"], "{id}")
        resources["/{proxy+}"] = resource(root, "{proxy+}")
        resources["/get-method"] = resource(root, "get-method")
        method(resources["/respond"], "POST")
        method(resources["/items"], "GET")
        method(resources["/items/{id}"], "GET")
        method(resources["/{proxy+}"], "ANY")
        method(resources["/get-method"], "GET", integration_method="GET")
        lam.add_permission(
            FunctionName=function, StatementId="apigw", Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/*/*/*",
        )
        apigw.create_deployment(restApiId=api_id, stageName=STAGE)
        yield Api(api_id, local_cloud.gateway, function, resources)
    finally:
        apigw.delete_rest_api(restApiId=api_id)
        lam.delete_function(FunctionName=function)
        delete_role(iam, role)


def respond(api: Api, result: Any) -> requests.Response:
    """Have the function return ``result`` as its proxy response."""
    return requests.post(api.url("/respond"), data=json.dumps(result), timeout=TIMEOUT_S)


def event_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:300]
    return response.json()


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response


# -- proxy responses (LS_LAMBDA) ------------------------------------------------------------------


def test_an_unknown_top_level_key_is_a_502(api):
    response = respond(api, {"statusCode": 200, "wrongValue": "value"})
    assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})


def test_an_empty_object_is_a_200_with_an_empty_body(api):
    response = respond(api, {})
    assert (response.status_code, response.content) == (200, b"")


def test_headers_without_status_code_are_a_200(api):
    response = respond(api, {"headers": {"test-header": "value"}})
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["test-header"] == "value"


@pytest.mark.parametrize("multi_name", ["test-multi", "tesT-Multi"])
def test_a_name_in_headers_and_multi_value_headers_keeps_all_values(api, multi_name):
    response = respond(api, {
        "statusCode": 200,
        "multiValueHeaders": {multi_name: ["value-multi"]},
        "headers": {"test-multi": "value-solo"},
    })
    assert response.status_code == 200
    assert response.headers["test-multi"] == "value-multi, value-solo"
    assert multi_name in response.raw.headers.keys()  # the multiValueHeaders spelling is kept


# -- proxy events (LS_LAMBDA) -------------------------------------------------------------------------


def test_authorization_and_user_agent_arrive_with_aws_spelling(api):
    response = requests.get(
        api.url("/items"), headers={"authorization": "Bearer t", "user-agent": "learner/1"}, timeout=TIMEOUT_S
    )
    headers = event_of(response)["headers"]
    assert headers["Authorization"] == "Bearer t"
    assert headers["User-Agent"] == "learner/1"
    assert "authorization" not in headers and "user-agent" not in headers


def test_connection_and_content_length_are_not_passed(api):
    event = event_of(requests.get(api.url("/items/x"), headers={"Connection": "keep-alive"}, timeout=TIMEOUT_S))
    lowered = {name.lower() for name in event["headers"]}
    assert "connection" not in lowered and "content-length" not in lowered
    posted = event_of(requests.post(api.url("/anything"), data=b'{"a": 1}', timeout=TIMEOUT_S))
    assert "content-length" not in {name.lower() for name in posted["headers"]}


def test_a_double_slash_inside_a_greedy_path_is_kept(api):
    event = event_of(requests.get(f"{api.gateway}/{api.api_id}/{STAGE}/a//b", timeout=TIMEOUT_S))
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a//b"}


def test_a_double_slash_right_after_the_stage_is_collapsed(api):
    event = event_of(requests.get(f"{api.gateway}/{api.api_id}/{STAGE}//items", timeout=TIMEOUT_S))
    assert (event["resource"], event["path"]) == ("/items", "/items")


def test_percent_2b_stays_encoded_in_path_parameters(api):
    event = event_of(requests.get(api.url("/items/a%2Bb%20c"), timeout=TIMEOUT_S))
    assert event["pathParameters"] == {"id": "a%2Bb c"}


# -- routing (ROUTING, PROXY_METHOD) -------------------------------------------------------------------


def test_a_method_missing_on_a_literal_resource_falls_back_to_the_greedy_resource(api):
    # /items has only GET; /{proxy+} has ANY
    event = event_of(requests.post(api.url("/items"), data=b"{}", timeout=TIMEOUT_S))
    assert (event["resource"], event["httpMethod"]) == ("/{proxy+}", "POST")
    assert event["pathParameters"] == {"proxy": "items"}


def test_a_lambda_proxy_integration_that_is_not_post_answers_500(api):
    response = requests.get(api.url("/get-method"), timeout=TIMEOUT_S)
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error"})


# -- X-Amzn-Trace-Id (LS_LAMBDA) ---------------------------------------------------------------------------


def test_a_proxy_response_carries_the_trace_id_the_function_saw(api):
    response = requests.get(api.url("/items"), timeout=TIMEOUT_S)
    trace = response.headers["X-Amzn-Trace-Id"]
    assert trace.startswith("Root=1-")
    assert event_of(response)["headers"]["X-Amzn-Trace-Id"] == trace


def test_a_trace_id_sent_by_the_caller_is_propagated(api):
    sent = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    response = requests.get(api.url("/items"), headers={"X-Amzn-Trace-Id": sent}, timeout=TIMEOUT_S)
    assert response.headers["X-Amzn-Trace-Id"] == sent
    assert event_of(response)["headers"]["X-Amzn-Trace-Id"] == sent


# -- payload limit (LIMIT) -----------------------------------------------------------------------------


def _starts(api: Api) -> int:
    logs = boto3.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{api.function}", "filterPattern": '"START RequestId"'}
    count = 0
    while True:
        page = logs.filter_log_events(**kwargs)
        count += len(page["events"])
        if not page.get("nextToken"):
            return count
        kwargs["nextToken"] = page["nextToken"]


def test_a_request_whose_event_exceeds_6_mb_is_413_and_the_function_does_not_run(api):
    requests.get(api.url("/items"), timeout=TIMEOUT_S)  # the log group exists
    before = _starts(api)
    response = requests.post(api.url("/items/x/y"), data=b"x" * 6_291_456, timeout=TIMEOUT_S)
    assert (response.status_code, response.json()) == (413, {"message": "Request Too Long"})
    assert _starts(api) == before


# -- binary media types (BINARY) -------------------------------------------------------------------------


def test_binary_media_types_are_kept_by_create_and_update(apigw, api):
    assert apigw.get_rest_api(restApiId=api.api_id)["binaryMediaTypes"] == ["image/png"]
    apigw.update_rest_api(restApiId=api.api_id, patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/application~1octet-stream"},
    ])
    assert apigw.get_rest_api(restApiId=api.api_id)["binaryMediaTypes"] == ["image/png", "application/octet-stream"]
    apigw.update_rest_api(restApiId=api.api_id, patchOperations=[
        {"op": "remove", "path": "/binaryMediaTypes/application~1octet-stream"},
    ])
    assert apigw.get_rest_api(restApiId=api.api_id)["binaryMediaTypes"] == ["image/png"]


def test_a_body_of_a_binary_media_type_reaches_the_function_base64_encoded(api):
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    event = event_of(requests.post(api.url("/upload"), data=data, headers={"Content-Type": "image/png"}, timeout=TIMEOUT_S))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    text = event_of(requests.post(api.url("/upload"), data=b'{"a": 1}', headers={"Content-Type": "application/json"}, timeout=TIMEOUT_S))
    assert (text["isBase64Encoded"], text["body"]) == (False, '{"a": 1}')


# -- control plane (LS_BASIC, MAPPING) ----------------------------------------------------------------------


@pytest.mark.parametrize("rest_api_id", ["nosuchapi1", "my api"])
def test_deleting_an_unknown_rest_api_is_not_found(apigw, rest_api_id):
    response = refused(apigw.delete_rest_api, restApiId=rest_api_id)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["Error"]["Code"] == "NotFoundException"
    assert response["Error"]["Message"] == f"Invalid API identifier specified {ACCOUNT_ID}:{rest_api_id}"


MAPPING_ERROR = (
    "Invalid mapping expression specified: Validation Result: warnings : [], errors : "
    "[Invalid mapping expression specified: {}]"
)


@pytest.fixture
def options(apigw, api) -> Iterator[str]:
    """A fresh resource with an OPTIONS method, MOCK integration and a 200 method response."""
    resource_id = apigw.create_resource(
        restApiId=api.api_id, parentId=api.resources["/"], pathPart=f"cors{uuid.uuid4().hex[:6]}"
    )["id"]
    apigw.put_method(restApiId=api.api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_method_response(
        restApiId=api.api_id, resourceId=resource_id, httpMethod="OPTIONS", statusCode="200",
        responseParameters={"method.response.header.Access-Control-Allow-Origin": False},
    )
    apigw.put_integration(
        restApiId=api.api_id, resourceId=resource_id, httpMethod="OPTIONS", type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    yield resource_id
    apigw.delete_resource(restApiId=api.api_id, resourceId=resource_id)


@pytest.mark.parametrize("value", ["*", "GET,POST,OPTIONS", "https://shop.example"])
def test_an_unquoted_static_header_value_is_refused(apigw, api, options, value):
    response = refused(
        apigw.put_integration_response, restApiId=api.api_id, resourceId=options, httpMethod="OPTIONS",
        statusCode="200", responseParameters={"method.response.header.Access-Control-Allow-Origin": value},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["Error"]["Message"] == MAPPING_ERROR.format(value)


def test_a_quoted_static_header_value_is_accepted(apigw, api, options):
    apigw.put_integration_response(
        restApiId=api.api_id, resourceId=options, httpMethod="OPTIONS", statusCode="200",
        responseParameters={"method.response.header.Access-Control-Allow-Origin": "'*'"},
    )


def test_gateway_response_header_values_are_checked(apigw, api):
    response = refused(
        apigw.put_gateway_response, restApiId=api.api_id, responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "*"},
    )
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["Error"]["Message"] == MAPPING_ERROR.format("*")
    apigw.put_gateway_response(
        restApiId=api.api_id, responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )


def test_integration_request_parameters_are_checked(apigw, api):
    response = refused(
        apigw.put_integration, restApiId=api.api_id, resourceId=api.resources["/items"], httpMethod="GET",
        type="HTTP", integrationHttpMethod="GET", uri="https://example.com",
        requestParameters={"integration.request.header.X-Origin": "*"},
    )
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["Error"]["Message"] == MAPPING_ERROR.format("*")


@pytest.mark.parametrize(
    ("operation", "parameters"),
    [
        ("put_method", {"requestParameters": {"querystring.limit": False}}),
        ("put_method_response", {"statusCode": "200", "responseParameters": {"Access-Control-Allow-Origin": True}}),
    ],
)
def test_method_and_method_response_parameter_names_are_checked(apigw, api, options, operation, parameters):
    kwargs = {"restApiId": api.api_id, "resourceId": options, "httpMethod": "OPTIONS", **parameters}
    if operation == "put_method":
        kwargs["authorizationType"] = "NONE"
    response = refused(getattr(apigw, operation), **kwargs)
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["Error"]["Message"].startswith("Invalid mapping expression specified")
