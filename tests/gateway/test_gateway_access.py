"""API keys, usage plans (throttle, quota) and Lambda TOKEN authorizers in the gateway core.

What AWS answers (sources in workshop/localcloud/gateway/access_errors.py): the gateway response
types' default status codes ("Gateway response types for API Gateway"), 403
{"message":"Forbidden"} for a bad API key (localstack's aws-validated api_key_validation.py),
429 "Too Many Requests" / "Limit Exceeded", 401 {"message":"Unauthorized"}, 403
{"Message":"User is not authorized to access this resource[ with an explicit deny]"} with
x-amzn-ErrorType AccessDeniedException, and 500 {"message":null} for an authorizer failure.
The key cases follow localstack's aws.validated
tests/aws/services/apigateway/test_apigateway_api.py::TestUsagePlans::test_api_key_required_for_methods
(403 without the x-api-key header, 200 with an enabled key in a usage plan of the stage, 403 again
once the key is disabled with update_api_key).

Every test builds its own API (``new_api``) and its own keys, so the module's shared moto state
never leaks between tests. The clock is a fake one the tests move forward.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from gateway_support import ACCOUNT, REGION, STAMP, ApiBuilder, FakeInvoker, allow, create_function, lambda_uri, proxy_result

from workshop.localcloud.gateway import ExecuteApiGateway, GatewayRequest, GatewayResponse
from workshop.localcloud.gateway.usage_plans import period_start
from workshop.localcloud.invoke import InvokeResult

AUTH_FN = "gw-authorizer"
NOPERM_AUTH_FN = "gw-authorizer-noperm"
START = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc).timestamp()

FORBIDDEN = (403, {"message": "Forbidden"}, "ForbiddenException")
TOO_MANY = (429, {"message": "Too Many Requests"}, "TooManyRequestsException")
LIMIT_EXCEEDED = (429, {"message": "Limit Exceeded"}, "LimitExceededException")
UNAUTHORIZED = (401, {"message": "Unauthorized"}, "UnauthorizedException")
EXPLICIT_DENY = (
    403, {"Message": "User is not authorized to access this resource with an explicit deny"}, "AccessDeniedException",
)
IMPLICIT_DENY = (403, {"Message": "User is not authorized to access this resource"}, "AccessDeniedException")
AUTHORIZER_ERROR = (500, {"message": None}, "AuthorizerConfigurationException")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def authorizer_answer(event: dict[str, Any]) -> InvokeResult:
    """A TOKEN authorizer scripted by the token: what real authorizer functions return."""
    if event["type"] == "REQUEST":  # allow the clerk named "ok" in the X-Clerk header
        event = {**event, "authorizationToken": "allow" if (event["headers"] or {}).get("X-Clerk") == "ok" else "deny"}
    token = event["authorizationToken"].removeprefix("Bearer ")
    arn = event["methodArn"]
    api_wide = arn.split("/", 1)[0] + "/*"

    def policy(effect: str, resource: Any, **extra: Any) -> InvokeResult:
        answer = {
            "principalId": "user-1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
            },
            **extra,
        }
        return InvokeResult(payload=json.dumps(answer).encode())

    if token.startswith("allow"):
        return policy("Allow", api_wide, context={"role": "clerk", "level": 3, "admin": False})
    if token == "only-this-method":
        return policy("Allow", arn)
    if token == "deny":
        return policy("Deny", api_wide)
    if token == "other-resource":
        return policy("Allow", arn.rsplit("/", 2)[0] + "/GET/elsewhere")
    if token == "with-key":
        return policy("Allow", api_wide, usageIdentifierKey=event.get("__key", "key-from-the-authorizer-0001"))
    if token == "unauthorized":
        return InvokeResult(payload=b'{"errorMessage": "Unauthorized", "errorType": "Exception"}', function_error="Unhandled")
    if token == "boom":
        return InvokeResult(payload=b'{"errorMessage": "boom", "errorType": "KeyError"}', function_error="Unhandled")
    if token == "no-policy":
        return InvokeResult(payload=b'{"principalId": "user-1"}')
    if token == "no-principal":
        answer = json.loads(policy("Allow", api_wide).payload)
        del answer["principalId"]
        return InvokeResult(payload=json.dumps(answer).encode())
    if token == "nested-context":
        return policy("Allow", api_wide, context={"groups": ["a", "b"]})
    if token == "not-json":
        return InvokeResult(payload=b"allow")
    return policy("Deny", api_wide)


@pytest.fixture(scope="module")
def functions(apis) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    create_function(lam, AUTH_FN)
    create_function(lam, NOPERM_AUTH_FN)
    allow(lam, AUTH_FN, "authorizers", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*/authorizers/*")


@pytest.fixture
def invoker() -> FakeInvoker:
    def respond(event: dict[str, Any], arn: str) -> InvokeResult:
        if arn.endswith(AUTH_FN) or arn.endswith(NOPERM_AUTH_FN):
            return authorizer_answer(event)
        return proxy_result(200, json.dumps(event), headers={"Content-Type": "application/json"})

    return FakeInvoker(respond=respond)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(apis, functions, invoker: FakeInvoker, clock: Clock) -> Iterator[ExecuteApiGateway]:
    core = ExecuteApiGateway(invoker, account_id=ACCOUNT, region=REGION, clock=clock, stamp_factory=lambda now: STAMP)
    yield core
    core.close()


@pytest.fixture
def apigw() -> Any:
    return boto3.client("apigateway", region_name=REGION)


@pytest.fixture
def call(gateway: ExecuteApiGateway) -> Callable[..., GatewayResponse]:
    def _call(method: str, target: str, headers: list[tuple[str, str]] | None = None) -> GatewayResponse:
        return gateway.handle(GatewayRequest.from_target(method, target, headers=headers or [], body=b""))

    return _call


def assert_refused(response: GatewayResponse, expected: tuple[int, dict[str, Any], str]) -> None:
    status, body, error_type = expected
    assert (response.status, response.json()) == (status, body)
    assert response.header("x-amzn-ErrorType") == error_type
    assert response.header("Content-Type") == "application/json"


def function_calls(invoker: FakeInvoker, name: str) -> list[dict[str, Any]]:
    return [call for call in invoker.calls if call["arn"].endswith(f":function:{name}")]


def protected_api(new_api, apigw, *, key_required: bool = True, authorizer: dict[str, Any] | None = None,
                  api_key_source: str | None = None) -> tuple[ApiBuilder, str | None]:
    """An API with POST /product/stock (protected as asked) and GET /health (open), deployed to prod."""
    builder = new_api(f"access-{uuid.uuid4().hex[:6]}")
    if api_key_source:
        apigw.update_rest_api(restApiId=builder.api_id, patchOperations=[
            {"op": "replace", "path": "/apiKeySource", "value": api_key_source}])
    authorizer_id = None
    if authorizer is not None:
        settings = {"type": "TOKEN", "identitySource": "method.request.header.Authorization", **authorizer}
        authorizer_id = apigw.create_authorizer(
            restApiId=builder.api_id, name="tokens",
            authorizerUri=lambda_uri(settings.pop("function", AUTH_FN)), **settings,
        )["id"]
    for path, method, protect in (("/product/stock", "POST", True), ("/product", "PATCH", True), ("/health", "GET", False)):
        resource_id = builder.resource(path)
        extra: dict[str, Any] = {"authorizationType": "NONE"}
        if protect and authorizer_id:
            extra = {"authorizationType": "CUSTOM", "authorizerId": authorizer_id}
        apigw.put_method(restApiId=builder.api_id, resourceId=resource_id, httpMethod=method,
                         apiKeyRequired=protect and key_required, **extra)
        apigw.put_integration(restApiId=builder.api_id, resourceId=resource_id, httpMethod=method,
                              type="AWS_PROXY", integrationHttpMethod="POST", uri=lambda_uri("gw-fn"))
    builder.deploy("prod")
    builder.deploy("test")
    return builder, authorizer_id


def new_key(apigw, *, enabled: bool = True, plan: str | None = None) -> tuple[str, str]:
    value = f"key-{uuid.uuid4().hex}"
    key_id = apigw.create_api_key(name=value[:20], enabled=enabled, value=value)["id"]
    if plan:
        apigw.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
    return key_id, value


def new_plan(apigw, api_id: str, stage: str = "prod", **limits: Any) -> str:
    return apigw.create_usage_plan(name=f"plan-{uuid.uuid4().hex[:6]}",
                                   apiStages=[{"apiId": api_id, "stage": stage}], **limits)["id"]


# --- API keys ------------------------------------------------------------------------------------


def test_a_key_required_method_refuses_a_request_without_key(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw)
    new_plan(apigw, api.api_id)
    assert_refused(call("POST", f"/{api.api_id}/prod/product/stock"), FORBIDDEN)
    assert invoker.calls == []


@pytest.mark.parametrize("case", ["unknown", "disabled", "in-no-plan", "plan-of-other-stage", "plan-of-other-api", "empty"])
def test_a_key_that_cannot_be_used_here_is_403_forbidden(new_api, apigw, call, invoker, case):
    # GIVEN an API whose write method needs a key, and a key that is not valid for its prod stage
    api, _ = protected_api(new_api, apigw)
    plan = new_plan(apigw, api.api_id)
    other_api, _ = protected_api(new_api, apigw)
    value = {
        "unknown": lambda: "no-such-key-value-000000000000",
        "disabled": lambda: new_key(apigw, enabled=False, plan=plan)[1],
        "in-no-plan": lambda: new_key(apigw)[1],
        "plan-of-other-stage": lambda: new_key(apigw, plan=new_plan(apigw, api.api_id, stage="test"))[1],
        "plan-of-other-api": lambda: new_key(apigw, plan=new_plan(apigw, other_api.api_id))[1],
        "empty": lambda: "",
    }[case]()
    # WHEN it is sent
    response = call("POST", f"/{api.api_id}/prod/product/stock", [("x-api-key", value)])
    # THEN 403 Forbidden and the function never runs
    assert_refused(response, FORBIDDEN)
    assert invoker.calls == []


@pytest.mark.parametrize("header", ["x-api-key", "X-API-Key", "X-Api-Key"])
def test_a_valid_key_passes_and_the_event_names_it(new_api, apigw, call, invoker, header):
    api, _ = protected_api(new_api, apigw)
    key_id, value = new_key(apigw, plan=new_plan(apigw, api.api_id))
    response = call("POST", f"/{api.api_id}/prod/product/stock", [(header, value)])
    assert response.status == 200
    identity = invoker.last_event["requestContext"]["identity"]
    assert (identity["apiKey"], identity["apiKeyId"]) == (value, key_id)


def test_a_key_disabled_later_is_refused_on_the_next_request(new_api, apigw, call):
    api, _ = protected_api(new_api, apigw)
    key_id, value = new_key(apigw, plan=new_plan(apigw, api.api_id))
    target = f"/{api.api_id}/prod/product/stock"
    assert call("POST", target, [("x-api-key", value)]).status == 200
    apigw.update_api_key(apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    assert_refused(call("POST", target, [("x-api-key", value)]), FORBIDDEN)


def test_a_method_without_key_requirement_ignores_keys(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw)
    assert call("GET", f"/{api.api_id}/prod/health").status == 200
    assert call("GET", f"/{api.api_id}/prod/health", [("x-api-key", "junk")]).status == 200
    assert "apiKey" not in invoker.last_event["requestContext"]["identity"] or \
        invoker.last_event["requestContext"]["identity"].get("apiKey") is None


def test_unknown_routes_stay_missing_authentication_token_before_any_key_check(new_api, apigw, call):
    api, _ = protected_api(new_api, apigw)
    response = call("POST", f"/{api.api_id}/prod/nothing-here")
    assert (response.status, response.json()["message"]) == (403, "Missing Authentication Token")


# --- usage plan throttle -------------------------------------------------------------------------


def test_burst_then_rate_token_bucket(new_api, apigw, call, clock, invoker):
    # GIVEN a plan of 1 request per second with a burst of 3
    api, _ = protected_api(new_api, apigw)
    _, value = new_key(apigw, plan=new_plan(apigw, api.api_id, throttle={"rateLimit": 1.0, "burstLimit": 3}))
    target, headers = f"/{api.api_id}/prod/product/stock", [("x-api-key", value)]
    # WHEN 4 requests arrive at once: the burst passes, the 4th is throttled
    statuses = [call("POST", target, headers).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert_refused(call("POST", target, headers), TOO_MANY)
    assert len(invoker.calls) == 3
    # THEN half a second later there is still no token; a full second later there is one
    clock.now += 0.5
    assert call("POST", target, headers).status == 429
    clock.now += 0.5
    assert call("POST", target, headers).status == 200
    assert call("POST", target, headers).status == 429
    # and after a long pause the bucket holds the burst again, never more
    clock.now += 3600
    assert [call("POST", target, headers).status for _ in range(4)] == [200, 200, 200, 429]


def test_throttle_is_per_key(new_api, apigw, call):
    api, _ = protected_api(new_api, apigw)
    plan = new_plan(apigw, api.api_id, throttle={"rateLimit": 1.0, "burstLimit": 1})
    _, first = new_key(apigw, plan=plan)
    _, second = new_key(apigw, plan=plan)
    target = f"/{api.api_id}/prod/product/stock"
    assert call("POST", target, [("x-api-key", first)]).status == 200
    assert call("POST", target, [("x-api-key", first)]).status == 429
    assert call("POST", target, [("x-api-key", second)]).status == 200


def test_throttle_and_quota_are_shared_by_the_methods_and_stages_of_a_plan(new_api, apigw, call):
    # "aggregated across all API stages within a usage plan"
    api, _ = protected_api(new_api, apigw)
    plan = apigw.create_usage_plan(
        name="two-stages", apiStages=[{"apiId": api.api_id, "stage": "prod"}, {"apiId": api.api_id, "stage": "test"}],
        quota={"limit": 2, "period": "DAY"},
    )["id"]
    _, value = new_key(apigw, plan=plan)
    headers = [("x-api-key", value)]
    assert call("POST", f"/{api.api_id}/prod/product/stock", headers).status == 200
    assert call("PATCH", f"/{api.api_id}/test/product", headers).status == 200
    assert_refused(call("POST", f"/{api.api_id}/test/product/stock", headers), LIMIT_EXCEEDED)


def test_method_level_throttle_of_a_stage(new_api, apigw, call):
    api, _ = protected_api(new_api, apigw)
    plan = apigw.create_usage_plan(
        name="method-throttle",
        apiStages=[{"apiId": api.api_id, "stage": "prod",
                    "throttle": {"/product/stock/POST": {"rateLimit": 1.0, "burstLimit": 1}}}],
    )["id"]
    _, value = new_key(apigw, plan=plan)
    headers = [("x-api-key", value)]
    assert call("POST", f"/{api.api_id}/prod/product/stock", headers).status == 200
    assert call("POST", f"/{api.api_id}/prod/product/stock", headers).status == 429
    assert call("PATCH", f"/{api.api_id}/prod/product", headers).status == 200  # another method


# --- usage plan quota ----------------------------------------------------------------------------


def test_quota_per_day_then_a_new_day(new_api, apigw, call, clock, invoker):
    api, _ = protected_api(new_api, apigw)
    _, value = new_key(apigw, plan=new_plan(apigw, api.api_id, quota={"limit": 3, "period": "DAY"}))
    target, headers = f"/{api.api_id}/prod/product/stock", [("x-api-key", value)]
    assert [call("POST", target, headers).status for _ in range(3)] == [200, 200, 200]
    assert_refused(call("POST", target, headers), LIMIT_EXCEEDED)
    assert len(invoker.calls) == 3
    clock.now += 11 * 3600  # 23:00 the same day (UTC)
    assert call("POST", target, headers).status == 429
    clock.now += 3600  # midnight UTC: a new period
    assert call("POST", target, headers).status == 200


def test_quota_offset_is_taken_from_the_first_period_only(new_api, apigw, call, clock):
    api, _ = protected_api(new_api, apigw)
    _, value = new_key(apigw, plan=new_plan(apigw, api.api_id, quota={"limit": 3, "offset": 2, "period": "DAY"}))
    target, headers = f"/{api.api_id}/prod/product/stock", [("x-api-key", value)]
    assert [call("POST", target, headers).status for _ in range(2)] == [200, 429]
    clock.now += 86400
    assert [call("POST", target, headers).status for _ in range(4)] == [200, 200, 200, 429]


def test_throttled_requests_do_not_use_up_the_quota(new_api, apigw, call, clock):
    api, _ = protected_api(new_api, apigw)
    plan = new_plan(apigw, api.api_id, throttle={"rateLimit": 1.0, "burstLimit": 1}, quota={"limit": 2, "period": "MONTH"})
    _, value = new_key(apigw, plan=plan)
    target, headers = f"/{api.api_id}/prod/product/stock", [("x-api-key", value)]
    assert [call("POST", target, headers).status for _ in range(5)] == [200, 429, 429, 429, 429]
    clock.now += 1
    assert call("POST", target, headers).status == 200
    clock.now += 1
    assert_refused(call("POST", target, headers), LIMIT_EXCEEDED)


@pytest.mark.parametrize(
    ("moment", "period", "start"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc), "DAY", datetime(2026, 11, 30, tzinfo=timezone.utc)),
        (datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc), "WEEK", datetime(2026, 11, 30, tzinfo=timezone.utc)),
        (datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc), "WEEK", datetime(2026, 11, 30, tzinfo=timezone.utc)),
        (datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc), "WEEK", datetime(2026, 11, 23, tzinfo=timezone.utc)),
        (datetime(2026, 2, 28, 8, 0, tzinfo=timezone.utc), "MONTH", datetime(2026, 2, 1, tzinfo=timezone.utc)),
    ],
)
def test_quota_periods_start_in_utc(moment, period, start):
    assert period_start(moment, period) == start


# --- Lambda TOKEN authorizer ---------------------------------------------------------------------


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def test_no_token_is_401_without_calling_the_authorizer(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={})
    assert_refused(call("POST", f"/{api.api_id}/prod/product/stock"), UNAUTHORIZED)
    assert_refused(call("POST", f"/{api.api_id}/prod/product/stock", [("Authorization", "")]), UNAUTHORIZED)
    assert invoker.calls == []


def test_a_token_not_matching_the_validation_expression_is_401_without_a_call(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, key_required=False,
                           authorizer={"identityValidationExpression": "Bearer [A-Za-z0-9._-]+"})
    for header in ("allow", "Basic allow", "Bearer allow trailing", "xBearer allow"):
        assert_refused(call("POST", f"/{api.api_id}/prod/product/stock", [("Authorization", header)]), UNAUTHORIZED)
    assert invoker.calls == []
    assert call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow")).status == 200


def test_allow_passes_with_principal_and_context_in_the_event(new_api, apigw, call, invoker):
    # GIVEN a method guarded by a TOKEN authorizer that allows this token with a context
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={})
    # WHEN it is called with the token
    response = call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow-1"))
    # THEN the authorizer got the TOKEN event, and the function the principal and context (as strings)
    assert response.status == 200
    (auth_call,) = function_calls(invoker, AUTH_FN)
    assert auth_call["event"] == {
        "type": "TOKEN",
        "authorizationToken": "Bearer allow-1",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}/prod/POST/product/stock",
    }
    authorizer = invoker.last_event["requestContext"]["authorizer"]
    assert isinstance(authorizer.pop("integrationLatency"), int)
    assert authorizer == {"principalId": "user-1", "role": "clerk", "level": "3", "admin": "false"}


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("deny", EXPLICIT_DENY),
        ("other-resource", IMPLICIT_DENY),
        ("unauthorized", UNAUTHORIZED),
        ("boom", AUTHORIZER_ERROR),
        ("no-policy", AUTHORIZER_ERROR),
        ("no-principal", AUTHORIZER_ERROR),
        ("nested-context", AUTHORIZER_ERROR),
        ("not-json", AUTHORIZER_ERROR),
    ],
)
def test_what_the_authorizer_says_is_enforced(new_api, apigw, call, invoker, token, expected):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={})
    assert_refused(call("POST", f"/{api.api_id}/prod/product/stock", bearer(token)), expected)
    assert function_calls(invoker, "gw-fn") == []


def test_an_authorizer_api_gateway_may_not_invoke_is_500_and_not_run(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={"function": NOPERM_AUTH_FN})
    assert_refused(call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow")), AUTHORIZER_ERROR)
    assert invoker.calls == []


def test_an_authorizer_whose_function_is_missing_is_500(new_api, apigw, call):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={"function": "gw-no-such-authorizer"})
    assert_refused(call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow")), AUTHORIZER_ERROR)


def test_results_are_cached_per_token_for_the_ttl(new_api, apigw, call, invoker, clock):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={"authorizerResultTtlInSeconds": 60})
    target = f"/{api.api_id}/prod/product/stock"
    assert [call("POST", target, bearer("allow-a")).status for _ in range(3)] == [200, 200, 200]
    assert len(function_calls(invoker, AUTH_FN)) == 1
    assert call("POST", target, bearer("allow-b")).status == 200  # another token: another call
    assert len(function_calls(invoker, AUTH_FN)) == 2
    clock.now += 59
    call("POST", target, bearer("allow-a"))
    assert len(function_calls(invoker, AUTH_FN)) == 2
    clock.now += 1  # the TTL has passed
    call("POST", target, bearer("allow-a"))
    assert len(function_calls(invoker, AUTH_FN)) == 3


def test_a_ttl_of_zero_calls_the_authorizer_every_time(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={"authorizerResultTtlInSeconds": 0})
    for _ in range(3):
        call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow"))
    assert len(function_calls(invoker, AUTH_FN)) == 3


def test_a_cached_policy_for_one_method_refuses_the_next_method(new_api, apigw, call, invoker):
    # The classic surprise: the policy names only the method first called, and is cached per token.
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={})
    assert call("POST", f"/{api.api_id}/prod/product/stock", bearer("only-this-method")).status == 200
    assert_refused(call("PATCH", f"/{api.api_id}/prod/product", bearer("only-this-method")), IMPLICIT_DENY)
    assert len(function_calls(invoker, AUTH_FN)) == 1


def test_a_new_deployment_empties_the_cache(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={})
    call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow"))
    api.deploy("prod")
    call("POST", f"/{api.api_id}/prod/product/stock", bearer("allow"))
    assert len(function_calls(invoker, AUTH_FN)) == 2


def test_the_authorizer_runs_before_the_key_check(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, authorizer={})
    _, value = new_key(apigw, plan=new_plan(apigw, api.api_id))
    target = f"/{api.api_id}/prod/product/stock"
    assert_refused(call("POST", target), UNAUTHORIZED)
    assert_refused(call("POST", target, bearer("allow")), FORBIDDEN)
    assert_refused(call("POST", target, [("x-api-key", value), *bearer("deny")]), EXPLICIT_DENY)
    response = call("POST", target, [("x-api-key", value), *bearer("allow")])
    assert response.status == 200
    context = invoker.last_event["requestContext"]
    assert context["identity"]["apiKey"] == value and context["authorizer"]["principalId"] == "user-1"


def test_key_source_authorizer_takes_the_key_from_the_authorizer(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, authorizer={}, api_key_source="AUTHORIZER")
    plan = new_plan(apigw, api.api_id)
    key_id = apigw.create_api_key(name="from-authorizer", enabled=True, value="key-from-the-authorizer-0001")["id"]
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
    target = f"/{api.api_id}/prod/product/stock"
    assert call("POST", target, bearer("with-key")).status == 200
    # a header key is ignored with this source; an authorizer without usageIdentifierKey fails the check
    assert_refused(call("POST", target, [("x-api-key", "key-from-the-authorizer-0001"), *bearer("allow")]), FORBIDDEN)


def test_open_methods_never_run_the_authorizer(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, authorizer={})
    assert call("GET", f"/{api.api_id}/prod/health").status == 200
    assert function_calls(invoker, AUTH_FN) == []


# --- gateway responses ---------------------------------------------------------------------------


def test_gateway_responses_add_cors_headers_so_browsers_can_read_refusals(new_api, apigw, call):
    # GIVEN the DEFAULT_4XX gateway response with an Access-Control-Allow-Origin header, as the
    # console's "Enable CORS" sets it, and a THROTTLED response with its own status
    api, _ = protected_api(new_api, apigw, authorizer={})
    apigw.put_gateway_response(restApiId=api.api_id, responseType="DEFAULT_4XX", responseParameters={
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
    target = f"/{api.api_id}/prod/product/stock"
    # WHEN refused without a token, or without a key
    for response, expected in ((call("POST", target), UNAUTHORIZED),
                               (call("POST", target, bearer("allow")), FORBIDDEN)):
        # THEN the default body and status, plus the configured header
        assert (response.status, response.json()) == expected[:2]
        assert response.header("Access-Control-Allow-Origin") == "*"
    # and a 5XX refusal is not changed by DEFAULT_4XX
    failing = call("POST", target, [("x-api-key", "x" * 30), *bearer("boom")])
    assert failing.status == 500 and failing.header("Access-Control-Allow-Origin") is None


def test_a_gateway_response_for_the_exact_type_wins_and_may_change_the_status(new_api, apigw, call):
    api, _ = protected_api(new_api, apigw)
    apigw.put_gateway_response(restApiId=api.api_id, responseType="DEFAULT_4XX", responseParameters={
        "gatewayresponse.header.X-Default": "'4xx'"})
    apigw.put_gateway_response(restApiId=api.api_id, responseType="INVALID_API_KEY", statusCode="401",
                               responseParameters={"gatewayresponse.header.X-Key": "'missing'"})
    response = call("POST", f"/{api.api_id}/prod/product/stock")
    assert (response.status, response.json()) == (401, {"message": "Forbidden"})
    assert response.header("X-Key") == "missing" and response.header("X-Default") is None


# --- REQUEST authorizers -------------------------------------------------------------------------


def test_a_request_authorizer_needs_every_identity_source_and_gets_the_request(new_api, apigw, call, invoker):
    api, _ = protected_api(new_api, apigw, key_required=False, authorizer={
        "type": "REQUEST", "identitySource": "method.request.header.X-Clerk, method.request.querystring.store",
        "authorizerResultTtlInSeconds": 0})
    target = f"/{api.api_id}/prod/product/stock"
    # a missing source is 401 without a call
    assert_refused(call("POST", target, [("X-Clerk", "ok")]), UNAUTHORIZED)
    assert_refused(call("POST", target + "?store=7"), UNAUTHORIZED)
    assert function_calls(invoker, AUTH_FN) == []
    # with both, the authorizer decides, and receives the request (no body) plus type and methodArn
    assert_refused(call("POST", target + "?store=7", [("X-Clerk", "no")]), EXPLICIT_DENY)
    assert call("POST", target + "?store=7", [("X-Clerk", "ok")]).status == 200
    event = function_calls(invoker, AUTH_FN)[-1]["event"]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}/prod/POST/product/stock"
    assert event["queryStringParameters"] == {"store": "7"} and event["headers"]["X-Clerk"] == "ok"
    assert "body" not in event and event["httpMethod"] == "POST"


# --- gateway responses on an unknown route -------------------------------------------------------


def test_default_4xx_also_shapes_missing_authentication_token(new_api, apigw, call):
    # "Gateway response types": MISSING_AUTHENTICATION_TOKEN (403, an unsupported method or
    # resource) defaults to DEFAULT_4XX, so after lab 08 a browser can read a mistyped path too.
    # GIVEN the DEFAULT_4XX response lab 08 adds
    api, _ = protected_api(new_api, apigw)
    apigw.put_gateway_response(restApiId=api.api_id, responseType="DEFAULT_4XX", responseParameters={
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
    # WHEN a path or a method the API does not have is called
    for method, path in (("GET", "nothing-here"), ("PUT", "product/stock")):
        response = call(method, f"/{api.api_id}/prod/{path}")
        # THEN the default answer, plus the configured header
        assert (response.status, response.json()) == (403, {"message": "Missing Authentication Token"})
        assert response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        assert response.header("Access-Control-Allow-Origin") == "*"
    # AND a response for the exact type wins, its status included
    apigw.put_gateway_response(restApiId=api.api_id, responseType="MISSING_AUTHENTICATION_TOKEN",
                               statusCode="404", responseParameters={"gatewayresponse.header.X-Missing": "'yes'"})
    response = call("GET", f"/{api.api_id}/prod/nothing-here")
    assert (response.status, response.header("X-Missing")) == (404, "yes")
    assert response.header("Access-Control-Allow-Origin") is None
    # AND an unknown API has no gateway responses to apply
    unknown = call("GET", "/nosuchapi0/prod/nothing-here")
    assert unknown.status == 403 and unknown.header("Access-Control-Allow-Origin") is None
