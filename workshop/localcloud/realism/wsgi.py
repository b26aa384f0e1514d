"""The AWS endpoint's front door in realism mode: API Gateway management calls meet the quotas.

Wraps moto's WSGI application. A request signed for the ``apigateway`` service (its SigV4
credential scope names the service) is a management call; :class:`.quotas.ManagementQuotas`
admits it or it is answered here, without reaching moto, as API Gateway answers:

    HTTP/1.1 429 Too Many Requests
    Content-Type: application/json
    x-amzn-ErrorType: TooManyRequestsException
    Retry-After: <seconds>

    {"message": "Too Many Requests"}

Every other request passes through untouched.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from workshop.localcloud import config
from workshop.localcloud.realism.quotas import ManagementQuotas, operation_quota_name

THROTTLED_MESSAGE = "Too Many Requests"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
#: Only a CreateRestApi body is read (for its endpoint type); a larger one is not an API
#: definition worth parsing here, and moto answers it.
_MAX_BODY_READ = 1 << 20


class QuotaMiddleware:
    def __init__(
        self, app: Any, quotas: ManagementQuotas, on_throttle: Callable[[str], None] | None = None
    ) -> None:
        self.app = app
        self.quotas = quotas
        self.on_throttle = on_throttle

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None or scope.group(3) != "apigateway":
            return self.app(environ, start_response)
        access_key, region = scope.group(1), scope.group(2)
        # moto's convention: an access key of 12 digits names the account; any other key is
        # the local cloud's one account.
        account = access_key if re.fullmatch(r"\d{12}", access_key) else config.ACCOUNT_ID
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        body = None
        if method == "POST" and re.fullmatch(r"/restapis/?", path):
            body = _peek_json(environ)
        operation = operation_quota_name(method, path, query, body)
        refused = self.quotas.admit(account, region, operation)
        if refused is None:
            return self.app(environ, start_response)
        if self.on_throttle is not None:
            self.on_throttle(f"throttled: {refused.operation}")
        payload = json.dumps({"message": THROTTLED_MESSAGE}).encode()
        start_response(
            "429 Too Many Requests",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("x-amzn-ErrorType", "TooManyRequestsException"),
                ("x-amzn-RequestId", str(uuid.uuid4())),
                ("Retry-After", refused.retry_after_header),
            ],
        )
        return [payload]


def _peek_json(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The request's JSON body, read and put back so moto reads it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= _MAX_BODY_READ:
        return None
    data = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(data)
    try:
        document = json.loads(data)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
