"""Route matching: which API, stage, resource and method a request reaches.

The routes are whatever the learner created with boto3, read straight from moto's API Gateway
backend (moto 5.2: ``RestAPI.resources`` -> ``Resource.resource_methods`` -> ``Method``), so a
change made through the API is served on the next request.

On AWS a REST API serves requests only through a stage, and a stage serves the resources frozen by
its deployment. moto does not snapshot resources per deployment; :mod:`.deployments` adds that
(the gateway installs it), so a method created after the last deployment answers 403 here too.
For a deployment made before the hook was installed, the API's current resources are served once
the requested stage exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from workshop.localcloud.gateway.deployments import deployed_resources

#: Score of one path segment; a higher tuple of scores is a more specific resource.
_LITERAL, _PARAMETER, _GREEDY = 2, 1, 0

ANY_METHOD = "ANY"


@dataclass(frozen=True)
class InvokePath:
    """The parts of the local URL ``/{api_id}/{stage}/{resource path...}``."""

    api_id: str
    stage: str
    resource_path: str  # raw (percent-encoded), always starts with "/"; "/" for the stage root


def split_invoke_path(path: str) -> InvokePath | None:
    """Split a local execute-api path; None when it names no API and stage.

    ``/abc/prod`` and ``/abc/prod/`` both reach the root resource, as
    ``https://abc.execute-api.../prod`` and ``.../prod/`` do on AWS. Slashes right after the
    stage collapse (``/prod//a`` is ``/a``); the rest of the path is kept as sent.
    """
    parts = (path[1:] if path.startswith("/") else path).split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    rest = parts[2] if len(parts) == 3 else ""
    return InvokePath(api_id=parts[0], stage=unquote(parts[1]), resource_path="/" + rest.lstrip("/"))


@dataclass(frozen=True)
class RouteMatch:
    """A request matched to a deployed resource and method."""

    rest_api: Any  # moto.apigateway.models.RestAPI
    stage: Any  # moto.apigateway.models.Stage
    resource: Any  # moto's Resource, or its DeployedResource snapshot
    method: Any  # moto's Method (a copy, when served from a deployment snapshot)
    resource_path: str  # the resource's template, e.g. "/product/{productId}"
    path_parameters: dict[str, str]

    @property
    def integration(self) -> Any:  # moto.apigateway.models.Integration | None
        return self.method.method_integration


@dataclass(frozen=True)
class RouteMiss:
    """Why nothing matched; every reason answers 403 Missing Authentication Token on AWS."""

    reason: str
    #: The API deployed to the stage when only its resource or method is missing: its gateway
    #: responses (MISSING_AUTHENTICATION_TOKEN, else DEFAULT_4XX) shape the answer.
    rest_api: Any = None


def segments_of(path: str) -> list[str]:
    """Path segments, ignoring empty ones: ``/product/`` routes like ``/product``.

    API Gateway REST APIs ignore a trailing slash and repeated slashes when matching resources.
    """
    return [segment for segment in path.split("/") if segment]


def match_template(template: str, raw_path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match a resource path template against a raw request path.

    Returns (specificity score, decoded path parameters), or None. Literal segments beat
    ``{param}`` segments, which beat a greedy ``{name+}``: API Gateway picks the most specific
    resource, so ``/product/{id}`` wins over ``/{proxy+}`` for ``/product/7``. A greedy variable
    needs at least one segment: ``/{proxy+}`` does not match the root ``/``; inside it a double
    slash is kept (``a//b``). Path parameter values arrive percent-decoded except ``%2B``, which
    stays encoded so the function can tell it from a ``+`` (API Gateway REST APIs; localstack
    tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json).
    """
    pattern = segments_of(template)
    segments = segments_of(raw_path)
    score: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("+}"):
            rest = _raw_rest(raw_path, index)
            if not rest or index != len(pattern) - 1:
                return None
            parameters[part[1:-2]] = decode_path_parameter(rest)
            score.append(_GREEDY)
            return tuple(score), parameters
        if index >= len(segments):
            return None
        segment = segments[index]
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = decode_path_parameter(segment)
            score.append(_PARAMETER)
        elif unquote(segment) == part:
            score.append(_LITERAL)
        else:
            return None
    if len(pattern) != len(segments):
        return None
    return tuple(score), parameters


def decode_path_parameter(raw: str) -> str:
    """Percent-decode a path parameter as API Gateway does: everything but ``%2B``."""
    return "%2B".join(unquote(piece) for piece in re.split("%2[Bb]", raw))


def _raw_rest(raw_path: str, skip: int) -> str:
    """The raw path after its first ``skip`` non-empty segments, inner empty segments kept
    (``/a//b`` after 0 segments is ``a//b``); trailing slashes dropped."""
    rest = raw_path.lstrip("/")
    for _ in range(skip):
        _, _, rest = rest.partition("/")
        rest = rest.lstrip("/")
    return rest.rstrip("/")


class RouteMatcher:
    """Finds the resource and method a request reaches, reading moto's API Gateway backend."""

    def __init__(self, backend_for: Callable[[], Any]) -> None:
        """``backend_for()`` returns the moto ``APIGatewayBackend`` for the gateway's account and
        region (looked up per request so a reset moto is followed)."""
        self._backend_for = backend_for

    def match(self, api_id: str, stage_name: str, http_method: str, raw_path: str) -> RouteMatch | RouteMiss:
        backend = self._backend_for()
        rest_api = backend.apis.get(api_id)
        if rest_api is None:
            return RouteMiss(f"no REST API with id {api_id!r}")
        stage = rest_api.stages.get(stage_name)
        if stage is None:
            # AWS serves an API only through a stage created by a deployment.
            return RouteMiss(f"REST API {api_id!r} is not deployed to a stage {stage_name!r}")

        candidates: list[tuple[tuple[int, ...], Any, str, dict[str, str]]] = []
        for resource in deployed_resources(rest_api, stage.deployment_id):
            template = resource.get_path()
            matched = match_template(template, raw_path)
            if matched is not None:
                candidates.append((matched[0], resource, template, matched[1]))
        if not candidates:
            return RouteMiss(f"no resource matches {raw_path!r}", rest_api)

        # The most specific resource is chosen first, then its method (the exact verb wins over
        # ANY). When it lacks the method, a greedy resource that matches the path and has it
        # serves the request instead, as API Gateway does (/{proxy+} with ANY answers a POST to
        # a /product that only has GET).
        candidates.sort(key=lambda candidate: candidate[0], reverse=True)
        _, resource, template, parameters = candidates[0]
        method = _method_of(resource, http_method)
        if method is None:
            for _, other, other_template, other_parameters in candidates[1:]:
                if not other_template.rstrip("/").endswith("+}"):
                    continue
                method = _method_of(other, http_method)
                if method is not None:
                    resource, template, parameters = other, other_template, other_parameters
                    break
        if method is None:
            return RouteMiss(f"resource {template!r} has no {http_method.upper()} or ANY method", rest_api)
        return RouteMatch(
            rest_api=rest_api,
            stage=stage,
            resource=resource,
            method=method,
            resource_path=template,
            path_parameters=parameters,
        )


def _method_of(resource: Any, http_method: str) -> Any:
    methods = resource.resource_methods
    return methods.get(http_method.upper()) or methods.get(ANY_METHOD)
