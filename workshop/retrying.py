"""Waiting out AWS's throttling: one policy for AWS and the local cloud, used by the labs,
the scripts and the cleanup.

Two layers:

- every boto3 client made after :func:`workshop.target.connect` uses botocore's *standard*
  retry mode with 10 attempts (:func:`use_standard_retries`): throttling errors
  (``TooManyRequestsException``, ``ThrottlingException``, HTTP 429, ...) and transient 5xx
  answers are retried with jittered exponential back-off, silently
  (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html);
- a quota slower than that back-off (API Gateway's DeleteRestApi: one call per 30 s per
  account) is waited out explicitly with :func:`throttle_wait`, which prefers the wait the
  service asked for in its ``Retry-After`` header and never lets a loop fall through silently.

Nothing here knows whether it talks to AWS or to the local cloud; in the local cloud's realism
mode (``WORKSHOP_REALISM=aws``) the same throttling happens, so the same code is exercised.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

#: What ``connect()`` sets unless the learner chose otherwise (AWS_RETRY_MODE / AWS_MAX_ATTEMPTS
#: are botocore's own settings, read when a client is made).
STANDARD_RETRIES = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "10"}
THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)


def use_standard_retries(environ: MutableMapping[str, str] | None = None) -> None:
    """Make boto3 clients created from now on retry throttled calls with back-off."""
    environ = os.environ if environ is None else environ
    for key, value in STANDARD_RETRIES.items():
        if not environ.get(key):
            environ[key] = value


def is_throttled(error: BaseException) -> bool:
    """True for a botocore ClientError that says "too many requests"."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in THROTTLING_CODES or status == 429


def retry_after(error: BaseException) -> float | None:
    """The seconds a throttled answer's ``Retry-After`` header asks for, or None."""
    response: Any = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    raw = next((value for key, value in headers.items() if key.lower() == "retry-after"), None)
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: not sent by AWS APIs; use the back-off instead
    return seconds if seconds is not None and seconds >= 0 else None


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Exponential back-off: ``base`` after the first failure, doubling, at most ``cap``."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, not {attempt!r}")
    return min(cap, base * 2 ** (attempt - 1))


def throttle_wait(
    error: BaseException, attempt: int, *, max_attempts: int = 10, fallback: float | None = None
) -> float:
    """How long to wait before attempt ``attempt + 1`` of a call AWS throttled.

    Re-raises ``error`` when it is not throttling or when ``attempt`` was the last one, so a
    retry loop never falls through as if the call had succeeded. The wait is the service's
    ``Retry-After`` when it sent one, else ``fallback`` when given, else the exponential
    :func:`backoff_seconds`.
    """
    if not is_throttled(error) or attempt >= max_attempts:
        raise error
    asked = retry_after(error)
    if asked is not None:
        return asked
    return fallback if fallback is not None else backoff_seconds(attempt)
