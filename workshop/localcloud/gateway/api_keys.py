"""API keys: which caller is this, and which usage plan meters them?

A method created with ``apiKeyRequired=True`` only answers requests that carry an API key that
(1) exists, (2) is enabled and (3) is in a usage plan associated with this API and stage
("Usage plans and API keys for REST APIs", API Gateway developer guide: "API keys ... must be
associated with a usage plan ... and the usage plan must be associated with the API stage").
Anything else is 403 ``{"message":"Forbidden"}``.

The key comes from the ``x-api-key`` header (header names are case-insensitive), or, when the
API's ``apiKeySource`` is ``AUTHORIZER``, from the ``usageIdentifierKey`` a Lambda authorizer
returned ("Choose an API key source").

moto stores API keys (``APIGatewayBackend.keys``), usage plans (``.usage_plans``, with
``api_stages``, ``throttle`` and ``quota``) and their keys (``.usage_plan_keys``); they are read
on every request, so a key disabled with ``update_api_key`` is refused on the next request, as on
AWS (where it can take a few seconds).

API keys identify and meter callers: they are not authentication (AWS: "Don't use API keys for
authentication or authorization"); pair them with an authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API_KEY_HEADER = "x-api-key"
AUTHORIZER_SOURCE = "AUTHORIZER"


@dataclass(frozen=True)
class MeteredKey:
    """A valid API key and the usage plan that meters it on this stage."""

    key_id: str
    value: str
    plan: Any  # moto.apigateway.models.UsagePlan


def method_requires_key(method: Any) -> bool:
    value = getattr(method, "api_key_required", False)
    if isinstance(value, str):  # moto keeps what the request sent; "true" from some clients
        return value.strip().lower() == "true"
    return bool(value)


def presented_key(rest_api: Any, headers: list[tuple[str, str]], authorizer_key: str | None) -> str | None:
    """The API key value this request presents, or None."""
    if str(getattr(rest_api, "api_key_source", "HEADER") or "HEADER").upper() == AUTHORIZER_SOURCE:
        return authorizer_key or None
    value = None
    for name, header_value in headers:
        if name.lower() == API_KEY_HEADER:
            value = header_value
    return value or None


def find_metered_key(backend: Any, api_id: str, stage: str, value: str) -> MeteredKey | None:
    """The enabled key with ``value`` and a usage plan of ``api_id``/``stage`` that holds it.

    AWS refuses to put one key in two usage plans of the same stage, so at most one plan
    matches; with moto's looser checks the first one found is used.
    """
    keys = [key for key in backend.keys.values() if key.value == value]
    for key in keys:
        if not _enabled(key):
            continue
        for plan in backend.usage_plans.values():
            if not _covers_stage(plan, api_id, stage):
                continue
            if key.id in (backend.usage_plan_keys.get(plan.id) or {}):
                return MeteredKey(key_id=key.id, value=key.value, plan=plan)
    return None


def _enabled(key: Any) -> bool:
    enabled = getattr(key, "enabled", False)
    if isinstance(enabled, str):
        return enabled.strip().lower() == "true"
    return bool(enabled)


def _covers_stage(plan: Any, api_id: str, stage: str) -> bool:
    for api_stage in getattr(plan, "api_stages", None) or []:
        if isinstance(api_stage, dict) and api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
            return True
    return False


def stage_method_throttle(plan: Any, api_id: str, stage: str, resource_path: str, http_method: str) -> dict[str, Any] | None:
    """A method-level throttle of the plan's API stage (``apiStages[].throttle``), if any.

    Its keys are ``"{resourcePath}/{httpMethod}"``, e.g. ``"/product/stock/POST"``
    (UsagePlan ``ApiStage.throttle``: "a map containing method level throttling information
    for API stage in a usage plan").
    """
    wanted = f"{resource_path.rstrip('/') or '/'}/{http_method.upper()}"
    if resource_path == "/":
        wanted = f"//{http_method.upper()}"
    for api_stage in getattr(plan, "api_stages", None) or []:
        if not isinstance(api_stage, dict):
            continue
        if api_stage.get("apiId") != api_id or api_stage.get("stage") != stage:
            continue
        throttles = api_stage.get("throttle") or {}
        for path_method, settings in throttles.items():
            if path_method in (wanted, f"{resource_path}/*", f"/*/{http_method.upper()}", "/*/*"):
                return settings if isinstance(settings, dict) else None
    return None
