"""API Gateway's refusals and settings where moto 5.2 differs (sources in
``tests/conformance/test_conformance_apigateway.py``):

- DeleteRestApi of an id that does not exist (or of an API's *name*): 404 ``NotFoundException``
  "Invalid API identifier specified ACCOUNT:ID" (moto answers a 500 HTML page).
- Mapping expressions, wherever one is written — integration responses', integrations' and
  gateway responses' parameter values, and the parameter names of methods, method responses,
  integrations, integration responses and gateway responses: an unquoted static value such as ``*`` is refused with 400
  ``BadRequestException`` "Invalid mapping expression specified: Validation Result: warnings :
  [], errors : [Invalid mapping expression specified: *]" (moto stores it and the preflight then
  answers ``Access-Control-Allow-Origin: None``).
- binaryMediaTypes: kept by CreateRestApi, and UpdateRestApi's documented patch paths
  (``add``/``remove`` ``/binaryMediaTypes/image~1png``, ``~1`` standing for ``/``).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

_LOCATIONS = "path|querystring|multivaluequerystring|header|multivalueheader"
_NAME = r"[^\s.][^\s]*"
_QUOTED = r"'[^']*'"
_COMMON_SOURCES = rf"{_QUOTED}|stageVariables\.{_NAME}|context\.{_NAME}"

#: What a method's requestParameters may name.
METHOD_REQUEST_PARAMETER = re.compile(rf"^method\.request\.({_LOCATIONS})\.{_NAME}$")
#: What a method response's / integration response's responseParameters may name.
METHOD_RESPONSE_HEADER = re.compile(rf"^method\.response\.header\.{_NAME}$")
#: What an integration's requestParameters may name, and where the values may come from.
INTEGRATION_REQUEST_PARAMETER = re.compile(rf"^integration\.request\.({_LOCATIONS})\.{_NAME}$")
INTEGRATION_REQUEST_SOURCE = re.compile(
    rf"^({_COMMON_SOURCES}|method\.request\.({_LOCATIONS})\.{_NAME}|method\.request\.body(\..+)?)$"
)
#: Where an integration response's header values may come from.
INTEGRATION_RESPONSE_SOURCE = re.compile(
    rf"^({_COMMON_SOURCES}|integration\.response\.(header|multivalueheader)\.{_NAME}"
    r"|integration\.response\.body(\..+)?)$"
)

#: What a gateway response's responseParameters may name, and where the values may come from.
GATEWAY_RESPONSE_HEADER = re.compile(rf"^gatewayresponse\.header\.{_NAME}$")
GATEWAY_RESPONSE_SOURCE = re.compile(
    rf"^({_COMMON_SOURCES}|method\.request\.(path|querystring|header|multivaluequerystring|multivalueheader)\.{_NAME})$"
)

_PREFIX = "Invalid mapping expression specified: Validation Result: warnings : [], errors : "


class MappingExpressionError(ValueError):
    """A parameter mapping API Gateway refuses; ``str()`` is AWS's message."""


def _invalid_value(value: Any) -> MappingExpressionError:
    return MappingExpressionError(f"{_PREFIX}[Invalid mapping expression specified: {value}]")


def _invalid_name(name: Any) -> MappingExpressionError:
    return MappingExpressionError(
        f"{_PREFIX}[Invalid mapping expression parameter specified: {name}]"
    )


def check_names(parameters: dict[str, Any] | None, pattern: re.Pattern[str]) -> None:
    for name in parameters or {}:
        if not pattern.match(str(name)):
            raise _invalid_name(name)


def check_sources(parameters: dict[str, Any] | None, pattern: re.Pattern[str]) -> None:
    for value in (parameters or {}).values():
        if not isinstance(value, str) or not pattern.match(value):
            raise _invalid_value(value)


def check_integration_response(parameters: dict[str, Any] | None) -> None:
    """responseParameters of PutIntegrationResponse: header names and quoted or mapped values."""
    check_names(parameters, METHOD_RESPONSE_HEADER)
    check_sources(parameters, INTEGRATION_RESPONSE_SOURCE)


def check_integration_request(parameters: dict[str, Any] | None) -> None:
    """requestParameters of PutIntegration."""
    check_names(parameters, INTEGRATION_REQUEST_PARAMETER)
    check_sources(parameters, INTEGRATION_REQUEST_SOURCE)


def check_method_request(parameters: dict[str, Any] | None) -> None:
    """requestParameters of PutMethod (name -> required flag)."""
    check_names(parameters, METHOD_REQUEST_PARAMETER)


def check_method_response(parameters: dict[str, Any] | None) -> None:
    """responseParameters of PutMethodResponse (name -> required flag)."""
    check_names(parameters, METHOD_RESPONSE_HEADER)


def check_gateway_response(parameters: dict[str, Any] | None) -> None:
    """responseParameters of PutGatewayResponse (CORS headers on 4XX/5XX answers)."""
    check_names(parameters, GATEWAY_RESPONSE_HEADER)
    check_sources(parameters, GATEWAY_RESPONSE_SOURCE)


def unescape_pointer(segment: str) -> str:
    """A JSON-pointer path segment as text: ``image~1png`` -> ``image/png``."""
    return segment.replace("~1", "/").replace("~0", "~")


def apply_binary_media_type_patch(current: list[str], operation: dict[str, Any]) -> list[str]:
    """One UpdateRestApi patch operation on binaryMediaTypes; entries are kept decoded."""
    path = str(operation.get("path", ""))
    op = str(operation.get("op", "")).lower()
    entry = unescape_pointer(path[len("/binaryMediaTypes/"):]) if path.startswith("/binaryMediaTypes/") else ""
    value = operation.get("value")
    result = list(current)
    if op == "add":
        new = entry or (unescape_pointer(str(value)) if value else "")
        if new and new not in result:
            result.append(new)
    elif op == "remove":
        result = [existing for existing in result if existing != entry]
    elif op == "replace":
        if entry and value:
            result = [str(value) if existing == entry else existing for existing in result]
        elif value:
            result = [str(value)]
    return result


# -- moto patches -----------------------------------------------------------------------------------

_saved: dict[tuple[Any, str], Any] = {}


def _wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = getattr(owner, name)
    _saved[(owner, name)] = original
    setattr(owner, name, make(original))


def _checked(check: Callable[[Any], None], parameter: str) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        signature = inspect.signature(original)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from moto.apigateway.exceptions import BadRequestException

            bound = signature.bind_partial(*args, **kwargs)
            try:
                check(bound.arguments.get(parameter))
            except MappingExpressionError as error:
                raise BadRequestException(str(error)) from None
            return original(*args, **kwargs)

        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        return wrapper

    return make


def install() -> None:
    from moto.apigateway.models import APIGatewayBackend, RestAPI
    from moto.apigateway.responses import APIGatewayResponse

    if _saved:
        return
    _wrap(APIGatewayBackend, "put_integration_response",
          _checked(check_integration_response, "response_parameters"))
    _wrap(APIGatewayBackend, "put_integration", _checked(check_integration_request, "request_parameters"))
    _wrap(APIGatewayBackend, "put_method", _checked(check_method_request, "request_parameters"))
    _wrap(APIGatewayBackend, "put_method_response",
          _checked(check_method_response, "response_parameters"))
    _wrap(APIGatewayBackend, "put_gateway_response",
          _checked(check_gateway_response, "response_parameters"))

    def delete_rest_api(original: Any) -> Any:
        def wrapper(backend: Any, function_id: str) -> Any:
            from moto.apigateway.exceptions import NotFoundException

            if function_id not in backend.apis:
                error = NotFoundException(
                    f"Invalid API identifier specified {backend.account_id}:{unquote(function_id)}"
                )
                error.code = 404  # moto's NotFoundException answers 400
                raise error
            return original(backend, function_id)

        return wrapper

    _wrap(APIGatewayBackend, "delete_rest_api", delete_rest_api)

    def apply_patch_operations(original: Any) -> Any:
        def wrapper(api: Any, patch_operations: list[dict[str, Any]]) -> None:
            others = []
            for operation in patch_operations:
                if str(operation.get("path", "")).startswith("/binaryMediaTypes"):
                    api.binaryMediaTypes = apply_binary_media_type_patch(
                        list(api.binaryMediaTypes or []), operation
                    )
                else:
                    others.append(operation)
            if others:
                original(api, others)

        return wrapper

    _wrap(RestAPI, "apply_patch_operations", apply_patch_operations)

    def create_rest_api(original: Any) -> Any:
        def wrapper(response: Any) -> Any:
            status, headers, body = original(response)
            wanted = response._get_param("binaryMediaTypes")
            if status != 200 or not wanted:
                return status, headers, body
            document = json.loads(body)
            api = response.backend.apis.get(document.get("id"))
            if api is not None:
                api.binaryMediaTypes = [str(entry) for entry in wanted]
                document["binaryMediaTypes"] = api.binaryMediaTypes
            return status, headers, json.dumps(document)

        return wrapper

    _wrap(APIGatewayResponse, "create_rest_api", create_rest_api)


def uninstall() -> None:
    for (owner, name), original in _saved.items():
        setattr(owner, name, original)
    _saved.clear()
