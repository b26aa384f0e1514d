"""Who may call this method: the Lambda authorizer, then the API key, then the usage plan.

API Gateway checks a request in this order before the integration runs: the method's authorizer
(it may also supply the API key, with ``apiKeySource`` AUTHORIZER), then the API key, then the
key's usage plan throttle and quota. The first refusal is the answer; see
:mod:`.access_errors` for the bodies.

Methods with ``authorizationType`` NONE and no ``apiKeyRequired`` pass untouched (the cost of
the check is then two attribute reads). ``AWS_IAM`` and ``COGNITO_USER_POOLS`` methods are not
checked by the local gateway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workshop.localcloud.gateway.access_errors import (
    AUTHORIZER_CONFIGURATION_ERROR,
    INVALID_API_KEY,
    AccessError,
    customized,
)
from workshop.localcloud.gateway.api_keys import (
    MeteredKey,
    find_metered_key,
    method_requires_key,
    presented_key,
    stage_method_throttle,
)
from workshop.localcloud.gateway.authorizers import AuthorizerVerdict, LambdaAuthorizers
from workshop.localcloud.gateway.usage_plans import UsageMeter

if TYPE_CHECKING:
    from workshop.localcloud.gateway.messages import GatewayRequest
    from workshop.localcloud.gateway.routes import RouteMatch
    from workshop.localcloud.invoke import FunctionInvoker

log = logging.getLogger("workshop.localcloud.gateway")


@dataclass(frozen=True)
class AccessDecision:
    """``error`` refuses the request; otherwise what the proxy event learns about the caller."""

    error: AccessError | None = None
    verdict: AuthorizerVerdict | None = None
    key: MeteredKey | None = None

    def annotate(self, event: dict[str, Any]) -> None:
        """Add ``requestContext.authorizer`` and ``identity.apiKey``/``apiKeyId`` to a proxy event."""
        context = event.get("requestContext")
        if not isinstance(context, dict):
            return
        if self.verdict is not None:
            context["authorizer"] = self.verdict.request_context_authorizer()
        if self.key is not None and isinstance(context.get("identity"), dict):
            context["identity"]["apiKey"] = self.key.value
            context["identity"]["apiKeyId"] = self.key.key_id


PASS = AccessDecision()


class AccessControl:
    def __init__(self, invoker: FunctionInvoker, backend_for: Callable[[], Any], *, account_id: str,
                 region: str, clock: Callable[[], float] = time.time) -> None:
        self._backend_for = backend_for
        self.authorizers = LambdaAuthorizers(invoker, account_id=account_id, region=region, clock=clock)
        self.meter = UsageMeter(clock)

    def check(self, request: GatewayRequest, route: RouteMatch, stage_path: str,
              request_event: Callable[[], dict[str, Any]]) -> AccessDecision:
        decision = self._check(request, route, stage_path, request_event)
        if decision.error is not None:
            return AccessDecision(error=customized(decision.error, route.rest_api))
        return decision

    def _check(self, request: GatewayRequest, route: RouteMatch, stage_path: str,
               request_event: Callable[[], dict[str, Any]]) -> AccessDecision:
        method = route.method
        authorization = str(getattr(method, "authorization_type", None) or "NONE").upper()
        needs_key = method_requires_key(method)
        if authorization != "CUSTOM" and not needs_key:
            return PASS

        verdict = None
        if authorization == "CUSTOM":
            authorizer = (getattr(route.rest_api, "authorizers", None) or {}).get(getattr(method, "authorizer_id", None))
            if authorizer is None:
                log.warning("%s %s: the method's authorizer %r does not exist -> 500",
                            request.method, request.path, getattr(method, "authorizer_id", None))
                return AccessDecision(error=AUTHORIZER_CONFIGURATION_ERROR)
            verdict = self.authorizers.authorize(
                authorizer=authorizer, rest_api=route.rest_api, stage=route.stage,
                http_method=request.method, stage_path=stage_path, headers=request.headers,
                query=request.query, request_event=request_event,
            )
            if verdict.error is not None:
                return AccessDecision(error=verdict.error)
        if not needs_key:
            return AccessDecision(verdict=verdict)

        value = presented_key(route.rest_api, request.headers, verdict.usage_identifier_key if verdict else None)
        key = find_metered_key(self._backend_for(), route.rest_api.id, route.stage.name, value) if value else None
        if key is None:
            log.info("%s %s: %s -> 403 Forbidden", request.method, request.path,
                     "no API key" if not value else "the API key is unknown, disabled or in no usage plan of this stage")
            return AccessDecision(error=INVALID_API_KEY)
        method_throttle = stage_method_throttle(
            key.plan, route.rest_api.id, route.stage.name, route.resource_path, request.method
        )
        refusal = self.meter.admit(
            key.plan, key.key_id, method_throttle,
            (route.rest_api.id, route.stage.name, route.resource_path, request.method.upper()),
        )
        if refusal is not None:
            log.info("%s %s: usage plan %s refuses key %s -> %d %s", request.method, request.path,
                     key.plan.id, key.key_id, refusal.status, refusal.message)
            return AccessDecision(error=refusal)
        return AccessDecision(verdict=verdict, key=key)
