"""Plugs the local Lambda runtime into moto's invoke path.

moto 5.2's ``Invoke`` API ends in ``LambdaFunction.invoke(body, request_headers,
response_headers)``, which would run the zip in Docker (``_invoke_lambda``). While a runtime is
installed, that method runs the function in the runtime instead and answers as Lambda does:

- ``RequestResponse`` (the default): the function's result, or its error document with the
  header ``X-Amz-Function-Error: Unhandled``; ``LogType=Tail`` adds the last 4 KB of the log.
- ``Event``: 202 at once, the function runs in the background.
- ``DryRun``: 204 without running anything.
- A payload that is not JSON: 400 ``InvalidRequestContentException``, before any code runs.

Uninstalling restores moto's own method, so tests that use ``mock_aws`` elsewhere in the same
process are unaffected.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any

from workshop.localcloud.invoke import FunctionInvoker

log = logging.getLogger(__name__)

_lock = threading.Lock()
_active: Any = None  # the installed LambdaRuntime
_original_invoke: Any = None
_original_response_invoke: Any = None

#: Lambda returns at most the last 4 KB of the execution log with LogType=Tail.
TAIL_BYTES = 4096


def install(runtime: Any) -> None:
    """Route moto's ``LambdaFunction.invoke`` to ``runtime`` (a LambdaRuntime)."""
    global _active, _original_invoke, _original_response_invoke
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    with _lock:
        if _original_invoke is None:
            _original_invoke = LambdaFunction.invoke
            LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
            _original_response_invoke = LambdaResponse.invoke
            LambdaResponse.invoke = _response_invoke  # type: ignore[method-assign]
        _active = runtime


def uninstall() -> None:
    """Give moto its own ``invoke`` back."""
    global _active, _original_invoke, _original_response_invoke
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    with _lock:
        if _original_invoke is not None:
            LambdaFunction.invoke = _original_invoke  # type: ignore[method-assign]
            LambdaResponse.invoke = _original_response_invoke  # type: ignore[method-assign]
            _original_invoke = _original_response_invoke = None
        _active = None


def _response_invoke(response: Any) -> Any:
    """moto 5.2's Invoke handler looks the version up as ``qualifier`` (lower case) in the query
    string *or in the JSON payload*: ``Qualifier=1`` is ignored and an event with a "qualifier"
    key picks a version. Lambda reads only the ``Qualifier`` query parameter."""
    qualifier = (response.querystring.get("Qualifier") or [None])[0]
    default_get_param = response._get_param

    def get_param(name: str, if_none: Any = None) -> Any:
        if name == "qualifier":
            return qualifier if qualifier is not None else if_none
        return default_get_param(name, if_none)

    response._get_param = get_param
    return _original_response_invoke(response)


def installed_runtime() -> FunctionInvoker | None:
    return _active


def _invoke(fn: Any, body: Any, request_headers: Any, response_headers: dict[str, Any]) -> bytes:
    runtime = _active
    if runtime is None:  # uninstalled while a request was in flight
        return _original_invoke(fn, body, request_headers, response_headers)  # type: ignore[misc]
    payload = _payload_bytes(body)
    invocation_type = request_headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        # Lambda queues the event and answers 202; the function runs on its own.
        threading.Thread(
            target=_run_event, args=(runtime, fn, payload), name="lambda-event", daemon=True
        ).start()
        return b""
    result = runtime.invoke_function(fn, payload)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    response_headers["x-amz-executed-version"] = str(fn.version)
    if (request_headers.get("X-Amz-Log-Type") or "").lower() == "tail":
        tail = result.logs.encode("utf-8")[-TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
    return _SizedPayload(result.payload)


class _SizedPayload(bytes):
    """The result bytes, exempt from moto 5.2's own response-size check (``sys.getsizeof(payload)
    > 6000000``, which refuses results Lambda returns): the runtime applies Lambda's limit,
    6,291,556 bytes (workshop.localcloud.runtime.limit_response_size)."""

    def __sizeof__(self) -> int:
        return 0


def _payload_bytes(body: Any) -> bytes:
    from moto.awslambda.exceptions import LambdaClientError

    if body is None:
        body = b""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if not data.strip():
        return b"{}"  # Lambda passes {} when the caller sends no payload
    try:
        json.loads(data)
    except ValueError as error:
        exc = LambdaClientError(
            "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        )
        exc.code = 400
        raise exc from None
    return data


def _run_event(runtime: Any, fn: Any, payload: bytes) -> None:
    try:
        runtime.invoke_function(fn, payload)
    except Exception:  # noqa: BLE001 - an async invocation has nobody to report to but the log
        log.exception("asynchronous invocation of %s failed", getattr(fn, "function_name", fn))
