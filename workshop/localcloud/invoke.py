"""The contract between the execute-api gateway and the Lambda runtime.

The gateway never starts processes or reads zips: it asks a :class:`FunctionInvoker` to run a
function with a payload, the way API Gateway's AWS_PROXY integration calls Lambda's Invoke API
(``RequestResponse``) and reads back the payload and the ``X-Amz-Function-Error`` header.

This module imports nothing heavy so either side can import it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: The value Lambda puts in ``X-Amz-Function-Error`` (``FunctionError`` in boto3) when the
#: function raised, timed out or its runtime crashed. AWS no longer sends "Handled".
UNHANDLED = "Unhandled"


@dataclass(frozen=True)
class InvokeResult:
    """What one synchronous invocation produced.

    ``payload`` is the function's return value serialised as JSON, or, when ``function_error``
    is set, the error document AWS returns (``errorMessage``, ``errorType``, ``stackTrace``, ...).
    """

    payload: bytes
    function_error: str | None = None
    timed_out: bool = False
    duration_ms: float = 0.0
    request_id: str = ""
    cold_start: bool = False
    #: This invocation's log lines (START ... REPORT), for ``LogType=Tail`` and for tests.
    logs: str = ""


class FunctionNotFoundError(LookupError):
    """No function with that name or ARN exists in the account and region.

    Lambda answers ``ResourceNotFoundException``; API Gateway turns that into a 500
    ``{"message": "Internal server error"}`` for an AWS_PROXY integration.
    """


@runtime_checkable
class FunctionInvoker(Protocol):
    """Runs a deployed Lambda function synchronously and returns its result."""

    def invoke(
        self,
        function_arn_or_name: str,
        payload: bytes,
        *,
        account_id: str,
        region: str,
    ) -> InvokeResult:
        """Invoke ``function_arn_or_name`` (a name, a function ARN, or a qualified ARN).

        Raises :class:`FunctionNotFoundError` when the function does not exist. Every failure of
        the function itself (exception, timeout, crash) is reported in the result instead.
        """
        ...
