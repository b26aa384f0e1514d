"""Lambda authorizers (TOKEN and REQUEST) in front of a method, as API Gateway runs them.

A method with ``authorizationType="CUSTOM"`` and an ``authorizerId`` is guarded by that
authorizer ("Use API Gateway Lambda authorizers", API Gateway developer guide):

1. **Identity source.** TOKEN: the header named by ``identitySource``
   (``method.request.header.Authorization``); missing or empty, or not matching
   ``identityValidationExpression`` -> 401 ``{"message":"Unauthorized"}`` without calling the
   function. REQUEST: every listed source (headers, query strings, stage variables) must be
   present, else 401.
2. **Cache.** With ``authorizerResultTtlInSeconds`` > 0 (300 by default) the policy returned for
   one identity is reused for that many seconds, for every method of the stage: a policy whose
   Resource names only the first method called then refuses the others (a classic surprise,
   which is why the lab's authorizer allows ``.../*``). A new deployment of the stage starts
   with an empty cache.
3. **Invoke.** The function runs through the local Lambda runtime, like a proxy integration,
   with ``{"type": "TOKEN", "authorizationToken": ..., "methodArn": ...}`` (REQUEST: the request
   as a proxy event, plus type and methodArn). API Gateway needs permission to invoke it: a
   resource-policy statement for ``apigateway.amazonaws.com`` whose SourceArn matches
   ``arn:aws:execute-api:{region}:{account}:{apiId}/authorizers/{authorizerId}`` (unless the
   authorizer has ``authorizerCredentials``, a role API Gateway assumes).
4. **Result.** The function raised ``Exception("Unauthorized")`` -> 401. Any other error, a
   timeout, or an answer that is not ``{"principalId": str, "policyDocument": {...}}`` with a
   flat ``context`` (string, number and boolean values) -> 500 ``{"message":null}``. An explicit
   Deny matching the methodArn -> 403 "... with an explicit deny"; no Allow matching it -> 403
   "User is not authorized to access this resource". An Allow passes the request on, with
   ``principalId`` and ``context`` in ``requestContext.authorizer``.

The statement evaluation follows IAM: ``Action`` ``execute-api:Invoke`` (or wildcards), and
``Resource`` ARNs with ``*`` and ``?`` wildcards, a Deny winning over an Allow.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workshop.localcloud.gateway.access_errors import (
    AUTHORIZER_CONFIGURATION_ERROR,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    UNAUTHORIZED,
    AccessError,
)
from workshop.localcloud.gateway.permissions import InvokeSource, allows_invoke

if TYPE_CHECKING:
    from workshop.localcloud.invoke import FunctionInvoker

log = logging.getLogger("workshop.localcloud.gateway")

DEFAULT_TTL_SECONDS = 300
_HEADER_SOURCE = "method.request.header."
_QUERY_SOURCE = "method.request.querystring."
_STAGE_SOURCE = "stageVariables."
_INVOKE_ACTIONS = ("execute-api:invoke",)


@dataclass(frozen=True)
class AuthorizerVerdict:
    """The outcome: ``error`` refuses the request; otherwise ``context`` goes into the event."""

    error: AccessError | None = None
    principal_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    usage_identifier_key: str | None = None
    latency_ms: int = 0

    def request_context_authorizer(self) -> dict[str, Any]:
        """``requestContext.authorizer`` of the proxy event.

        REST APIs hand the context values to a proxy integration as strings ("true", "42"),
        with ``principalId`` and ``integrationLatency`` beside them.
        """
        values: dict[str, Any] = {key: _as_text(value) for key, value in self.context.items()}
        values["principalId"] = self.principal_id
        values["integrationLatency"] = self.latency_ms
        return values


class AuthorizerOutputError(ValueError):
    """The authorizer's answer is not one API Gateway accepts (500)."""


def method_arn(region: str, account_id: str, api_id: str, stage: str, http_method: str, path: str) -> str:
    """The ARN of the called method: ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``.

    ``path`` is the request path after the stage (``/product/stock``); the root gives ``.../GET/``.
    """
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{http_method.upper()}{path}"


def authorizer_source_arn(region: str, account_id: str, api_id: str, authorizer_id: str) -> str:
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/authorizers/{authorizer_id}"


def parse_output(payload: bytes) -> tuple[str, dict[str, Any], dict[str, Any], str | None]:
    """(principalId, policyDocument, context, usageIdentifierKey) from the function's answer."""
    try:
        output = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise AuthorizerOutputError("the answer is not JSON") from None
    if not isinstance(output, dict):
        raise AuthorizerOutputError("the answer is not a JSON object")
    principal = output.get("principalId")
    if not isinstance(principal, str) or not principal:
        raise AuthorizerOutputError("principalId is missing or not a string")
    policy = output.get("policyDocument")
    if isinstance(policy, str):  # a JSON string is accepted too
        try:
            policy = json.loads(policy)
        except ValueError:
            raise AuthorizerOutputError("policyDocument is not valid JSON") from None
    if not isinstance(policy, dict):
        raise AuthorizerOutputError("policyDocument is missing or not an object")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise AuthorizerOutputError("policyDocument has no Statement")
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise AuthorizerOutputError("each Statement needs Effect Allow or Deny")
        if "Action" not in statement or "Resource" not in statement:
            raise AuthorizerOutputError("each Statement needs Action and Resource")
    context = output.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise AuthorizerOutputError("context is not an object")
    for key, value in context.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            # "You can't set a JSON object or array as a valid value of any key in the context map."
            raise AuthorizerOutputError(f"context value of {key!r} is an object or array")
    usage_key = output.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise AuthorizerOutputError("usageIdentifierKey is not a string")
    return principal, {"Statement": statements}, context, usage_key


def evaluate_policy(policy: dict[str, Any], arn: str) -> AccessError | None:
    """None when an Allow matches ``arn`` and no Deny does; else the 403 API Gateway sends."""
    allowed = False
    for statement in policy["Statement"]:
        if not _matches_any(statement.get("Action"), "execute-api:Invoke", case_insensitive=True):
            continue
        if not _matches_any(statement.get("Resource"), arn):
            continue
        if statement["Effect"] == "Deny":
            return EXPLICIT_DENY
        allowed = True
    return None if allowed else IMPLICIT_DENY


def _matches_any(patterns: Any, value: str, case_insensitive: bool = False) -> bool:
    items = patterns if isinstance(patterns, list) else [patterns]
    for item in items:
        if not isinstance(item, str):
            continue
        flags = re.IGNORECASE if case_insensitive else 0
        regex = re.escape(item).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, value, flags | re.DOTALL):
            return True
    return False


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


@dataclass
class _CachedOutput:
    principal_id: str
    policy: dict[str, Any]
    context: dict[str, Any]
    usage_key: str | None
    expires: float


class LambdaAuthorizers:
    """Runs a method's Lambda authorizer and decides; keeps the per-identity result cache."""

    def __init__(self, invoker: FunctionInvoker, *, account_id: str, region: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.invoker = invoker
        self.account_id = account_id
        self.region = region
        self._clock = clock
        self._cache: dict[tuple[Any, ...], _CachedOutput] = {}
        self._lock = threading.Lock()
        install_moto_authorizer_fix()

    def authorize(self, *, authorizer: Any, rest_api: Any, stage: Any, http_method: str,
                  stage_path: str, headers: list[tuple[str, str]], query: list[tuple[str, str]],
                  request_event: Callable[[], dict[str, Any]]) -> AuthorizerVerdict:
        """The verdict for one request. ``request_event()`` builds the proxy event (REQUEST type)."""
        kind = str(getattr(authorizer, "type", "") or "TOKEN").upper()
        arn = method_arn(self.region, self.account_id, rest_api.id, stage.name, http_method, stage_path)
        identity = self._identity(authorizer, kind, headers, query, dict(getattr(stage, "variables", None) or {}))
        if identity is None:
            log.info("%s %s: the authorizer's identity source is missing or invalid -> 401", http_method, stage_path)
            return AuthorizerVerdict(error=UNAUTHORIZED)

        ttl = _ttl(authorizer)
        scope = (rest_api.id, stage.name, getattr(stage, "deployment_id", None), authorizer.id, identity)
        now = self._clock()
        cached = self._cached(scope, now) if ttl > 0 else None
        started = time.perf_counter()
        if cached is None:
            if kind == "TOKEN":
                event: dict[str, Any] = {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": arn}
            else:
                event = {"type": "REQUEST", "methodArn": arn, **request_event()}
                event.pop("body", None)
                event.pop("isBase64Encoded", None)
            outcome = self._invoke(authorizer, rest_api, event)
            if isinstance(outcome, AccessError):
                return AuthorizerVerdict(error=outcome)
            cached = outcome
            if ttl > 0:
                cached.expires = now + ttl
                with self._lock:
                    self._cache[scope] = cached
        latency = int((time.perf_counter() - started) * 1000)
        refusal = evaluate_policy(cached.policy, arn)
        if refusal is not None:
            log.info("%s %s: the authorizer's policy refuses %s -> 403", http_method, stage_path, arn)
            return AuthorizerVerdict(error=refusal)
        return AuthorizerVerdict(
            principal_id=cached.principal_id,
            context=dict(cached.context),
            usage_identifier_key=cached.usage_key,
            latency_ms=latency,
        )

    def _cached(self, scope: tuple[Any, ...], now: float) -> _CachedOutput | None:
        with self._lock:
            cached = self._cache.get(scope)
            if cached is not None and cached.expires <= now:
                del self._cache[scope]
                cached = None
        return cached

    def _identity(self, authorizer: Any, kind: str, headers: list[tuple[str, str]],
                  query: list[tuple[str, str]], stage_variables: dict[str, str]) -> tuple[str, ...] | None:
        sources = [part.strip() for part in str(getattr(authorizer, "identity_source", "") or "").split(",") if part.strip()]
        if kind == "TOKEN":
            source = sources[0] if sources else "method.request.header.Authorization"
            if not source.startswith(_HEADER_SOURCE):
                return None
            token = _last(headers, source[len(_HEADER_SOURCE):])
            if not token:
                return None
            expression = getattr(authorizer, "identity_validation_expression", None)
            if expression:
                try:
                    if re.fullmatch(expression, token) is None:
                        return None
                except re.error:
                    log.warning("identityValidationExpression %r is not a valid regular expression", expression)
                    return None
            return (token,)
        values = []
        for source in sources:
            if source.startswith(_HEADER_SOURCE):
                value = _last(headers, source[len(_HEADER_SOURCE):])
            elif source.startswith(_QUERY_SOURCE):
                value = _last(query, source[len(_QUERY_SOURCE):], case_sensitive=True)
            elif source.startswith(_STAGE_SOURCE):
                value = stage_variables.get(source[len(_STAGE_SOURCE):])
            else:
                value = "context"  # $context values are always present
            if not value:
                return None
            values.append(value)
        return tuple(values)

    def _invoke(self, authorizer: Any, rest_api: Any, event: dict[str, Any]) -> _CachedOutput | AccessError:
        from workshop.localcloud.gateway.core import IntegrationConfigError, _moto_lambda_function, function_target
        from workshop.localcloud.invoke import FunctionNotFoundError

        try:
            target = function_target(getattr(authorizer, "authorizer_uri", None), {})
        except IntegrationConfigError as error:
            log.warning("authorizer %s: %s -> 500", authorizer.id, error)
            return AUTHORIZER_CONFIGURATION_ERROR
        function = _moto_lambda_function(target)
        if function is None:
            log.warning("authorizer %s: Lambda function %s does not exist -> 500", authorizer.id, target.arn)
            return AUTHORIZER_CONFIGURATION_ERROR
        if not getattr(authorizer, "authorizer_credentials", None):
            source = InvokeSource(
                source_arns=(authorizer_source_arn(self.region, self.account_id, rest_api.id, authorizer.id),),
                source_account=self.account_id,
            )
            if not allows_invoke(list(function.policy.statements), source):
                log.warning(
                    "authorizer %s: Invalid permissions on Lambda function %s: no statement allows "
                    "apigateway.amazonaws.com from %s -> 500", authorizer.id, target.arn, source.source_arns[0],
                )
                return AUTHORIZER_CONFIGURATION_ERROR
        try:
            result = self.invoker.invoke(
                target.arn, json.dumps(event).encode("utf-8"), account_id=target.account_id, region=target.region
            )
        except FunctionNotFoundError:
            return AUTHORIZER_CONFIGURATION_ERROR
        except Exception:
            log.exception("authorizer %s: invoking %s failed -> 500", authorizer.id, target.arn)
            return AUTHORIZER_CONFIGURATION_ERROR
        if result.function_error:
            if _error_message(result.payload) == "Unauthorized":
                return UNAUTHORIZED
            log.warning("authorizer %s: %s failed (%s) -> 500", authorizer.id, target.arn,
                        result.payload[:300].decode("utf-8", "replace"))
            return AUTHORIZER_CONFIGURATION_ERROR
        try:
            principal, policy, context, usage_key = parse_output(result.payload)
        except AuthorizerOutputError as error:
            log.warning("authorizer %s: invalid answer from %s: %s -> 500", authorizer.id, target.arn, error)
            return AUTHORIZER_CONFIGURATION_ERROR
        return _CachedOutput(principal, policy, context, usage_key, expires=0.0)


def install_moto_authorizer_fix() -> None:
    """moto 5.2's create_authorizer passes ``identiy_validation_expression`` (sic) to its
    ``Authorizer``, which reads ``identity_validation_expression``: the expression is dropped,
    and get_authorizer leaves it out. This puts it where it belongs (idempotent, process-wide)."""
    from moto.apigateway.models import Authorizer

    original = Authorizer.__init__
    if getattr(original, "_workshop_fixed", False):
        return

    def __init__(self: Any, authorizer_id: Any, name: Any, authorizer_type: Any, **kwargs: Any) -> None:
        misspelt = kwargs.pop("identiy_validation_expression", None)
        if misspelt is not None and kwargs.get("identity_validation_expression") is None:
            kwargs["identity_validation_expression"] = misspelt
        original(self, authorizer_id, name, authorizer_type, **kwargs)

    __init__._workshop_fixed = True  # type: ignore[attr-defined]
    Authorizer.__init__ = __init__  # type: ignore[method-assign]


def _ttl(authorizer: Any) -> float:
    value = getattr(authorizer, "authorizer_result_ttl", None)
    if value in (None, ""):
        return float(DEFAULT_TTL_SECONDS)
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return float(DEFAULT_TTL_SECONDS)


def _error_message(payload: bytes) -> str | None:
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return document.get("errorMessage") if isinstance(document, dict) else None


def _last(pairs: list[tuple[str, str]], name: str, case_sensitive: bool = False) -> str | None:
    found = None
    for key, value in pairs:
        if (key == name) if case_sensitive else (key.lower() == name.lower()):
            found = value
    return found
