"""Lambda's control-plane answers where moto 5.2's differ (sources in
``tests/conformance/test_conformance_lambda.py``):

- Invoke with a payload over 6 MB (6,291,456 bytes, "Lambda quotas"): 413
  ``RequestEntityTooLargeException`` before anything runs.
- CreateFunction / UpdateFunctionCode requests over 70,167,211 bytes (a package over 50 MB
  sent as ``ZipFile``): 413 ``RequestEntityTooLargeException``.
- An unknown runtime: 400 ``InvalidParameterValueException`` naming the accepted values.
- An unknown function, unqualified: ``Function not found: arn:...:function:NAME:$LATEST``,
  with ``Type: User`` in the body, as Lambda's errors carry.
- RemovePermission of a statement id the policy does not have:
  ``Statement SID is not found in resource policy.``
- CreateFunction answers ``State: Pending`` (``StateReasonCode: Creating``): a new function is
  never Active in the answer of the call that creates it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from workshop.localcloud.rules.wsgi import Answer, WsgiApp, call, read_body, rest_json_error

#: Synchronous invocation request payload limit ("Lambda quotas": 6 MB each for request and
#: response), and AWS's message for it.
MAX_INVOKE_PAYLOAD_BYTES = 6_291_456
PAYLOAD_TOO_LARGE = (
    f"Request must be smaller than {MAX_INVOKE_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
)
#: The largest CreateFunction / UpdateFunctionCode request: what a 50 MB package ("Lambda
#: quotas", zipped, uploaded through the API) becomes once base64-encoded in the request.
MAX_CODE_REQUEST_BYTES = 70_167_211

#: The runtime identifiers Lambda names in its "enum value set" message (deprecated ones
#: included: Lambda still accepts their names in the message's list).
RUNTIMES = (
    "nodejs nodejs4.3 nodejs6.10 nodejs8.10 nodejs10.x nodejs12.x nodejs14.x nodejs16.x "
    "nodejs18.x nodejs20.x nodejs22.x nodejs24.x java8 java8.al2 java11 java17 java21 java25 "
    "python2.7 python3.6 python3.7 python3.8 python3.9 python3.10 python3.11 python3.12 "
    "python3.13 python3.14 dotnetcore1.0 dotnetcore2.0 dotnetcore2.1 dotnetcore3.1 dotnet6 "
    "dotnet8 dotnet10 nodejs4.3-edge go1.x ruby2.5 ruby2.7 ruby3.2 ruby3.3 ruby3.4 provided "
    "provided.al2 provided.al2023"
).split()

_FUNCTIONS = re.compile(r"^/2015-03-31/functions/?$")
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_CONFIGURATION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
_FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)(/.*)?$")
_CODE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/code/?$")
_PERMISSION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/policy/(?P<sid>[^/]+)/?$")


def runtime_error(runtime: Any) -> Answer | None:
    """The InvalidParameterValueException for a runtime Lambda does not know, else None."""
    if runtime is None or runtime in RUNTIMES:
        return None
    message = (
        f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum "
        f"value set: [{', '.join(RUNTIMES)}] or be a valid ARN"
    )
    return lambda_error("InvalidParameterValueException", message, 400)


def payload_problem(payload: bytes) -> str | None:
    """Why Lambda cannot parse an Invoke payload as JSON (UTF-8 text), or None. An empty
    payload is fine: the function receives ``{}``."""
    if not payload.strip():
        return None
    try:
        json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        return "Could not parse request body into json: the payload is not UTF-8 text"
    except ValueError as error:
        return f"Could not parse request body into json: {error}"
    return None


def lambda_error(code: str, message: str, status: int) -> Answer:
    """Lambda's error body: ``{"Type": "User", "Message": ...}``."""
    return rest_json_error(code, message, status, message_key="Message", Type="User")


def handle(app: WsgiApp, environ: dict[str, Any]) -> Answer:
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = unquote(str(environ.get("PATH_INFO", "")))
    query = str(environ.get("QUERY_STRING", ""))

    if method == "POST" and _INVOKE.match(path):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_INVOKE_PAYLOAD_BYTES:
            return lambda_error("RequestEntityTooLargeException", PAYLOAD_TOO_LARGE, 413)
        problem = payload_problem(read_body(environ))
        if problem:
            return lambda_error("InvalidRequestContentException", problem, 400)
    code_operation = (
        "CreateFunction" if method == "POST" and _FUNCTIONS.match(path)
        else "UpdateFunctionCode" if method == "PUT" and _CODE.match(path)
        else None
    )
    if code_operation and int(environ.get("CONTENT_LENGTH") or 0) > MAX_CODE_REQUEST_BYTES:
        message = (
            f"Request must be smaller than {MAX_CODE_REQUEST_BYTES} bytes for the "
            f"{code_operation} operation"
        )
        return lambda_error("RequestEntityTooLargeException", message, 413)
    if (method == "POST" and _FUNCTIONS.match(path)) or (
        method == "PUT" and _CONFIGURATION.match(path)
    ):
        body = read_body(environ)
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            request = {}
        if isinstance(request, dict):
            refused = runtime_error(request.get("Runtime"))
            if refused is not None:
                return refused

    answer = call(app, environ)

    if method == "POST" and _FUNCTIONS.match(path) and answer.status in (200, 201):
        return _pending(answer)
    if answer.status == 404:
        permission = _PERMISSION.match(path)
        if method == "DELETE" and permission:
            return _unknown_statement(answer, permission["sid"])
        if _FUNCTION.match(path):
            return _function_not_found(answer, qualified="Qualifier=" in query)
    return answer


def _pending(answer: Answer) -> Answer:
    document = answer.json()
    if not isinstance(document, dict) or document.get("State") != "Active":
        return answer
    document.update(
        State="Pending", StateReason="The function is being created.", StateReasonCode="Creating"
    )
    return answer.with_body(json.dumps(document).encode())


def _function_not_found(answer: Answer, *, qualified: bool) -> Answer:
    document = answer.json()
    if not isinstance(document, dict):
        return answer
    message = str(document.get("message") or document.get("Message") or "")
    if not message.startswith("Function not found: "):
        return answer
    arn = message.removeprefix("Function not found: ")
    if not qualified and arn.count(":") == 6:  # arn:aws:lambda:REGION:ACCOUNT:function:NAME
        message = f"{message}:$LATEST"
    return lambda_error("ResourceNotFoundException", message, 404)


def _unknown_statement(answer: Answer, sid: str) -> Answer:
    """moto answers an empty 404 or "No policy is associated..." for a statement it lacks."""
    document = answer.json()
    message = ""
    if isinstance(document, dict):
        message = str(document.get("message") or document.get("Message") or "")
    if message.startswith("Function not found"):
        return _function_not_found(answer, qualified=False)
    return lambda_error(
        "ResourceNotFoundException", f"Statement {sid} is not found in resource policy.", 404
    )
