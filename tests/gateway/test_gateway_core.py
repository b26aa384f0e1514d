"""The gateway core, in-process with a fake invoker: every row of design.md's behaviour table."""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any

import boto3
import pytest

from gateway_support import (
    ACCOUNT,
    REGION,
    STAMP,
    Apis,
    Call,
    FakeInvoker,
    function_arn,
    proxy_result,
)
from workshop.localcloud.gateway import ExecuteApiGateway, GatewayRequest
from workshop.localcloud.gateway.core import (
    IntegrationConfigError,
    function_target,
    integration_timeout_ms,
)
from workshop.localcloud.gateway.responses import MAX_LAMBDA_RESPONSE_BYTES, MAX_REQUEST_BODY_BYTES
from workshop.localcloud.invoke import UNHANDLED, FunctionNotFoundError, InvokeResult

MISSING_TOKEN = {"message": "Missing Authentication Token"}
INTERNAL = {"message": "Internal server error"}


def assert_missing_token(response: Any) -> None:
    assert response.status == 403
    assert response.json() == MISSING_TOKEN
    assert response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert response.header("Content-Type") == "application/json"


# -- 403 Missing Authentication Token -------------------------------------------------------

@pytest.mark.parametrize(
    "target",
    [
        "/{shop}/prod/no/such/path",  # no resource
        "/{shop}/prod/product/1/extra",  # deeper than any resource
        "/{shop}/dev/health",  # a stage that does not exist
        "/{undeployed}/prod/health",  # an API never deployed
        "/nosuchapi/prod/health",  # an unknown API
        "/{shop}",  # no stage at all
        "/",
    ],
)
def test_unknown_route_stage_or_api_is_403(call: Call, invoker: FakeInvoker, apis: Apis, target: str) -> None:
    response = call("GET", target.format(shop=apis.shop, undeployed=apis.undeployed))
    assert_missing_token(response)
    assert invoker.calls == []


def test_method_not_defined_is_403(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    assert_missing_token(call("POST", f"/{apis.shop}/prod/health"))
    # No OPTIONS method on /health: a browser preflight fails there, as on AWS.
    assert_missing_token(call("OPTIONS", f"/{apis.shop}/prod/health"))
    assert invoker.calls == []


# -- AWS_PROXY success --------------------------------------------------------------------

def test_proxy_response_is_mapped_to_http(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN a function that answers with headers, multi-value headers and a JSON body
    invoker.respond = lambda event, arn: proxy_result(
        201,
        json.dumps({"Operation": "SAVE"}),
        headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", "X-One": "h"},
        multiValueHeaders={"Set-Cookie": ["a=1", "b=2"], "X-One": ["m1", "m2"]},
    )
    # WHEN the API is called
    response = call("POST", f"/{apis.shop}/prod/product", body=b'{"productId": "1"}')
    # THEN status, headers and body are the function's; a name in both keeps every value,
    # the multiValueHeaders ones first (API Gateway joins them into one header)
    assert response.status == 201
    assert response.json() == {"Operation": "SAVE"}
    assert response.header("Access-Control-Allow-Origin") == "*"
    assert response.header_values("Set-Cookie") == ["a=1", "b=2"]
    assert response.header_values("X-One") == ["m1, m2, h"]
    assert response.header("x-amzn-RequestId") == STAMP.request_id
    assert response.header("x-amz-apigw-id") == STAMP.extended_request_id
    # AND the function was invoked by ARN in the gateway's account and region
    assert invoker.calls[-1]["arn"] == function_arn("gw-fn")
    assert (invoker.calls[-1]["account_id"], invoker.calls[-1]["region"]) == (ACCOUNT, REGION)


def test_function_without_content_type_gets_application_json(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    invoker.respond = lambda event, arn: InvokeResult(payload=b'{"statusCode": 204}')
    response = call("DELETE", f"/{apis.shop}/prod/product")
    assert (response.status, response.body) == (204, b"")
    assert response.header("Content-Type") == "application/json"


def test_any_method_receives_the_real_verb(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    for verb in ("GET", "POST", "PATCH", "DELETE"):
        assert call(verb, f"/{apis.shop}/prod/product").status == 200
        assert invoker.last_event["httpMethod"] == verb
        assert invoker.last_event["resource"] == "/product"


def test_greedy_proxy_and_path_parameters(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    assert call("GET", f"/{apis.shop}/prod/files/docs/a%20b.txt").status == 200
    assert invoker.last_event["pathParameters"] == {"proxy": "docs/a b.txt"}
    assert invoker.last_event["resource"] == "/files/{proxy+}"
    assert call("GET", f"/{apis.shop}/prod/product/abc").status == 200
    assert invoker.last_event["pathParameters"] == {"productId": "abc"}
    assert call("GET", f"/{apis.shop}/prod/product/special").status == 200
    assert invoker.last_event["pathParameters"] is None


def test_multi_value_query_string(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    call("GET", f"/{apis.shop}/prod/product?productId=1&productId=2&limit=5")
    assert invoker.last_event["queryStringParameters"] == {"productId": "2", "limit": "5"}
    assert invoker.last_event["multiValueQueryStringParameters"] == {"productId": ["1", "2"], "limit": ["5"]}


def test_stage_variable_in_integration_uri(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    assert call("GET", f"/{apis.shop}/prod/staged").status == 200
    assert invoker.calls[-1]["arn"] == function_arn("gw-fn")


def test_base64_response_without_binary_media_type_stays_text(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    encoded = base64.b64encode(b"\x89PNG").decode()
    invoker.respond = lambda event, arn: proxy_result(
        200, encoded, isBase64Encoded=True, headers={"Content-Type": "image/png"}
    )
    response = call("GET", f"/{apis.shop}/prod/health", headers=[("Accept", "image/png")])
    # The API has no binaryMediaTypes: API Gateway passes the base64 text through.
    assert (response.status, response.body) == (200, encoded.encode())


def test_base64_response_with_binary_media_type_is_decoded(new_api, call: Call, invoker: FakeInvoker) -> None:
    # GIVEN an API whose binaryMediaTypes include image/png (moto 5.2 ignores binaryMediaTypes in
    # create_rest_api and keeps only the "value" of a PATCH add, so the value is spelled out)
    api = new_api("binary")
    api.client.update_rest_api(
        restApiId=api.api_id,
        patchOperations=[{"op": "add", "path": "/binaryMediaTypes/image~1png", "value": "image/png"}],
    )
    api.proxy("/", "ANY", "gw-fn")
    api.deploy("prod")
    lam = boto3.client("lambda", region_name=REGION)
    lam.add_permission(
        FunctionName="gw-fn", StatementId="binary", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    invoker.respond = lambda event, arn: proxy_result(
        200, base64.b64encode(b"\x89PNG\x00").decode(), isBase64Encoded=True,
        headers={"Content-Type": "image/png"},
    )
    base = f"/{api.api_id}/prod"
    try:
        # WHEN the client accepts image/png  THEN the body is decoded to bytes
        response = call("GET", base, headers=[("Accept", "text/html, image/png")])
        assert (response.status, response.body) == (200, b"\x89PNG\x00")
        assert response.header("Content-Type") == "image/png"
        # AND a client that does not accept it gets the base64 text
        response = call("GET", base, headers=[("Accept", "application/json")])
        assert response.body == base64.b64encode(b"\x89PNG\x00")
        # AND an upload of that media type arrives base64-encoded even when it is ASCII
        call("POST", base, headers=[("Content-Type", "image/png")], body=b"ascii")
        assert (invoker.last_event["body"], invoker.last_event["isBase64Encoded"]) == ("YXNjaWk=", True)
    finally:
        lam.remove_permission(FunctionName="gw-fn", StatementId="binary")


def test_every_response_carries_a_fresh_request_id(apis: Apis, invoker: FakeInvoker) -> None:
    gateway = ExecuteApiGateway(invoker, account_id=ACCOUNT, region=REGION)  # real stamps
    try:
        ok = gateway.handle(GatewayRequest.from_target("GET", f"/{apis.shop}/prod/health"))
        missing = gateway.handle(GatewayRequest.from_target("GET", f"/{apis.shop}/prod/nope"))
        mock = gateway.handle(GatewayRequest.from_target("OPTIONS", f"/{apis.shop}/prod/product"))
        ids = [r.header("x-amzn-RequestId") for r in (ok, missing, mock)]
        assert all(ids) and len(set(ids)) == 3
        # The id in the response is the one the function saw.
        assert ok.json()["requestContext"]["requestId"] == ids[0]
    finally:
        gateway.close()


# -- MOCK ----------------------------------------------------------------------------------

def test_cors_preflight_answers_from_the_mock_integration(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN OPTIONS /product with a MOCK integration configured for CORS through boto3
    # WHEN a browser sends a preflight
    response = call(
        "OPTIONS", f"/{apis.shop}/prod/product",
        headers=[("Origin", "http://localhost:8000"), ("Access-Control-Request-Method", "POST")],
    )
    # THEN the integration response's status and header values (quotes stripped) come back
    assert response.status == 200
    assert response.body == b""
    assert response.header("Access-Control-Allow-Origin") == "*"
    assert response.header("Access-Control-Allow-Methods") == "GET,POST,PATCH,DELETE,OPTIONS"
    assert response.header("Access-Control-Allow-Headers") == "Content-Type,X-Amz-Date,Authorization"
    assert response.header("x-amzn-RequestId") == STAMP.request_id
    assert invoker.calls == []  # no function involved


def test_mock_selects_integration_response_by_status(new_api, call: Call) -> None:
    # GIVEN a MOCK whose request template asks for 404, with a default 200 and a 4xx response
    api = new_api("teapot")
    common = {"restApiId": api.api_id, "resourceId": api.resource("/teapot"), "httpMethod": "GET"}
    client = api.client
    client.put_method(**common, authorizationType="NONE")
    client.put_integration(**common, type="MOCK", requestTemplates={"application/json": '{"statusCode": 404}'})
    client.put_integration_response(
        **common, statusCode="200", responseParameters={"method.response.header.X-Which": "'default'"}
    )
    client.put_integration_response(
        **common, statusCode="418", selectionPattern="4\\d{2}",
        responseParameters={"method.response.header.X-Which": "'teapot'",
                            "method.response.header.X-Mapped": "integration.response.header.Foo"},
        responseTemplates={"application/json": '{"message": "short and stout"}'},
    )
    api.deploy("prod")
    # WHEN it is called
    response = call("GET", f"/{api.api_id}/prod/teapot")
    # THEN the 4xx integration response applies, its static template is the body
    assert response.status == 418
    assert response.header("X-Which") == "teapot"
    assert response.header("X-Mapped") is None  # a mapping, not a literal: a MOCK has no source
    assert response.json() == {"message": "short and stout"}


def test_mock_without_integration_response_is_500(new_api, call: Call) -> None:
    api = new_api("bare-mock")
    common = {"restApiId": api.api_id, "resourceId": api.ids["/"], "httpMethod": "OPTIONS"}
    api.client.put_method(**common, authorizationType="NONE")
    api.client.put_integration(**common, type="MOCK")
    api.deploy("prod")
    response = call("OPTIONS", f"/{api.api_id}/prod")
    assert (response.status, response.json()) == (500, INTERNAL)


# -- 500 configuration errors --------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/noperm", "Invalid permissions on Lambda function"),  # no add_permission at all
        ("/wrongarn", "Invalid permissions on Lambda function"),  # permission for another API
        ("/nointegration", "no integration is defined"),
        ("/http", "not served by the local gateway"),
        ("/gone", "does not exist"),
        ("/unset-variable", "stage variable 'missing'"),
    ],
)
def test_configuration_errors_are_500(
    call: Call, invoker: FakeInvoker, apis: Apis, caplog: pytest.LogCaptureFixture, path: str, cause: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="workshop.localcloud.gateway"):
        response = call("GET", f"/{apis.shop}/prod{path}")
    assert response.status == 500
    assert response.json() == INTERNAL
    assert response.header("x-amzn-RequestId") == STAMP.request_id
    assert invoker.calls == []
    assert cause in caplog.text  # the execution log says why


def test_specific_source_arn_permission_allows_only_its_method(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # DELETE on /files/{proxy+} goes to gw-noperm: no permission -> 500; GET goes to gw-fn -> 200
    assert call("DELETE", f"/{apis.shop}/prod/files/x").status == 500
    assert call("GET", f"/{apis.shop}/prod/files/x").status == 200


def test_permission_added_later_takes_effect(call: Call, apis: Apis) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    assert call("GET", f"/{apis.shop}/prod/noperm").status == 500
    lam.add_permission(
        FunctionName="gw-noperm", StatementId="late", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{apis.shop}/*/GET/noperm",
    )
    try:
        assert call("GET", f"/{apis.shop}/prod/noperm").status == 200
    finally:
        lam.remove_permission(FunctionName="gw-noperm", StatementId="late")
    assert call("GET", f"/{apis.shop}/prod/noperm").status == 500


def test_invoker_reporting_function_not_found_is_500(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    def vanish(event: dict[str, Any], arn: str) -> InvokeResult:
        raise FunctionNotFoundError(arn)

    invoker.respond = vanish
    response = call("GET", f"/{apis.shop}/prod/health")
    assert (response.status, response.json()) == (500, INTERNAL)


# -- 502 function errors and malformed proxy responses -------------------------------------

def _unhandled(message: str = "boom", timed_out: bool = False, duration_ms: float = 12.0) -> InvokeResult:
    payload = {"errorMessage": message, "errorType": "KeyError", "stackTrace": ["  File ..."]}
    return InvokeResult(json.dumps(payload).encode(), UNHANDLED, timed_out, duration_ms)


@pytest.mark.parametrize(
    "result",
    [
        _unhandled(),  # the handler raised
        _unhandled("Task timed out after 3.00 seconds", timed_out=True, duration_ms=3000),  # its own timeout
        InvokeResult(b'{"statusCode": 200, "wrongValue": "value"}'),  # a key proxy responses lack
        InvokeResult(b'{"statusCode": "OK", "body": ""}'),  # statusCode not an integer
        InvokeResult(b'{"statusCode": true, "body": ""}'),
        InvokeResult(b'{"statusCode": 1000, "body": ""}'),
        InvokeResult(b'{"statusCode": 200, "body": {"a": 1}}'),  # body not a string
        InvokeResult(b'{"statusCode": 200, "body": ["a"]}'),
        InvokeResult(b'{"statusCode": 200, "body": "", "headers": ["x"]}'),
        InvokeResult(b'{"statusCode": 200, "body": "", "headers": {"X": {"nested": 1}}}'),
        InvokeResult(b'{"statusCode": 200, "body": "", "multiValueHeaders": {"X": "not-a-list"}}'),
        InvokeResult(b'{"statusCode": 200, "body": "", "isBase64Encoded": "yes"}'),
        InvokeResult(b'"just a string"'),  # not a dict
        InvokeResult(b"[1, 2]"),
        InvokeResult(b"null"),
        InvokeResult(b"not json at all"),
        InvokeResult(b""),
    ],
    ids=lambda r: r.payload[:40].decode(errors="replace") or "empty",
)
def test_function_error_or_malformed_response_is_502(
    call: Call, invoker: FakeInvoker, apis: Apis, result: InvokeResult, caplog: pytest.LogCaptureFixture
) -> None:
    invoker.respond = lambda event, arn: result
    with caplog.at_level(logging.WARNING, logger="workshop.localcloud.gateway"):
        response = call("GET", f"/{apis.shop}/prod/health")
    assert response.status == 502
    assert response.json() == INTERNAL
    assert response.header("x-amzn-RequestId") == STAMP.request_id
    assert "502" in caplog.text


def test_invoker_crash_is_502(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    def crash(event: dict[str, Any], arn: str) -> InvokeResult:
        raise RuntimeError("worker pool is gone")

    invoker.respond = crash
    assert call("GET", f"/{apis.shop}/prod/health").status == 502


def test_response_over_6_mb_is_502(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    body = "x" * MAX_LAMBDA_RESPONSE_BYTES
    invoker.respond = lambda event, arn: proxy_result(200, body)
    response = call("GET", f"/{apis.shop}/prod/health")
    assert (response.status, response.json()) == (502, INTERNAL)


def test_response_just_under_6_mb_passes(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    overhead = len(proxy_result(200, "").payload)
    body = "x" * (MAX_LAMBDA_RESPONSE_BYTES - overhead)
    invoker.respond = lambda event, arn: proxy_result(200, body)
    response = call("GET", f"/{apis.shop}/prod/health")
    assert response.status == 200 and len(response.body) == len(body)


# -- 413 and 504 ---------------------------------------------------------------------------

def test_request_body_over_10_mb_is_413(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    response = call("POST", f"/{apis.shop}/prod/product", body=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
    assert response.status == 413
    assert response.json() == {"message": "Request Too Long"}
    assert response.header("x-amzn-RequestId") == STAMP.request_id
    assert invoker.calls == []


def test_request_body_of_exactly_10_mb_is_within_api_gateway_quota_but_not_lambdas(
    call: Call, invoker: FakeInvoker, apis: Apis
) -> None:
    # GIVEN a 10 MB body: API Gateway takes it, but the event would exceed Lambda's 6 MB
    response = call("POST", f"/{apis.shop}/prod/product", body=b"x" * MAX_REQUEST_BODY_BYTES)
    # THEN 413 Request Too Long, and the function never runs
    assert (response.status, response.json()) == (413, {"message": "Request Too Long"})
    assert invoker.calls == []


def test_function_slower_than_the_integration_timeout_is_504(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN the default 29 s integration timeout and a function that ran 30 s
    invoker.respond = lambda event, arn: InvokeResult(
        b'{"statusCode": 200, "body": "late"}', duration_ms=30_000
    )
    response = call("GET", f"/{apis.shop}/prod/health")
    assert response.status == 504
    assert response.json() == {"message": "Endpoint request timed out"}
    assert response.header("x-amzn-RequestId") == STAMP.request_id


def test_gateway_stops_waiting_at_the_integration_timeout(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN /slow: timeoutInMillis 50, and a function (timeout 60 s) that has not finished
    release = threading.Event()
    finished = threading.Event()

    def hang(event: dict[str, Any], arn: str) -> InvokeResult:
        release.wait(10)
        finished.set()
        return proxy_result(200, "too late")

    invoker.respond = hang
    try:
        # WHEN it is called  THEN the gateway answers 504 after 50 ms, without waiting for it
        response = call("GET", f"/{apis.shop}/prod/slow")
        assert response.status == 504
        assert response.json() == {"message": "Endpoint request timed out"}
        assert not finished.is_set()
        assert invoker.calls[-1]["arn"] == function_arn("gw-slow")
    finally:
        release.set()
    assert finished.wait(5)  # the function went on running and finished on its own


def test_fast_function_behind_a_short_integration_timeout_answers(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    invoker.respond = lambda event, arn: proxy_result(200, "quick", duration_ms=1)
    response = call("GET", f"/{apis.shop}/prod/slow")
    assert (response.status, response.body) == (200, b"quick")


# -- small pieces --------------------------------------------------------------------------

def test_function_target_parses_the_integration_uri() -> None:
    uri = (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:eu-west-1:210987654321:function:inventory:${stageVariables.alias}/invocations"
    )
    target = function_target(uri, {"alias": "live"})
    assert target.arn == "arn:aws:lambda:eu-west-1:210987654321:function:inventory:live"
    assert (target.region, target.account_id) == ("eu-west-1", "210987654321")


@pytest.mark.parametrize(
    "uri",
    [
        None,
        "",
        "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem",
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/inventory/invocations",
    ],
)
def test_function_target_rejects_other_uris(uri: str | None) -> None:
    with pytest.raises(IntegrationConfigError):
        function_target(uri, {})


@pytest.mark.parametrize(("value", "expected"), [(None, 29000), ("", 29000), ("50", 50), (1000, 1000), ("x", 29000)])
def test_integration_timeout(value: Any, expected: int) -> None:
    assert integration_timeout_ms(type("I", (), {"timeout_in_millis": value})()) == expected
