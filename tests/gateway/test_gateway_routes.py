"""The route matcher: templates, specificity, methods and stages, read from moto's backend."""

from __future__ import annotations

import pytest
from moto.apigateway.models import apigateway_backends

from gateway_support import ACCOUNT, REGION, Apis
from workshop.localcloud.gateway.routes import (
    InvokePath,
    RouteMatch,
    RouteMatcher,
    RouteMiss,
    match_template,
    split_invoke_path,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/abc/prod/health", InvokePath("abc", "prod", "/health")),
        ("/abc/prod", InvokePath("abc", "prod", "/")),
        ("/abc/prod/", InvokePath("abc", "prod", "/")),
        ("/abc/prod/product/a%2Fb", InvokePath("abc", "prod", "/product/a%2Fb")),
        ("/abc", None),
        ("/", None),
        ("//prod/health", None),
    ],
)
def test_split_invoke_path(path: str, expected: InvokePath | None) -> None:
    assert split_invoke_path(path) == expected


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/", "/", ((), {})),
        ("/health", "/health", ((2,), {})),
        ("/health", "/health/", ((2,), {})),  # a trailing slash routes like none
        ("/health", "/healthz", None),
        ("/health", "/", None),
        ("/product/{productId}", "/product/p-1", ((2, 1), {"productId": "p-1"})),
        ("/product/{productId}", "/product/a%2Bb%20c", ((2, 1), {"productId": "a%2Bb c"})),
        ("/product/{productId}", "/product", None),
        ("/product/{productId}", "/product/1/2", None),
        ("/{proxy+}", "/a/b/c", ((0,), {"proxy": "a/b/c"})),
        ("/{proxy+}", "/", None),  # a greedy variable needs at least one segment
        ("/files/{path+}", "/files/x/y.txt", ((2, 0), {"path": "x/y.txt"})),
        ("/files/{path+}", "/files", None),
    ],
)
def test_match_template(template: str, path: str, expected: object) -> None:
    assert match_template(template, path) == expected


def test_literal_segment_scores_above_parameter_and_greedy() -> None:
    literal = match_template("/product/special", "/product/special")
    parameter = match_template("/product/{id}", "/product/special")
    greedy = match_template("/{proxy+}", "/product/special")
    assert literal and parameter and greedy
    assert literal[0] > parameter[0] > greedy[0]


@pytest.fixture
def matcher(apis: Apis) -> RouteMatcher:
    return RouteMatcher(lambda: apigateway_backends[ACCOUNT][REGION])


def _hit(result: RouteMatch | RouteMiss) -> RouteMatch:
    assert isinstance(result, RouteMatch), result
    return result


def test_exact_path_and_method(matcher: RouteMatcher, apis: Apis) -> None:
    route = _hit(matcher.match(apis.shop, "prod", "GET", "/health"))
    assert route.resource_path == "/health"
    assert route.resource.id == apis.shop_resources["/health"]
    assert route.method.http_method == "GET"
    assert route.stage.name == "prod"
    assert route.path_parameters == {}


def test_most_specific_resource_wins(matcher: RouteMatcher, apis: Apis) -> None:
    assert _hit(matcher.match(apis.shop, "prod", "GET", "/product/special")).resource_path == "/product/special"
    route = _hit(matcher.match(apis.shop, "prod", "GET", "/product/42"))
    assert (route.resource_path, route.path_parameters) == ("/product/{productId}", {"productId": "42"})


def test_any_method_serves_every_verb(matcher: RouteMatcher, apis: Apis) -> None:
    for verb in ("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"):
        route = _hit(matcher.match(apis.shop, "prod", verb, "/product"))
        assert route.method.http_method == "ANY"


def test_exact_method_beats_any_on_the_same_resource(matcher: RouteMatcher, apis: Apis) -> None:
    assert _hit(matcher.match(apis.shop, "prod", "OPTIONS", "/product")).method.http_method == "OPTIONS"
    assert _hit(matcher.match(apis.shop, "prod", "DELETE", "/files/a")).method.http_method == "DELETE"
    assert _hit(matcher.match(apis.shop, "prod", "GET", "/files/a")).method.http_method == "ANY"


def test_method_missing_on_the_matched_resource_is_a_miss(matcher: RouteMatcher, apis: Apis) -> None:
    assert isinstance(matcher.match(apis.shop, "prod", "POST", "/health"), RouteMiss)
    # No fallback to a less specific resource that would have the method.
    assert isinstance(matcher.match(apis.greedy, "dev", "GET", "/x"), RouteMatch)


def test_greedy_root_api(matcher: RouteMatcher, apis: Apis) -> None:
    root = _hit(matcher.match(apis.greedy, "dev", "GET", "/"))
    assert (root.resource_path, root.path_parameters) == ("/", {})
    deep = _hit(matcher.match(apis.greedy, "dev", "POST", "/a/b/c"))
    assert (deep.resource_path, deep.path_parameters) == ("/{proxy+}", {"proxy": "a/b/c"})


@pytest.mark.parametrize(
    ("api", "stage", "path", "reason"),
    [
        ("nosuchapi", "prod", "/health", "no REST API"),
        ("shop", "dev", "/health", "not deployed to a stage 'dev'"),
        ("undeployed", "prod", "/health", "not deployed"),
        ("shop", "prod", "/nothing/here", "no resource matches"),
        ("shop", "prod", "/product/1/2", "no resource matches"),
    ],
)
def test_misses_say_why(matcher: RouteMatcher, apis: Apis, api: str, stage: str, path: str, reason: str) -> None:
    api_id = getattr(apis, api, api)
    miss = matcher.match(api_id, stage, "GET", path)
    assert isinstance(miss, RouteMiss)
    assert reason in miss.reason


def test_stage_serves_its_deployment_snapshot(matcher: RouteMatcher, new_api) -> None:
    # GIVEN an API deployed to prod with GET /health
    api = new_api("snapshots")
    api.proxy("/health", "GET", "gw-fn")
    first = api.deploy("prod")
    # WHEN a method and a resource are added without redeploying
    api.proxy("/health", "POST", "gw-fn")
    api.proxy("/late", "GET", "gw-fn")
    # THEN prod still serves what was deployed, as on AWS
    assert isinstance(matcher.match(api.api_id, "prod", "POST", "/health"), RouteMiss)
    assert isinstance(matcher.match(api.api_id, "prod", "GET", "/late"), RouteMiss)
    assert _hit(matcher.match(api.api_id, "prod", "GET", "/health")).resource.id == api.ids["/health"]
    # WHEN it is redeployed  THEN the changes are served
    second = api.deploy("prod")
    assert _hit(matcher.match(api.api_id, "prod", "POST", "/health")).method.http_method == "POST"
    assert _hit(matcher.match(api.api_id, "prod", "GET", "/late")).resource_path == "/late"
    # AND pointing the stage back at the first deployment serves the first snapshot again
    api.client.update_stage(
        restApiId=api.api_id, stageName="prod",
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": first}],
    )
    assert first != second
    assert isinstance(matcher.match(api.api_id, "prod", "GET", "/late"), RouteMiss)


def test_snapshot_freezes_integrations_too(matcher: RouteMatcher, new_api) -> None:
    # GIVEN a deployed integration whose URI is changed afterwards
    api = new_api("frozen-integration")
    api.proxy("/health", "GET", "gw-fn")
    api.deploy("prod")
    api.client.put_integration(
        restApiId=api.api_id, resourceId=api.ids["/health"], httpMethod="GET", type="MOCK",
    )
    # THEN the stage keeps the deployed AWS_PROXY integration
    route = _hit(matcher.match(api.api_id, "prod", "GET", "/health"))
    assert route.integration.integration_type == "AWS_PROXY"


def test_deployment_made_without_the_hook_serves_current_resources(matcher: RouteMatcher, new_api) -> None:
    from workshop.localcloud.gateway.deployments import (
        install_deployment_snapshots,
        uninstall_deployment_snapshots,
    )

    api = new_api("no-hook")
    api.proxy("/health", "GET", "gw-fn")
    uninstall_deployment_snapshots()
    try:
        api.deploy("prod")
    finally:
        install_deployment_snapshots()
    api.proxy("/late", "GET", "gw-fn")
    assert _hit(matcher.match(api.api_id, "prod", "GET", "/late")).resource_path == "/late"
