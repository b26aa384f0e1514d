"""API Gateway's answers when a caller is refused before the integration runs.

Status codes are the defaults of the gateway response types ("Gateway response types for API
Gateway", API Gateway developer guide): INVALID_API_KEY 403, THROTTLED 429, QUOTA_EXCEEDED 429,
UNAUTHORIZED 401, ACCESS_DENIED 403, AUTHORIZER_CONFIGURATION_ERROR 500, AUTHORIZER_FAILURE 500.
The default body template is ``{"message":$context.error.messageString}``.

Bodies and ``x-amzn-ErrorType`` values as real API Gateway sends them:

- a missing, unknown or disabled API key, or a key in no usage plan of the stage: 403
  ``{"message":"Forbidden"}``, ``ForbiddenException`` (localstack's aws-validated
  ``api_key_validation.py`` raises INVALID_API_KEY with "Forbidden");
- over the usage plan's rate/burst: 429 ``{"message":"Too Many Requests"}``,
  ``TooManyRequestsException``; over its quota: 429 ``{"message":"Limit Exceeded"}``,
  ``LimitExceededException``;
- no token for a Lambda authorizer, or the authorizer raised ``Exception("Unauthorized")``: 401
  ``{"message":"Unauthorized"}``, ``UnauthorizedException``;
- the authorizer's policy denies: 403 ``{"Message":"User is not authorized to access this
  resource with an explicit deny"}`` (explicit Deny) or ``{"Message":"User is not authorized to
  access this resource"}`` (no Allow matches), ``AccessDeniedException``. Note the capital
  ``Message``: ACCESS_DENIED's default template differs from the others (responses recorded
  from AWS in the "API Gateway + Lambda authorizer + Lambda proxy integration failure modes"
  write-up by Marco Gonzalez on dev.to, and an x-amzn-ErrorType/body capture of an explicit
  deny: ``"x-amzn-ErrorType": "AccessDeniedException"``, ``{"Message": "User is not authorized
  to access this resource with an explicit deny"}``);
- the authorizer failed (another exception, a timeout, an invalid answer, no permission to
  invoke it): 500 ``{"message":null}``, ``AuthorizerConfigurationException`` (same sources).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workshop.localcloud.gateway.messages import Headers
from workshop.localcloud.gateway.responses import JSON_CONTENT_TYPE


@dataclass(frozen=True)
class AccessError:
    """A refusal: the same interface as ``responses.GatewayError`` (status, headers(), body())."""

    status: int
    payload: dict[str, Any]
    error_type: str
    response_type: str  # the gateway response type, e.g. "UNAUTHORIZED"
    extra_headers: tuple[tuple[str, str], ...] = ()

    def headers(self) -> Headers:
        return [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-ErrorType", self.error_type),
                *self.extra_headers]

    def body(self) -> bytes:
        return json.dumps(self.payload).encode()

    @property
    def message(self) -> Any:
        return self.payload.get("message", self.payload.get("Message"))


INVALID_API_KEY = AccessError(403, {"message": "Forbidden"}, "ForbiddenException", "INVALID_API_KEY")
THROTTLED = AccessError(429, {"message": "Too Many Requests"}, "TooManyRequestsException", "THROTTLED")
QUOTA_EXCEEDED = AccessError(429, {"message": "Limit Exceeded"}, "LimitExceededException", "QUOTA_EXCEEDED")
UNAUTHORIZED = AccessError(401, {"message": "Unauthorized"}, "UnauthorizedException", "UNAUTHORIZED")
EXPLICIT_DENY = AccessError(
    403,
    {"Message": "User is not authorized to access this resource with an explicit deny"},
    "AccessDeniedException",
    "ACCESS_DENIED",
)
IMPLICIT_DENY = AccessError(
    403, {"Message": "User is not authorized to access this resource"}, "AccessDeniedException",
    "ACCESS_DENIED",
)
AUTHORIZER_CONFIGURATION_ERROR = AccessError(
    500, {"message": None}, "AuthorizerConfigurationException", "AUTHORIZER_CONFIGURATION_ERROR"
)


def customized(error: AccessError, rest_api: Any) -> AccessError:
    """``error`` with the API's gateway response for its type applied (put_gateway_response).

    API Gateway uses the response configured for the exact type, else DEFAULT_4XX or DEFAULT_5XX:
    its ``statusCode`` (when set) and the static header values of its ``responseParameters``
    (``gatewayresponse.header.Access-Control-Allow-Origin: "'*'"``, the usual way to let browsers
    read a 401 or 403). Body templates are not applied locally: the default body is kept.
    """
    responses = getattr(rest_api, "gateway_responses", None) or {}
    fallback = "DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX"
    configured = responses.get(error.response_type) or responses.get(fallback)
    if configured is None:
        return error
    headers = []
    for name, value in (getattr(configured, "response_parameters", None) or {}).items():
        prefix = "gatewayresponse.header."
        text = str(value)
        if name.startswith(prefix) and len(text) >= 2 and text[0] == text[-1] == "'":
            headers.append((name[len(prefix):], text[1:-1]))
    status = getattr(configured, "status_code", None)
    try:
        status = int(status) if status not in (None, "") else error.status
    except (TypeError, ValueError):
        status = error.status
    return AccessError(status, error.payload, error.error_type, error.response_type, tuple(headers))
