"""The answers API Gateway gives: its own error responses and a mapped Lambda proxy response."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from workshop.localcloud.gateway.messages import Headers

#: API Gateway REST APIs refuse request payloads over 10 MB ("API Gateway quotas").
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
#: A synchronous Lambda invocation takes an event of at most 6 MB = 6,291,456 bytes
#: ("Lambda quotas"); API Gateway answers 413 "Request Too Long" for a larger one.
MAX_LAMBDA_REQUEST_BYTES = 6_291_456
#: A synchronous Lambda invocation returns at most 6 MB ("Lambda quotas").
MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
#: The default and maximum integration timeout of a REST API: 29 seconds.
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000

JSON_CONTENT_TYPE = "application/json"

# Headers the gateway computes itself; a function's values for them are not passed through.
_HOP_BY_HOP = {"content-length", "connection", "transfer-encoding", "keep-alive"}


@dataclass(frozen=True)
class GatewayError:
    """One of API Gateway's own responses (its "gateway responses"), body and headers as AWS sends."""

    status: int
    message: str
    error_type: str | None = None

    def headers(self) -> Headers:
        headers = [("Content-Type", JSON_CONTENT_TYPE)]
        if self.error_type:
            headers.append(("x-amzn-ErrorType", self.error_type))
        return headers

    def body(self) -> bytes:
        return json.dumps({"message": self.message}).encode()


# No resource or method matches, the API is unknown or not deployed to the stage: API Gateway
# answers as if the caller had forgotten to sign the request.
MISSING_AUTHENTICATION_TOKEN = GatewayError(
    403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
# Configuration errors (no Lambda permission, no integration, function missing).
INTERNAL_SERVER_ERROR = GatewayError(500, "Internal server error")
# The function raised, or returned something that is not a proxy response.
BAD_GATEWAY = GatewayError(502, "Internal server error")
# The integration ran past its timeout.
ENDPOINT_TIMED_OUT = GatewayError(504, "Endpoint request timed out")
# The request payload is over the 10 MB quota.
REQUEST_TOO_LARGE = GatewayError(413, "Request Too Long")


class MalformedProxyResponse(ValueError):
    """The function's result is not a Lambda proxy response ("Malformed Lambda proxy response")."""


@dataclass(frozen=True)
class ProxyResponse:
    status: int
    headers: Headers
    body: bytes


#: The keys of a REST API Lambda proxy response; any other top-level key makes the response
#: malformed (502). Source: localstack/localstack
#: tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json,
#: test_aws_proxy_response_payload_format_validation / "invoke-api-wrong-format".
PROXY_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


def _status_code(value: object) -> int:
    """``statusCode`` as an int. REST APIs take ``201`` and ``"201"`` alike, and a response
    without one (``{}``, or only ``headers``) as 200; ``201.0`` or ``true`` is a malformed proxy
    response (502)."""
    if value is None:
        return 200
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedProxyResponse(f"statusCode must be an integer, got {value!r}")
    return value


def parse_proxy_response(payload: bytes, *, binary_allowed: bool) -> ProxyResponse:
    """Map a Lambda proxy integration result to HTTP, the way API Gateway REST APIs do.

    The result must be a JSON object with only the keys of :data:`PROXY_RESPONSE_KEYS`; an
    integer ``statusCode`` (also accepted written as a string, ``"201"``; 200 when absent);
    ``headers`` (name -> value) and ``multiValueHeaders`` (name -> list) are optional and merged:
    a name in both keeps every value, the ``multiValueHeaders`` ones first and that spelling of
    the name; ``body`` must be a string (or absent); ``isBase64Encoded`` a boolean. Anything else
    raises :class:`MalformedProxyResponse` (502).

    A base64 body is decoded to bytes only when ``binary_allowed`` (the request's Accept header
    matches one of the API's binaryMediaTypes); otherwise the caller gets the base64 text, as on
    AWS.
    """
    try:
        result = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedProxyResponse(f"the result is not JSON ({error})") from None
    if not isinstance(result, dict):
        raise MalformedProxyResponse(
            f"the result is a JSON {type(result).__name__}, not an object with statusCode and body"
        )
    unknown = sorted(str(key) for key in result if key not in PROXY_RESPONSE_KEYS)
    if unknown:
        raise MalformedProxyResponse(f"unknown key(s) {', '.join(unknown)} in the proxy response")

    status = _status_code(result.get("statusCode"))
    if not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status} is not an HTTP status code")

    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse(
            f"body must be a string (use json.dumps), got a {type(body).__name__}"
        )
    is_base64 = result.get("isBase64Encoded", False)
    if is_base64 is None:
        is_base64 = False
    if not isinstance(is_base64, bool):
        raise MalformedProxyResponse(f"isBase64Encoded must be true or false, got {is_base64!r}")

    headers = _merge_headers(result.get("headers"), result.get("multiValueHeaders"))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.insert(0, ("Content-Type", JSON_CONTENT_TYPE))

    text = body or ""
    if is_base64 and binary_allowed:
        try:
            body_bytes = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedProxyResponse("isBase64Encoded is true but body is not base64") from None
    else:
        body_bytes = text.encode("utf-8")
    return ProxyResponse(status=status, headers=headers, body=body_bytes)


def _merge_headers(single: Any, multi: Any) -> Headers:
    """``multiValueHeaders`` first, then ``headers``; a name in both gets all its values, under
    the ``multiValueHeaders`` spelling (``tesT-Multi: value-multi, value-solo``)."""
    if single is not None and not isinstance(single, dict):
        raise MalformedProxyResponse("headers must be an object of name -> value")
    if multi is not None and not isinstance(multi, dict):
        raise MalformedProxyResponse("multiValueHeaders must be an object of name -> list")
    values: dict[str, tuple[str, list[str]]] = {}  # lower-case name -> (spelling, values)
    for name, listed in (multi or {}).items():
        if listed is None:
            continue
        if not isinstance(listed, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        entry = values.setdefault(str(name).lower(), (str(name), []))
        entry[1].extend(_header_text(name, value) for value in listed if value is not None)
    for name, value in (single or {}).items():
        if value is None:
            continue
        entry = values.setdefault(str(name).lower(), (str(name), []))
        entry[1].append(_header_text(name, value))
    merged: Headers = []
    for lower, (spelling, texts) in values.items():
        if lower in _HOP_BY_HOP:
            continue
        if lower == "set-cookie":  # cookies are never folded into one line
            merged.extend((spelling, text) for text in texts)
        elif texts:
            merged.append((spelling, ", ".join(texts)))
    return merged


def _header_text(name: Any, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        text = str(value)
        if "\r" in text or "\n" in text:
            raise MalformedProxyResponse(f"header {name!r} contains a line break")
        return text
    raise MalformedProxyResponse(f"header {name!r} must be a string, got a {type(value).__name__}")
