"""Mapping a Lambda proxy result to HTTP (parse_proxy_response) and the gateway's own errors."""

from __future__ import annotations

import base64
import json

import pytest

from workshop.localcloud.gateway.responses import (
    MISSING_AUTHENTICATION_TOKEN,
    MalformedProxyResponse,
    parse_proxy_response,
)


def parse(result: object, *, binary_allowed: bool = False):
    return parse_proxy_response(json.dumps(result).encode(), binary_allowed=binary_allowed)


def test_minimal_response() -> None:
    answer = parse({"statusCode": 200})
    assert (answer.status, answer.headers, answer.body) == (200, [("Content-Type", "application/json")], b"")


def test_headers_and_multi_value_headers_are_merged() -> None:
    # AWS (localstack test_apigateway_lambda.snapshot.json, test_aws_proxy_response_payload_
    # format_validation / "invoke-api-multi-headers-overwrite-casing"): a name in both keeps every
    # value, multiValueHeaders' first, under the multiValueHeaders spelling.
    answer = parse({
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain", "X-A": "single", "x-b": "solo", "X-Num": 5, "X-Bool": True, "X-None": None},
        "multiValueHeaders": {"X-B": ["one", "two"], "Set-Cookie": ["a=1", "b=2"]},
        "body": "hi",
    })
    assert answer.headers == [
        ("X-B", "one, two, solo"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Type", "text/plain"),
        ("X-A", "single"),
        ("X-Num", "5"),
        ("X-Bool", "true"),
    ]
    assert answer.body == b"hi"


@pytest.mark.parametrize(
    "result",
    [{}, {"headers": {"test-header": "value"}}, {"body": "x"}, {"statusCode": None}],
)
def test_a_response_without_status_code_is_200(result: dict) -> None:
    # AWS (localstack test_apigateway_lambda.py::test_lambda_aws_proxy_response_format,
    # "empty-response" and "only-headers", aws.validated): 200, body as given or empty.
    answer = parse(result)
    assert answer.status == 200
    assert answer.body == result.get("body", "").encode()


@pytest.mark.parametrize("key", ["wrongValue", "cookies", "StatusCode"])
def test_an_unknown_top_level_key_is_malformed(key: str) -> None:
    with pytest.raises(MalformedProxyResponse, match="unknown key"):
        parse({"statusCode": 200, key: "value"})


def test_connection_level_headers_from_the_function_are_dropped() -> None:
    answer = parse({"statusCode": 200, "headers": {"Content-Length": "999", "Connection": "close"}, "body": "x"})
    assert answer.headers == [("Content-Type", "application/json")]


def test_unicode_body_is_utf8() -> None:
    assert parse({"statusCode": 200, "body": "Café ☕"}).body == "Café ☕".encode()


def test_a_status_code_written_as_a_string_is_accepted_as_api_gateway_does() -> None:
    # GIVEN a function that returns "201" (a string) instead of 201
    # WHEN the gateway maps it THEN the client gets 201, as from API Gateway
    assert parse({"statusCode": "201", "body": "{}"}).status == 201


def test_base64_body_decoded_only_when_binary_allowed() -> None:
    data = base64.b64encode(b"\x00\xff").decode()
    assert parse({"statusCode": 200, "body": data, "isBase64Encoded": True}, binary_allowed=True).body == b"\x00\xff"
    assert parse({"statusCode": 200, "body": data, "isBase64Encoded": True}).body == data.encode()
    with pytest.raises(MalformedProxyResponse, match="not base64"):
        parse({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, binary_allowed=True)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"statusCode": "two hundred"}, "statusCode must be an integer"),
        ({"statusCode": " 200"}, "statusCode must be an integer"),
        ({"statusCode": 200.0}, "statusCode must be an integer"),
        ({"statusCode": 42}, "not an HTTP status code"),
        ({"statusCode": 200, "body": {"a": 1}}, "body must be a string"),
        ({"statusCode": 200, "body": 5}, "body must be a string"),
        ({"statusCode": 200, "headers": "x"}, "headers must be an object"),
        ({"statusCode": 200, "headers": {"X": ["a"]}}, "must be a string"),
        ({"statusCode": 200, "headers": {"X": "a\r\nInjected: 1"}}, "line break"),
        ({"statusCode": 200, "multiValueHeaders": {"X": "a"}}, "must be a list"),
        ({"statusCode": 200, "multiValueHeaders": []}, "multiValueHeaders must be an object"),
        ({"statusCode": 200, "isBase64Encoded": 1}, "isBase64Encoded must be true or false"),
        ([200], "not an object"),
        ("200", "not an object"),
    ],
)
def test_malformed(result: object, message: str) -> None:
    with pytest.raises(MalformedProxyResponse, match=message):
        parse(result)


def test_not_json() -> None:
    with pytest.raises(MalformedProxyResponse, match="not JSON"):
        parse_proxy_response(b"{oops", binary_allowed=False)
    with pytest.raises(MalformedProxyResponse, match="not JSON"):
        parse_proxy_response(b"\xff\xfe", binary_allowed=False)


def test_missing_authentication_token_matches_aws() -> None:
    error = MISSING_AUTHENTICATION_TOKEN
    assert error.status == 403
    assert json.loads(error.body()) == {"message": "Missing Authentication Token"}
    assert ("x-amzn-ErrorType", "MissingAuthenticationTokenException") in error.headers()
