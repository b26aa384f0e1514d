"""The v1 proxy event, compared as exact dicts (GIVEN / WHEN / THEN).

Most tests go through the gateway core with the echoing fake invoker, so the event compared is the
one a function would receive; one builds an event from plain objects, without moto.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

from gateway_support import ACCOUNT, STAMP, Apis, Call, FakeInvoker
from workshop.localcloud.gateway.events import ProxyEventBuilder, RequestStamp, is_binary_media_type
from workshop.localcloud.gateway.messages import GatewayRequest
from workshop.localcloud.gateway.routes import RouteMatch

TRACE = STAMP.trace_id
NULL_IDENTITY = {
    "cognitoIdentityPoolId": None,
    "accountId": None,
    "cognitoIdentityId": None,
    "caller": None,
    "principalOrgId": None,
    "accessKey": None,
    "cognitoAuthenticationType": None,
    "cognitoAuthenticationProvider": None,
    "userArn": None,
    "user": None,
}


def request_context(
    api_id: str, resource_id: str, resource_path: str, method: str, path: str, stage: str,
    deployment_id: str, user_agent: str | None = None, host: str = "127.0.0.1:4567",
) -> dict[str, Any]:
    return {
        "resourceId": resource_id,
        "resourcePath": resource_path,
        "httpMethod": method,
        "extendedRequestId": "BQGojGAtIAMFSYA=",
        "requestTime": "09/Apr/2015:12:34:56 +0000",
        "path": path,
        "accountId": ACCOUNT,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": api_id,
        "requestTimeEpoch": 1428582896000,
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {**NULL_IDENTITY, "sourceIp": "127.0.0.1", "userAgent": user_agent},
        "domainName": host,
        "deploymentId": deployment_id,
        "apiId": api_id,
    }


def forwarded(host_port: str = "4567") -> list[tuple[str, str]]:
    return [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-Port", host_port),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", TRACE),
    ]


def test_get_with_query_and_path_parameter(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN GET /product/{productId} deployed to prod (stage variable fn=gw-fn)
    headers = [("Host", "127.0.0.1:4567"), ("User-Agent", "pytest"), ("Accept", "application/json"),
               ("X-Tag", "a"), ("x-tag", "b"), ("X-Tag", "c")]
    # WHEN it is called with a repeated query parameter and a repeated header
    response = call("GET", f"/{apis.shop}/prod/product/p%2B1?tag=a&tag=b&q=hello%20world&flag",
                    headers=headers)
    # THEN the function receives this exact event
    assert response.status == 200
    assert invoker.last_event == {
        "resource": "/product/{productId}",
        "path": "/product/p%2B1",
        "httpMethod": "GET",
        "headers": {
            "Host": "127.0.0.1:4567",
            "User-Agent": "pytest",
            "Accept": "application/json",
            "X-Tag": "c",
            "x-tag": "b",
            "X-Forwarded-For": "127.0.0.1",
            "X-Forwarded-Port": "4567",
            "X-Forwarded-Proto": "http",
            "X-Amzn-Trace-Id": TRACE,
        },
        "multiValueHeaders": {
            "Host": ["127.0.0.1:4567"],
            "User-Agent": ["pytest"],
            "Accept": ["application/json"],
            "X-Tag": ["a", "c"],
            "x-tag": ["b"],
            "X-Forwarded-For": ["127.0.0.1"],
            "X-Forwarded-Port": ["4567"],
            "X-Forwarded-Proto": ["http"],
            "X-Amzn-Trace-Id": [TRACE],
        },
        "queryStringParameters": {"tag": "b", "q": "hello world", "flag": ""},
        "multiValueQueryStringParameters": {"tag": ["a", "b"], "q": ["hello world"], "flag": [""]},
        "pathParameters": {"productId": "p%2B1"},
        "stageVariables": {"fn": "gw-fn"},
        "requestContext": request_context(
            apis.shop, apis.shop_resources["/product/{productId}"], "/product/{productId}", "GET",
            "/prod/product/p%2B1", "prod", apis.shop_deployment, user_agent="pytest",
        ),
        "body": None,
        "isBase64Encoded": False,
    }


def test_root_without_query_or_parameters_sends_nulls(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN the greedy API's root resource, on a stage without stage variables
    # WHEN the stage root is called with no query string, no body
    response = call("GET", f"/{apis.greedy}/dev")
    # THEN query, path parameters, stage variables and body are null, as AWS sends them
    assert response.status == 200
    assert invoker.last_event == {
        "resource": "/",
        "path": "/",
        "httpMethod": "GET",
        "headers": {"Host": "127.0.0.1:4567", **dict(forwarded())},
        "multiValueHeaders": {"Host": ["127.0.0.1:4567"], **{k: [v] for k, v in forwarded()}},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": request_context(
            apis.greedy, apis.greedy_resources["/"], "/", "GET", "/dev/", "dev", apis.greedy_deployment
        ),
        "body": None,
        "isBase64Encoded": False,
    }


def test_post_json_body_through_greedy_proxy(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN ANY /{proxy+}
    body = b'{"productId": "p1", "name": "Caf\xc3\xa9"}'
    headers = [("Host", "127.0.0.1:4567"), ("Content-Type", "application/json")]
    # WHEN a JSON body is posted to a nested path
    call("POST", f"/{apis.greedy}/dev/a/b/c", headers=headers, body=body)
    event = invoker.last_event
    # THEN the body arrives as text, the proxy parameter holds the rest of the path
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/{proxy+}", "/a/b/c", "POST")
    assert event["pathParameters"] == {"proxy": "a/b/c"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"productId": "p1", "name": "Café"}', False)
    assert event["requestContext"]["path"] == "/dev/a/b/c"
    assert event["requestContext"]["resourcePath"] == "/{proxy+}"


def test_binary_body_is_base64_encoded(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    # GIVEN a body that is not UTF-8 text
    payload = bytes(range(256))
    # WHEN it is sent
    call("PUT", f"/{apis.greedy}/dev/upload", headers=[("Content-Type", "application/octet-stream")],
         body=payload)
    # THEN the event carries it base64-encoded, byte for byte
    event = invoker.last_event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_client_forwarded_for_and_trace_header_are_kept(call: Call, invoker: FakeInvoker, apis: Apis) -> None:
    headers = [("Host", "localhost"), ("x-forwarded-for", "10.0.0.1"), ("X-Amzn-Trace-Id", "Root=mine")]
    call("GET", f"/{apis.greedy}/dev/x", headers=headers)
    assert invoker.last_event["multiValueHeaders"] == {
        "Host": ["localhost"],
        "X-Amzn-Trace-Id": ["Root=mine"],
        "X-Forwarded-For": ["10.0.0.1, 127.0.0.1"],
        "X-Forwarded-Port": ["80"],
        "X-Forwarded-Proto": ["http"],
    }


def test_builder_without_moto() -> None:
    # GIVEN plain objects shaped like moto's RestAPI / Stage / Resource, binary media type image/png
    route = RouteMatch(
        rest_api=SimpleNamespace(id="api123", binaryMediaTypes=["image~1png"]),
        stage=SimpleNamespace(name="v1", variables={"alias": "live"}, deployment_id="dep1"),
        resource=SimpleNamespace(id="res1"),
        method=SimpleNamespace(http_method="POST", method_integration=None),
        resource_path="/images/{name}",
        path_parameters={"name": "cat.png"},
    )
    request = GatewayRequest(
        method="POST",
        path="/api123/v1/images/cat.png",
        headers=[("Host", "gw:8080"), ("Content-Type", "image/png")],
        query=[],
        body=b"PNG-but-ascii",
        source_ip="192.0.2.7",
        protocol="HTTP/1.0",
    )
    stamp = RequestStamp("rid", "ext=", "Root=1-0-0", 86_400_000)
    # WHEN the event is built
    event = ProxyEventBuilder().build(request, route, stamp, account_id="111122223333",
                                      stage_path="/images/cat.png")
    # THEN it is exactly this: a binary media type body is base64 even when it is ASCII
    fwd = [("X-Forwarded-For", "192.0.2.7"), ("X-Forwarded-Port", "8080"),
           ("X-Forwarded-Proto", "http"), ("X-Amzn-Trace-Id", "Root=1-0-0")]
    assert event == {
        "resource": "/images/{name}",
        "path": "/images/cat.png",
        "httpMethod": "POST",
        "headers": {"Host": "gw:8080", "Content-Type": "image/png", **dict(fwd)},
        "multiValueHeaders": {"Host": ["gw:8080"], "Content-Type": ["image/png"], **{k: [v] for k, v in fwd}},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"name": "cat.png"},
        "stageVariables": {"alias": "live"},
        "requestContext": {
            "resourceId": "res1",
            "resourcePath": "/images/{name}",
            "httpMethod": "POST",
            "extendedRequestId": "ext=",
            "requestTime": "02/Jan/1970:00:00:00 +0000",
            "path": "/v1/images/cat.png",
            "accountId": "111122223333",
            "protocol": "HTTP/1.0",
            "stage": "v1",
            "domainPrefix": "api123",
            "requestTimeEpoch": 86_400_000,
            "requestId": "rid",
            "identity": {**NULL_IDENTITY, "sourceIp": "192.0.2.7", "userAgent": None},
            "domainName": "gw:8080",
            "deploymentId": "dep1",
            "apiId": "api123",
        },
        "body": base64.b64encode(b"PNG-but-ascii").decode(),
        "isBase64Encoded": True,
    }


def test_request_stamps_are_unique_and_aws_shaped() -> None:
    first, second = RequestStamp.new(1_700_000_000.5), RequestStamp.new(1_700_000_000.5)
    assert first.request_id != second.request_id
    assert first.extended_request_id != second.extended_request_id
    assert len(first.extended_request_id) == 16 and first.extended_request_id.endswith("=")
    assert first.trace_id.startswith("Root=1-6553f100-") and len(first.trace_id) == 7 + 8 + 1 + 24
    assert first.epoch_ms == 1_700_000_000_500
    assert first.request_time == "14/Nov/2023:22:13:20 +0000"


def test_binary_media_type_wildcards() -> None:
    assert is_binary_media_type(["*/*"], "application/json")
    assert is_binary_media_type(["image/*"], "image/jpeg; q=0.9")
    assert is_binary_media_type(["application~1pdf"], "Application/PDF")
    assert not is_binary_media_type(["image/*"], "text/plain")
    assert not is_binary_media_type(["image/png"], None)
