"""Fixtures for the gateway tests: moto in-process, REST APIs built with plain boto3, a fake invoker.

The gateway reads moto's in-process backends, so the tests create APIs with the same boto3 calls
a learner makes (inside ``mock_aws``) and drive :class:`ExecuteApiGateway` without sockets. The
function runtime is replaced by :class:`FakeInvoker` (gateway_support.py), which records every
event and answers with whatever the test scripts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import boto3
import pytest
from gateway_support import (
    ACCOUNT,
    REGION,
    STAMP,
    ApiBuilder,
    Apis,
    Call,
    FakeInvoker,
    allow,
    create_function,
    lambda_uri,
)
from moto import mock_aws

from workshop.localcloud.gateway import ExecuteApiGateway, GatewayRequest, GatewayResponse
from workshop.localcloud.gateway.deployments import (
    install_deployment_snapshots,
    uninstall_deployment_snapshots,
)


# Module scope, not package: tests/ has no __init__.py, so a "package" fixture would live until the
# session ends and its mock_aws would swallow every later test's own mock (no reset between them).
@pytest.fixture(scope="module")
def moto_aws() -> Iterator[None]:
    """moto in this process, with boto3 kept away from any real endpoint, and deployments
    snapshotted as the gateway does in the local cloud (undone afterwards)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_ENDPOINT_URL"):
                patch.delenv(name)
        installed_here = install_deployment_snapshots()
        try:
            with mock_aws():
                yield
        finally:
            if installed_here:
                uninstall_deployment_snapshots()


@pytest.fixture(scope="module")
def apis(moto_aws: None) -> Apis:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(
        RoleName="gateway-test-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    lam = boto3.client("lambda", region_name=REGION)
    for name in ("gw-fn", "gw-noperm", "gw-wrongarn"):
        create_function(lam, name)
    create_function(lam, "gw-slow", timeout=60)
    apigw = boto3.client("apigateway", region_name=REGION)

    shop = ApiBuilder(apigw, "shop")
    shop.proxy("/", "GET", "gw-fn")
    shop.proxy("/health", "GET", "gw-fn")
    shop.proxy("/product", "ANY", "gw-fn")
    shop.cors_options("/product")
    shop.proxy("/product/{productId}", "GET", "gw-fn")
    shop.proxy("/product/special", "GET", "gw-fn")
    shop.proxy("/files/{proxy+}", "ANY", "gw-fn")
    shop.proxy("/files/{proxy+}", "DELETE", "gw-noperm")
    shop.proxy("/noperm", "GET", "gw-noperm")
    shop.proxy("/wrongarn", "GET", "gw-wrongarn")
    shop.proxy("/slow", "GET", "gw-slow", timeoutInMillis=50)
    shop.proxy("/staged", "GET", "", uri=lambda_uri("${stageVariables.fn}"))
    shop.proxy("/unset-variable", "GET", "", uri=lambda_uri("${stageVariables.missing}"))
    shop.proxy("/gone", "GET", "gw-deleted")
    shop.client.put_method(
        restApiId=shop.api_id, resourceId=shop.resource("/nointegration"), httpMethod="GET",
        authorizationType="NONE",
    )
    shop.client.put_method(
        restApiId=shop.api_id, resourceId=shop.resource("/http"), httpMethod="GET",
        authorizationType="NONE",
    )
    shop.client.put_integration(
        restApiId=shop.api_id, resourceId=shop.resource("/http"), httpMethod="GET",
        type="HTTP_PROXY", integrationHttpMethod="GET", uri="https://example.com/",
    )
    shop_deployment = apigw.create_deployment(
        restApiId=shop.api_id, stageName="prod", variables={"fn": "gw-fn"}
    )["id"]
    allow(lam, "gw-fn", "shop", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{shop.api_id}/*")
    allow(lam, "gw-slow", "shop", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{shop.api_id}/*/GET/slow")
    # A permission for another API's ARN: API Gateway is still refused.
    allow(lam, "gw-wrongarn", "other", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:otherapi/*/GET/wrongarn")

    greedy = ApiBuilder(apigw, "greedy")
    greedy.proxy("/", "ANY", "gw-fn")
    greedy.proxy("/{proxy+}", "ANY", "gw-fn")
    greedy_deployment = apigw.create_deployment(restApiId=greedy.api_id, stageName="dev")["id"]
    allow(lam, "gw-fn", "greedy", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{greedy.api_id}/*/*/*")

    undeployed = ApiBuilder(apigw, "undeployed")
    undeployed.proxy("/health", "GET", "gw-fn")
    allow(lam, "gw-fn", "undeployed", None)

    return Apis(
        shop=shop.api_id,
        shop_resources=dict(shop.ids),
        shop_deployment=shop_deployment,
        greedy=greedy.api_id,
        greedy_resources=dict(greedy.ids),
        greedy_deployment=greedy_deployment,
        undeployed=undeployed.api_id,
    )


@pytest.fixture
def new_api(apis: Apis) -> Iterator[Callable[[str], ApiBuilder]]:
    """``new_api(name)`` -> an ApiBuilder for a fresh REST API, deleted after the test.

    Tests that add resources or redeploy use their own API, so the shared ones stay as built."""
    created: list[ApiBuilder] = []
    client = boto3.client("apigateway", region_name=REGION)

    def _new(name: str) -> ApiBuilder:
        created.append(ApiBuilder(client, name))
        return created[-1]

    yield _new
    for builder in created:
        builder.delete()


@pytest.fixture
def invoker() -> FakeInvoker:
    return FakeInvoker()


@pytest.fixture
def gateway(apis: Apis, invoker: FakeInvoker) -> Iterator[ExecuteApiGateway]:
    """A gateway core over this module's APIs, with the fake invoker and a fixed request stamp."""
    core = ExecuteApiGateway(
        invoker, account_id=ACCOUNT, region=REGION, stamp_factory=lambda now: STAMP
    )
    yield core
    core.close()


@pytest.fixture
def call(gateway: ExecuteApiGateway) -> Call:
    """``call("GET", "/{api}/prod/health", headers=[...], body=b"")`` -> GatewayResponse."""

    def _call(method: str, target: str, *, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> GatewayResponse:
        return gateway.handle(
            GatewayRequest.from_target(
                method, target, headers=headers or [("Host", "127.0.0.1:4567")], body=body,
                source_ip="127.0.0.1",
            )
        )

    return _call
