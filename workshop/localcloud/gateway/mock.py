"""MOCK integrations: API Gateway answers by itself, without calling a backend.

This is how "Enable CORS" works on a REST API: an OPTIONS method with a MOCK integration whose
request template is ``{"statusCode": 200}`` and whose integration response maps static header
values, e.g. ``method.response.header.Access-Control-Allow-Origin: "'*'"`` (a quoted string is a
literal value in API Gateway's mapping syntax).

How API Gateway picks the answer: the request template's ``statusCode`` is the integration's
status; the integration response whose ``selectionPattern`` matches that status (a regex over the
whole string) is used, else the default one (no pattern). Its ``statusCode`` is the HTTP status,
its ``responseParameters`` give the headers. Velocity templates are not evaluated here: a
response template is returned only when it is static text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from workshop.localcloud.gateway.messages import Headers
from workshop.localcloud.gateway.responses import JSON_CONTENT_TYPE

_HEADER_PREFIX = "method.response.header."
_DEFAULT_MOCK_STATUS = 200


class MockIntegrationError(LookupError):
    """The MOCK integration has no integration response that applies (a 500 on AWS)."""


@dataclass(frozen=True)
class MockResponse:
    status: int
    headers: Headers
    body: bytes


class MockIntegrationResponder:
    def respond(self, integration: Any, content_type: str | None = None) -> MockResponse:
        """Answer for ``integration`` (a moto ``Integration`` of type MOCK)."""
        mock_status = self._requested_status(integration, content_type)
        chosen = self._select_response(integration, mock_status)
        try:
            status = int(chosen.status_code)
        except (TypeError, ValueError):
            raise MockIntegrationError(
                f"integration response status {chosen.status_code!r} is not a number"
            ) from None
        headers: Headers = [("Content-Type", JSON_CONTENT_TYPE)]
        for target, source in (chosen.response_parameters or {}).items():
            if not target.startswith(_HEADER_PREFIX):
                continue
            value = _literal(source)
            if value is None:
                continue  # mapped from the backend's response: a MOCK has none
            headers.append((target[len(_HEADER_PREFIX):], value))
        return MockResponse(status=status, headers=headers, body=_static_template(chosen))

    @staticmethod
    def _requested_status(integration: Any, content_type: str | None) -> int:
        """The ``statusCode`` the request template asks for (200 when there is none)."""
        templates = integration.request_templates or {}
        template = None
        if content_type:
            template = templates.get(content_type.split(";", 1)[0].strip().lower())
        if template is None:
            template = templates.get(JSON_CONTENT_TYPE)
        if not template:
            return _DEFAULT_MOCK_STATUS
        try:
            status = json.loads(template).get("statusCode", _DEFAULT_MOCK_STATUS)
            return int(status)
        except (ValueError, TypeError, AttributeError):
            return _DEFAULT_MOCK_STATUS

    @staticmethod
    def _select_response(integration: Any, mock_status: int) -> Any:
        responses = dict(integration.integration_responses or {})
        if not responses:
            raise MockIntegrationError("the MOCK integration has no integration response")
        default = None
        for response in responses.values():
            pattern = response.selection_pattern
            if not pattern:
                default = default or response
            elif _pattern_matches(pattern, str(mock_status)):
                return response
        if default is None:
            raise MockIntegrationError(
                f"no integration response matches status {mock_status} and none is the default"
            )
        return default


def _pattern_matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False  # AWS rejects an invalid selectionPattern when it is put; skip it here


def _literal(source: Any) -> str | None:
    """``'value'`` -> ``value``; anything unquoted is a mapping expression, not a literal."""
    text = str(source).strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return None


def _static_template(response: Any) -> bytes:
    templates = response.response_templates or {}
    template = templates.get(JSON_CONTENT_TYPE)
    if not template or "$" in template or "#" in template:
        return b""
    return template.encode("utf-8")
