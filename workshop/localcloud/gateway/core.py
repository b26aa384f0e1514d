"""The gateway core: one request in, one response out, with no HTTP server code.

Pipeline (each step a small class, as in chalice's ``local.py``):

    split_invoke_path -> RouteMatcher -> integration:
        AWS_PROXY: function ARN from the integration URI -> permission check
                   -> ProxyEventBuilder -> FunctionInvoker -> parse_proxy_response
        MOCK:      MockIntegrationResponder

It reads the routes and Lambda permissions from moto's in-process backends (moto 5.2), so it must
run in the process that hosts moto's server.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workshop.localcloud import realism
from workshop.localcloud.gateway.access import PASS, AccessControl, AccessDecision
from workshop.localcloud.gateway.access_errors import AccessError, customized
from workshop.localcloud.gateway.deployments import install_deployment_snapshots
from workshop.localcloud.gateway.events import ProxyEventBuilder, RequestStamp, media_type_matches
from workshop.localcloud.gateway.messages import GatewayRequest, GatewayResponse, Headers
from workshop.localcloud.gateway.mock import MockIntegrationError, MockIntegrationResponder
from workshop.localcloud.gateway.permissions import InvokeSource, allows_invoke, execute_api_arns
from workshop.localcloud.gateway.responses import (
    BAD_GATEWAY,
    DEFAULT_INTEGRATION_TIMEOUT_MS,
    ENDPOINT_TIMED_OUT,
    INTERNAL_SERVER_ERROR,
    MAX_LAMBDA_REQUEST_BYTES,
    MAX_LAMBDA_RESPONSE_BYTES,
    MAX_REQUEST_BODY_BYTES,
    MISSING_AUTHENTICATION_TOKEN,
    REQUEST_TOO_LARGE,
    GatewayError,
    MalformedProxyResponse,
    parse_proxy_response,
)
from workshop.localcloud.gateway.routes import RouteMatch, RouteMatcher, split_invoke_path
from workshop.localcloud.invoke import FunctionNotFoundError

if TYPE_CHECKING:
    from workshop.localcloud.invoke import FunctionInvoker, InvokeResult

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

log = logging.getLogger("workshop.localcloud.gateway")
#: MISSING_AUTHENTICATION_TOKEN as a gateway response type, for an API's put_gateway_response.
MISSING_TOKEN_RESPONSE = AccessError(
    MISSING_AUTHENTICATION_TOKEN.status,
    {"message": MISSING_AUTHENTICATION_TOKEN.message},
    MISSING_AUTHENTICATION_TOKEN.error_type or "",
    "MISSING_AUTHENTICATION_TOKEN",
)

# arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations
_LAMBDA_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:(?P<region>[^:]+):lambda:path/2015-03-31/functions/"
    r"(?P<function>.+)/invocations$"
)
# arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]
_FUNCTION_ARN = re.compile(
    r"^arn:aws[\w-]*:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:[^:]+(:[^:]+)?$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def _trace_id(request: GatewayRequest, stamp: RequestStamp) -> str:
    """``X-Amzn-Trace-Id`` of a proxy response: the caller's, when it sent one, else the one
    API Gateway started for the request (the same the function saw in its event)."""
    return request.header("X-Amzn-Trace-Id") or stamp.trace_id


class IntegrationConfigError(RuntimeError):
    """The integration cannot be called as configured; API Gateway answers 500."""


@dataclass(frozen=True)
class FunctionTarget:
    arn: str
    region: str
    account_id: str


def function_target(uri: str | None, stage_variables: dict[str, str]) -> FunctionTarget:
    """The Lambda function an AWS_PROXY integration URI points at.

    ``${stageVariables.name}`` placeholders are replaced by the stage's variables, as API Gateway
    does (a common way to point stages at different aliases).
    """
    matched = _LAMBDA_URI.match(uri or "")
    if not matched:
        raise IntegrationConfigError(
            f"integration URI {uri!r} is not a Lambda invocation URI "
            "(arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations)"
        )

    def substitute(variable: re.Match[str]) -> str:
        name = variable.group(1)
        if name not in stage_variables:
            raise IntegrationConfigError(f"stage variable {name!r} used in {uri!r} is not set")
        return str(stage_variables[name])

    arn = _STAGE_VARIABLE.sub(substitute, matched.group("function"))
    function = _FUNCTION_ARN.match(arn)
    if not function:
        raise IntegrationConfigError(f"{arn!r} in the integration URI is not a Lambda function ARN")
    return FunctionTarget(arn=arn, region=function.group("region"), account_id=function.group("account"))


def integration_timeout_ms(integration: Any) -> int:
    """The integration's ``timeoutInMillis`` (50 ms to 29 s on AWS; 29 s when unset)."""
    value = getattr(integration, "timeout_in_millis", None)
    try:
        timeout = int(value) if value not in (None, "") else DEFAULT_INTEGRATION_TIMEOUT_MS
    except (TypeError, ValueError):
        timeout = DEFAULT_INTEGRATION_TIMEOUT_MS
    return max(timeout, 1)


def _moto_apigateway_backend(account_id: str, region: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region]


def _moto_lambda_function(target: FunctionTarget) -> Any | None:
    """The moto ``LambdaFunction`` for ``target`` (with its qualifier), or None."""
    from moto.awslambda.models import lambda_backends

    try:
        return lambda_backends[target.account_id][target.region].get_function(target.arn)
    except Exception:  # noqa: BLE001 - moto raises its own "not found" exception types
        return None


class ExecuteApiGateway:
    """API Gateway's execute-api endpoint for the REST APIs stored in moto.

    ``handle(GatewayRequest) -> GatewayResponse`` never raises: every failure becomes the answer
    API Gateway gives, and the cause is logged on the ``workshop.localcloud.gateway`` logger (what
    API Gateway's execution log would say).
    """

    def __init__(
        self,
        invoker: FunctionInvoker,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        clock: Callable[[], float] = time.time,
        stamp_factory: Callable[[float], RequestStamp] = RequestStamp.new,
        max_concurrent_slow_invokes: int = 32,
        snapshot_deployments: bool = True,
    ) -> None:
        """``snapshot_deployments`` installs :func:`install_deployment_snapshots` (process-wide),
        so stages serve what was deployed, as on AWS."""
        if snapshot_deployments:
            install_deployment_snapshots()
        self.invoker = invoker
        self.account_id = account_id
        self.region = region
        self._clock = clock
        self._stamp_factory = stamp_factory
        self.matcher = RouteMatcher(lambda: _moto_apigateway_backend(self.account_id, self.region))
        self.event_builder = ProxyEventBuilder()
        self.mock_responder = MockIntegrationResponder()
        # Lambda authorizers, API keys and usage plans (lab 08), checked before the integration.
        self.access = AccessControl(
            invoker, lambda: _moto_apigateway_backend(self.account_id, self.region),
            account_id=account_id, region=region, clock=clock,
        )
        self._max_slow = max_concurrent_slow_invokes
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    # -- the pipeline -------------------------------------------------------------------------

    def handle(self, request: GatewayRequest) -> GatewayResponse:
        stamp = self._stamp_factory(self._clock())
        try:
            status, headers, body = self._dispatch(request, stamp)
        except Exception:  # a bug here must not take the server down
            log.exception("gateway failed on %s %s", request.method, request.path)
            status, headers, body = self._error(INTERNAL_SERVER_ERROR)
        headers = headers + [
            ("x-amzn-RequestId", stamp.request_id),
            ("x-amz-apigw-id", stamp.extended_request_id),
        ]
        return GatewayResponse(status=status, headers=headers, body=body)

    def _dispatch(self, request: GatewayRequest, stamp: RequestStamp) -> tuple[int, Headers, bytes]:
        if len(request.body) > MAX_REQUEST_BODY_BYTES:
            log.warning("%s %s: request body over 10 MB -> 413", request.method, request.path)
            return self._error(REQUEST_TOO_LARGE)

        where = split_invoke_path(request.path)
        if where is None:
            log.info("%s %s: no API id and stage in the path -> 403", request.method, request.path)
            return self._error(MISSING_AUTHENTICATION_TOKEN)
        route = self.matcher.match(where.api_id, where.stage, request.method, where.resource_path)
        if not isinstance(route, RouteMatch):
            log.info("%s %s: %s -> 403", request.method, request.path, route.reason)
            if route.rest_api is not None:
                # "Gateway response types": MISSING_AUTHENTICATION_TOKEN defaults to DEFAULT_4XX.
                return self._error(customized(MISSING_TOKEN_RESPONSE, route.rest_api))  # type: ignore[arg-type]
            return self._error(MISSING_AUTHENTICATION_TOKEN)

        decision = self.access.check(
            request, route, where.resource_path,
            lambda: self.event_builder.build(
                request, route, stamp, account_id=self.account_id, stage_path=where.resource_path
            ),
        )
        if decision.error is not None:
            return self._error(decision.error)  # type: ignore[arg-type]

        integration = route.integration
        if integration is None:
            # "Execution failed due to configuration error: No integration defined for method"
            return self._config_error(request, "no integration is defined for this method")
        kind = str(integration.integration_type or "").upper()
        if kind == "MOCK":
            return self._mock(request, route)
        if kind == "AWS_PROXY":
            status, headers, body = self._aws_proxy(
                request, route, stamp, where.resource_path, decision
            )
            return status, headers + [("X-Amzn-Trace-Id", _trace_id(request, stamp))], body
        return self._config_error(
            request,
            f"integration type {kind or '(none)'} is not served by the local gateway "
            "(it serves AWS_PROXY and MOCK)",
        )

    def _mock(self, request: GatewayRequest, route: RouteMatch) -> tuple[int, Headers, bytes]:
        try:
            answer = self.mock_responder.respond(route.integration, request.header("Content-Type"))
        except MockIntegrationError as error:
            return self._config_error(request, str(error))
        return answer.status, answer.headers, answer.body

    def _aws_proxy(
        self, request: GatewayRequest, route: RouteMatch, stamp: RequestStamp, stage_path: str,
        decision: AccessDecision = PASS,
    ) -> tuple[int, Headers, bytes]:
        stage_variables = dict(route.stage.variables or {})
        integration_method = str(getattr(route.integration, "http_method", None) or "").upper()
        if integration_method != "POST":
            # Lambda is called with POST; any other integrationHttpMethod fails on every call.
            return self._config_error(
                request,
                f"integrationHttpMethod is {integration_method or '(none)'}: a Lambda proxy "
                "integration must use POST",
            )
        try:
            target = function_target(route.integration.uri, stage_variables)
        except IntegrationConfigError as error:
            return self._config_error(request, str(error))

        function = _moto_lambda_function(target)
        if function is None:
            return self._config_error(request, f"Lambda function {target.arn} does not exist")
        source = InvokeSource(
            source_arns=execute_api_arns(
                region=self.region,
                account_id=self.account_id,
                api_id=route.rest_api.id,
                stage=route.stage.name,
                http_method=request.method,
                resource_path=route.resource_path,
                request_path=stage_path,
            ),
            source_account=self.account_id,
        )
        credentials = getattr(route.integration, "credentials", None)
        if credentials:
            # API Gateway invokes with the integration role; the resource policy is not consulted.
            from workshop.localcloud.iam.integration import integration_role_may_invoke

            role_check = integration_role_may_invoke(
                credentials, target.arn, account_id=self.account_id, region=self.region
            )
            if not role_check.allowed:
                return self._config_error(
                    request, f"Invalid permissions on Lambda function {target.arn}: {role_check.reason}"
                )
        elif not allows_invoke(list(function.policy.statements), source):
            return self._config_error(
                request,
                f"Invalid permissions on Lambda function {target.arn}: its resource policy does "
                "not allow apigateway.amazonaws.com to invoke it from "
                f"{source.source_arns[0]} (add it with lambda add_permission)",
            )

        event = self.event_builder.build(
            request, route, stamp, account_id=self.account_id, stage_path=stage_path
        )
        decision.annotate(event)
        payload = json.dumps(event).encode("utf-8")
        if len(payload) > MAX_LAMBDA_REQUEST_BYTES:
            # Lambda refuses the event (RequestEntityTooLargeException); the function never runs.
            log.warning(
                "%s %s: the event is %d bytes, over Lambda's 6 MB request limit -> 413",
                request.method, request.path, len(payload),
            )
            return self._error(REQUEST_TOO_LARGE)
        timeout_ms = integration_timeout_ms(route.integration)
        # During an update (realism mode) the function still runs with its previous timeout.
        running = realism.previous_configuration(function, invocation=False) or function
        function_timeout_ms = float(getattr(running, "timeout", 3) or 3) * 1000
        try:
            result = self._invoke(target, payload, timeout_ms, function_timeout_ms)
        except FunctionNotFoundError:
            return self._config_error(request, f"Lambda function {target.arn} does not exist")
        except Exception:
            log.exception("%s %s: invoking %s failed -> 502", request.method, request.path, target.arn)
            return self._error(BAD_GATEWAY)

        if result is None or result.duration_ms > timeout_ms:
            log.warning(
                "%s %s: %s ran past the %d ms integration timeout -> 504",
                request.method, request.path, target.arn, timeout_ms,
            )
            return self._error(ENDPOINT_TIMED_OUT)
        return self._map_result(request, route, target, result)

    def _map_result(
        self, request: GatewayRequest, route: RouteMatch, target: FunctionTarget, result: InvokeResult
    ) -> tuple[int, Headers, bytes]:
        if result.function_error:
            # Lambda reported an error (exception, its own timeout, a crash): API Gateway answers
            # 502 and the cause is in the function's log.
            log.warning(
                "%s %s: %s failed (%s%s) -> 502; the function's log has the cause: %s",
                request.method, request.path, target.arn, result.function_error,
                ", timed out" if result.timed_out else "", result.payload[:500].decode("utf-8", "replace"),
            )
            return self._error(BAD_GATEWAY)
        if len(result.payload) > MAX_LAMBDA_RESPONSE_BYTES:
            log.warning(
                "%s %s: %s returned %d bytes, over Lambda's 6 MB response limit -> 502",
                request.method, request.path, target.arn, len(result.payload),
            )
            return self._error(BAD_GATEWAY)
        try:
            answer = parse_proxy_response(
                result.payload, binary_allowed=self._binary_response_allowed(request, route)
            )
        except MalformedProxyResponse as error:
            log.warning(
                "%s %s: Malformed Lambda proxy response from %s: %s -> 502",
                request.method, request.path, target.arn, error,
            )
            return self._error(BAD_GATEWAY)
        return answer.status, answer.headers, answer.body

    # -- helpers ------------------------------------------------------------------------------

    def _invoke(
        self, target: FunctionTarget, payload: bytes, timeout_ms: int, function_timeout_ms: float
    ) -> InvokeResult | None:
        """Invoke the function; None when the integration timeout passed first.

        When the function's own timeout is shorter than the integration timeout, the runtime
        ends the call in time and it runs on this thread (the fast path). Otherwise it runs on a
        helper thread and the gateway stops waiting after ``timeout_ms``, as API Gateway does:
        the caller gets 504 while the function goes on running.
        """
        def call() -> InvokeResult:
            return self.invoker.invoke(
                target.arn, payload, account_id=target.account_id, region=target.region
            )

        if function_timeout_ms < timeout_ms:
            return call()
        future = self._slow_executor().submit(call)
        try:
            return future.result(timeout=timeout_ms / 1000)
        except FutureTimeout:
            return None

    def _slow_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._max_slow, thread_name_prefix="gateway-invoke"
                )
            return self._executor

    @staticmethod
    def _binary_response_allowed(request: GatewayRequest, route: RouteMatch) -> bool:
        """API Gateway turns a base64 body into bytes when the request's Accept header names a
        media type listed in the API's binaryMediaTypes."""
        binary_types = list(getattr(route.rest_api, "binaryMediaTypes", None) or [])
        accept = request.header("Accept")
        if not binary_types or not accept:
            return False
        return any(
            media_type_matches(pattern, accepted)
            for accepted in accept.split(",")
            for pattern in binary_types
        )

    @staticmethod
    def _error(error: GatewayError) -> tuple[int, Headers, bytes]:
        return error.status, error.headers(), error.body()

    def _config_error(self, request: GatewayRequest, cause: str) -> tuple[int, Headers, bytes]:
        log.warning(
            "%s %s: Execution failed due to configuration error: %s -> 500",
            request.method, request.path, cause,
        )
        return self._error(INTERNAL_SERVER_ERROR)

    def close(self) -> None:
        """Stop the helper threads of slow invocations (running ones finish on their own)."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
