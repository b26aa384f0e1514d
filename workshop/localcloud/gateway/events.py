"""Build the API Gateway REST (v1) Lambda proxy event, the ``event`` a handler receives.

The shape follows "Input format of a Lambda function for proxy integration" in the API Gateway
developer guide: every key is present, and a key has ``null`` where AWS sends ``null`` (no query
string, no path parameters, no stage variables, no body).
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from workshop.localcloud.gateway.messages import GatewayRequest
from workshop.localcloud.gateway.routes import RouteMatch

#: Headers API Gateway hands the function under its own spelling, whatever the client sent (the
#: proxy events recorded on AWS in localstack/localstack
#: tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json).
_AWS_SPELLING = {"authorization": "Authorization", "user-agent": "User-Agent"}
#: Connection-level headers API Gateway does not pass to the function.
_NOT_PASSED = {"connection", "content-length"}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class RequestStamp:
    """The identifiers and time API Gateway gives one request.

    ``request_id`` is ``requestContext.requestId`` and the ``x-amzn-RequestId`` response header;
    ``extended_request_id`` is ``requestContext.extendedRequestId`` and ``x-amz-apigw-id``.
    """

    request_id: str
    extended_request_id: str
    trace_id: str
    epoch_ms: int

    @classmethod
    def new(cls, now: float | None = None) -> RequestStamp:
        now = time.time() if now is None else now
        return cls(
            request_id=str(uuid.uuid4()),
            # Like AWS's ids (e.g. "BQGojGAtIAMFSYA="): 11 random bytes, base64.
            extended_request_id=base64.b64encode(os.urandom(11)).decode("ascii"),
            # The X-Ray trace header format: Root=1-<epoch seconds hex>-<96 random bits hex>.
            trace_id=f"Root=1-{int(now):08x}-{os.urandom(12).hex()}",
            epoch_ms=int(now * 1000),
        )

    @property
    def request_time(self) -> str:
        """``requestContext.requestTime`` in AWS's CLF format, e.g. ``09/Apr/2015:12:34:56 +0000``."""
        moment = time.gmtime(self.epoch_ms / 1000)
        return (
            f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
            f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
        )


def media_type_matches(pattern: str, media_type: str) -> bool:
    """Whether ``media_type`` (e.g. ``image/png; q=1``) matches a binaryMediaTypes entry.

    Entries may use wildcards (``*/*``, ``image/*``); API Gateway stores a ``/`` set through a
    PATCH as ``~1`` (JSON pointer escaping), so both spellings are accepted.
    """
    pattern = pattern.replace("~1", "/").strip().lower()
    media_type = media_type.split(";", 1)[0].strip().lower()
    if not pattern or not media_type:
        return False
    pattern_type, _, pattern_sub = pattern.partition("/")
    actual_type, _, actual_sub = media_type.partition("/")
    return pattern_type in ("*", actual_type) and pattern_sub in ("*", actual_sub)


def is_binary_media_type(binary_media_types: list[str], content_type: str | None) -> bool:
    if not content_type:
        return False
    return any(media_type_matches(pattern, content_type) for pattern in binary_media_types)


class ProxyEventBuilder:
    """Turns a matched request into the v1 proxy event dict."""

    def build(
        self,
        request: GatewayRequest,
        route: RouteMatch,
        stamp: RequestStamp,
        *,
        account_id: str,
        stage_path: str,
    ) -> dict[str, Any]:
        """The event for ``request`` routed to ``route``.

        ``stage_path`` is the raw path after the stage (``/product``); ``event.path`` carries it
        still percent-encoded, as REST APIs do, and ``requestContext.path`` prefixes the stage.
        """
        headers = self._headers(request, stamp)
        body, is_base64 = self._body(request, route)
        query = request.query
        host = _last(headers, "Host") or "127.0.0.1"
        stage = route.stage
        return {
            "resource": route.resource_path,
            "path": stage_path,
            "httpMethod": request.method,
            "headers": _single_values(headers),
            "multiValueHeaders": _multi_values(headers),
            "queryStringParameters": _single_values(query),
            "multiValueQueryStringParameters": _multi_values(query),
            "pathParameters": dict(route.path_parameters) or None,
            "stageVariables": dict(stage.variables) if stage.variables else None,
            "requestContext": {
                "resourceId": route.resource.id,
                "resourcePath": route.resource_path,
                "httpMethod": request.method,
                "extendedRequestId": stamp.extended_request_id,
                "requestTime": stamp.request_time,
                "path": f"/{stage.name}{stage_path}",
                "accountId": account_id,
                "protocol": request.protocol,
                "stage": stage.name,
                # On AWS the first label of domainName, which is the API id.
                "domainPrefix": route.rest_api.id,
                "requestTimeEpoch": stamp.epoch_ms,
                "requestId": stamp.request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": request.source_ip,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": _last(headers, "User-Agent"),
                    "user": None,
                },
                # AWS's domainName is {api}.execute-api.{region}.amazonaws.com; locally it is the
                # host the caller used, so a function building absolute URLs points back here.
                "domainName": host,
                "deploymentId": stage.deployment_id,
                "apiId": route.rest_api.id,
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def _headers(request: GatewayRequest, stamp: RequestStamp) -> list[tuple[str, str]]:
        """The caller's headers plus the ones API Gateway adds on the way to the function.

        API Gateway appends the caller's address to ``X-Forwarded-For`` and sets
        ``X-Forwarded-Port``, ``X-Forwarded-Proto`` and an ``X-Amzn-Trace-Id``; it drops
        ``Connection`` and ``Content-Length`` and spells ``Authorization`` and ``User-Agent`` its
        own way.
        """
        headers = [
            (_AWS_SPELLING.get(name.lower(), name), value)
            for name, value in request.headers
            if name.lower() not in _NOT_PASSED
        ]
        forwarded_for = _last(headers, "X-Forwarded-For")
        host = _last(headers, "Host") or ""
        port = host.rpartition(":")[2] if ":" in host else "80"
        added = {
            "X-Forwarded-For": (
                f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
            ),
            "X-Forwarded-Port": port,
            "X-Forwarded-Proto": "http",
        }
        if _last(headers, "X-Amzn-Trace-Id") is None:
            added["X-Amzn-Trace-Id"] = stamp.trace_id
        replaced = {name.lower() for name in added}
        headers = [(name, value) for name, value in headers if name.lower() not in replaced]
        headers.extend(added.items())
        return headers

    @staticmethod
    def _body(request: GatewayRequest, route: RouteMatch) -> tuple[str | None, bool]:
        """The body as the event carries it: text, or base64 with ``isBase64Encoded`` true.

        API Gateway base64-encodes a request body whose Content-Type matches one of the API's
        binaryMediaTypes. A body that is not UTF-8 text is base64-encoded here too, so the
        function receives the exact bytes (AWS would mangle them without a binary media type).
        Note that moto 5.2 keeps binaryMediaTypes only from a PATCH ``add`` that carries a
        ``value``; ``create_rest_api(binaryMediaTypes=...)`` is not stored.
        """
        if not request.body:
            return None, False
        binary_types = list(getattr(route.rest_api, "binaryMediaTypes", None) or [])
        if not is_binary_media_type(binary_types, request.header("Content-Type")):
            try:
                return request.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(request.body).decode("ascii"), True


def _last(pairs: list[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    found = None
    for key, value in pairs:
        if key.lower() == wanted:
            found = value
    return found


def _single_values(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    """One value per name, the last one, as in ``headers`` and ``queryStringParameters``."""
    if not pairs:
        return None
    return {name: value for name, value in pairs}


def _multi_values(pairs: list[tuple[str, str]]) -> dict[str, list[str]] | None:
    """Every value per name, in order, as in ``multiValueHeaders`` / ``multiValueQueryStringParameters``."""
    if not pairs:
        return None
    result: dict[str, list[str]] = {}
    for name, value in pairs:
        result.setdefault(name, []).append(value)
    return result
