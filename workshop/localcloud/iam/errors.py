"""Denials in each service's own error shape, status and wording.

The message is AWS's (IAM User Guide, "Troubleshooting access denied error messages"):

    User: <principal ARN> is not authorized to perform: <action> on resource: <ARN>
    because no identity-based policy allows the <action> action
    ... with an explicit deny in an identity-based policy

Shapes (what botocore parses into ``ClientError``):

| service | protocol | code | status | sources |
| --- | --- | --- | --- | --- |
| DynamoDB | JSON ``__type`` ``com.amazon.coral.service#AccessDeniedException``, ``Message`` | AccessDeniedException | 400 | DynamoDB Developer Guide, "Error handling" (AccessDeniedException, 400) |
| Lambda | REST-JSON ``Type``/``Message``, header ``x-amzn-ErrorType`` | AccessDeniedException | 403 | SDK reports from AWS: "Service: AWSLambdaInternal; Status Code: 403; Error Code: AccessDeniedException" |
| CloudWatch Logs | JSON ``__type``, ``message`` | AccessDeniedException | 400 | CloudWatch Logs API reference, Common Errors; SDK reports "Service: CloudWatchLogs, Status Code: 400" |
| API Gateway | REST-JSON ``message``, header ``x-amzn-ErrorType`` | AccessDeniedException | 403 | API Gateway API reference, Common Errors |
| IAM, STS | XML ``ErrorResponse`` / ``Error`` (``Type`` Sender) | AccessDenied | 403 | IAM / STS API reference, Common Errors |
| Budgets, tagging | JSON ``__type``, ``Message`` | AccessDeniedException | 400 | Budgets API reference, Errors |

Unknown credentials: ``InvalidClientTokenId`` (query protocols, 403) or
``UnrecognizedClientException`` (JSON protocols: 400, Lambda and API Gateway 403), "The
security token included in the request is invalid." (Common Errors pages of the services).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."

_XML_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        reasons = {400: "Bad Request", 403: "Forbidden"}
        return f"{self.status} {reasons.get(self.status, 'Error')}"


IDENTITY_POLICY = "identity-based policy"
SESSION_POLICY = "session policy"
PERMISSIONS_BOUNDARY = "permissions boundary"
_ARTICLES = {IDENTITY_POLICY: "an", SESSION_POLICY: "a", PERMISSIONS_BOUNDARY: "a"}


def denial_message(
    principal_arn: str, action: str, resource: str, *, explicit: bool, policy_type: str = IDENTITY_POLICY
) -> str:
    """AWS's wording, naming the policy type that refused (IAM User Guide, "Troubleshooting
    access denied error messages": identity-based policy, session policy, permissions boundary)."""
    if explicit:
        reason = f"with an explicit deny in {_ARTICLES.get(policy_type, 'a')} {policy_type}"
    else:
        reason = f"because no {policy_type} allows the {action} action"
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {reason}"


def access_denied(service: str, message: str) -> ErrorResponse:
    """AccessDenied(Exception) in ``service``'s shape."""
    if service in _XML_NAMESPACES:
        return _xml_error(service, 403, "AccessDenied", message)
    if service == "lambda":
        return _rest_json_error(403, "AccessDeniedException", {"Type": "User", "Message": message})
    if service == "apigateway":
        return _rest_json_error(403, "AccessDeniedException", {"message": message})
    if service == "dynamodb":
        return _json_error(400, "com.amazon.coral.service#AccessDeniedException", message, "Message")
    if service == "logs":
        return _json_error(400, "AccessDeniedException", message, "message")
    return _json_error(400, "AccessDeniedException", message, "Message")


def invalid_token(service: str) -> ErrorResponse:
    """An access key (or session token) the account does not know."""
    if service in _XML_NAMESPACES:
        return _xml_error(service, 403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE)
    if service in ("lambda", "apigateway"):
        return _rest_json_error(403, "UnrecognizedClientException", {"message": INVALID_TOKEN_MESSAGE})
    return _json_error(400, "UnrecognizedClientException", INVALID_TOKEN_MESSAGE, "message")


def _request_id_headers() -> list[tuple[str, str]]:
    request_id = str(uuid.uuid4())
    return [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]


def _json_error(status: int, error_type: str, message: str, message_field: str) -> ErrorResponse:
    body = json.dumps({"__type": error_type, message_field: message}).encode("utf-8")
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    return ErrorResponse(status, headers + _request_id_headers(), body)


def _rest_json_error(status: int, code: str, document: dict[str, str]) -> ErrorResponse:
    body = json.dumps(document).encode("utf-8")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("x-amzn-ErrorType", code),
    ]
    return ErrorResponse(status, headers + _request_id_headers(), body)


def _xml_error(service: str, status: int, code: str, message: str) -> ErrorResponse:
    request_id = str(uuid.uuid4())
    body = (
        f'<ErrorResponse xmlns="{_XML_NAMESPACES[service]}">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode("utf-8")
    headers = [
        ("Content-Type", "text/xml"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
    ]
    return ErrorResponse(status, headers, body)


def invalid_parameter_value(message: str) -> ErrorResponse:
    """Lambda's InvalidParameterValueException (400), e.g. a role Lambda cannot assume."""
    return _rest_json_error(400, "InvalidParameterValueException", {"Type": "User", "message": message})
