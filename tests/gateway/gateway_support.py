"""Helpers shared by the gateway tests: a fake invoker, ids, and the boto3 calls that build APIs."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workshop.localcloud.gateway import GatewayResponse
from workshop.localcloud.gateway.events import RequestStamp
from workshop.localcloud.invoke import InvokeResult

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/gateway-test-role"
# A fixed stamp makes built events comparable with exact dicts.
STAMP = RequestStamp(
    request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    extended_request_id="BQGojGAtIAMFSYA=",
    trace_id="Root=1-5e1b4151-5ac6c58f5b5daa6532e4f2e8",
    epoch_ms=1428582896000,
)


#: ``call(method, target, headers=..., body=...)`` -> GatewayResponse (the ``call`` fixture).
Call = Callable[..., GatewayResponse]


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def lambda_uri(name: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{function_arn(name)}/invocations"
    )


def proxy_result(
    status: int = 200, body: Any = "", *, duration_ms: float = 0.0, **extra: Any
) -> InvokeResult:
    """An InvokeResult carrying a proxy response dict (``extra``: more proxy response keys)."""
    return InvokeResult(
        payload=json.dumps({"statusCode": status, "body": body, **extra}).encode(),
        duration_ms=duration_ms,
    )


@dataclass
class FakeInvoker:
    """Stands in for the Lambda runtime: records calls, answers with ``respond(event, arn)``.

    By default it echoes the event back as the JSON body, so a test can read what the function
    received through the response too.
    """

    respond: Callable[[dict[str, Any], str], InvokeResult] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, function_arn_or_name: str, payload: bytes, *, account_id: str, region: str) -> InvokeResult:
        event = json.loads(payload)
        self.calls.append(
            {"arn": function_arn_or_name, "event": event, "account_id": account_id, "region": region}
        )
        if self.respond is not None:
            return self.respond(event, function_arn_or_name)
        return proxy_result(200, json.dumps(event), headers={"Content-Type": "application/json"})

    @property
    def last_event(self) -> dict[str, Any]:
        return self.calls[-1]["event"]


@dataclass(frozen=True)
class Apis:
    """The REST APIs the gateway tests call, and the ids a test needs to build exact events."""

    shop: str  # deployed to "prod" with stage variables
    shop_resources: dict[str, str]  # resource path -> resource id
    shop_deployment: str
    greedy: str  # "/" and "/{proxy+}", deployed to "dev" without stage variables
    greedy_resources: dict[str, str]
    greedy_deployment: str
    undeployed: str  # resources and methods, never deployed


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def create_function(lam: Any, name: str, timeout: int = 3) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": _zip()},
        Timeout=timeout,
    )


def allow(lam: Any, name: str, sid: str, source_arn: str | None) -> None:
    kwargs = {"SourceArn": source_arn} if source_arn else {}
    lam.add_permission(
        FunctionName=name,
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        **kwargs,
    )


class ApiBuilder:
    """The boto3 calls a learner makes to build a REST API, in a few helpers."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.api_id = client.create_rest_api(name=name)["id"]
        root = client.get_resources(restApiId=self.api_id)["items"][0]
        self.ids = {"/": root["id"]}

    def resource(self, path: str) -> str:
        if path in self.ids:
            return self.ids[path]
        parent, _, part = path.rpartition("/")
        parent_id = self.resource(parent or "/")
        created = self.client.create_resource(restApiId=self.api_id, parentId=parent_id, pathPart=part)
        self.ids[path] = created["id"]
        return created["id"]

    def deploy(self, stage: str = "prod", **kwargs: Any) -> str:
        return self.client.create_deployment(restApiId=self.api_id, stageName=stage, **kwargs)["id"]

    def delete(self) -> None:
        self.client.delete_rest_api(restApiId=self.api_id)

    def proxy(self, path: str, method: str, function: str, **integration: Any) -> None:
        resource_id = self.resource(path)
        self.client.put_method(
            restApiId=self.api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE"
        )
        self.client.put_integration(
            restApiId=self.api_id,
            resourceId=resource_id,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=integration.pop("uri", None) or lambda_uri(function),
            **integration,
        )

    def cors_options(self, path: str) -> None:
        """OPTIONS with a MOCK integration, as "Enable CORS" configures it."""
        resource_id = self.resource(path)
        common = {"restApiId": self.api_id, "resourceId": resource_id, "httpMethod": "OPTIONS"}
        self.client.put_method(**common, authorizationType="NONE")
        self.client.put_integration(
            **common, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'}
        )
        headers = {
            "method.response.header.Access-Control-Allow-Headers": "'Content-Type,X-Amz-Date,Authorization'",
            "method.response.header.Access-Control-Allow-Methods": "'GET,POST,PATCH,DELETE,OPTIONS'",
            "method.response.header.Access-Control-Allow-Origin": "'*'",
        }
        self.client.put_method_response(
            **common, statusCode="200", responseParameters={name: False for name in headers}
        )
        self.client.put_integration_response(
            **common, statusCode="200", responseParameters=headers
        )
