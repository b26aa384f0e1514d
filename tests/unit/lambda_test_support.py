"""Helpers for the reference Lambda's unit tests: proxy events, the Lambda context, and the
checks every response must pass. (A plain module, imported by the tests and their conftest.)"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from workshop.paths import SOLUTION_LAMBDA_DIR

# Point this at another folder to run the same tests against other copies of the two files,
# e.g. a learner's: WORKSHOP_LAMBDA_DIR=labs/02-lambda-function pytest tests/unit
LAMBDA_DIR = Path(os.environ.get("WORKSHOP_LAMBDA_DIR") or SOLUTION_LAMBDA_DIR).resolve()


def proxy_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    is_base64: bool = False,
    request_id: str = "api-request-1",
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event, shaped as API Gateway sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} if headers else None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def lambda_context(request_id: str = "lambda-request-1") -> SimpleNamespace:
    """The attributes of the Lambda context object the handler may read."""
    return SimpleNamespace(
        aws_request_id=request_id,
        function_name="inventory-api-tester",
        memory_limit_in_mb=128,
        get_remaining_time_in_millis=lambda: 3000,
    )


@dataclass
class Reply:
    status: int
    json: Any
    headers: dict[str, str]
    raw: dict[str, Any]


def check_proxy_response(response: Any) -> Reply:
    """Assert what every answer of the Lambda must be, and unpack it."""
    assert isinstance(response, dict)
    assert type(response["statusCode"]) is int
    assert isinstance(response["body"], str)
    headers = response["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Headers" in headers
    assert "Access-Control-Allow-Methods" in headers
    return Reply(response["statusCode"], json.loads(response["body"]), headers, response)


class Api:
    """Calls the handler the way API Gateway would."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def invoke(self, event: Any, context: Any = None) -> Reply:
        return check_proxy_response(self.module.lambda_handler(event, context))

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        as_base64: bool = False,
    ) -> Reply:
        if json_body is not None:
            body = json.dumps(json_body)
        if as_base64 and body is not None:
            body = base64.b64encode(body.encode("utf-8")).decode("ascii")
        event = proxy_event(method, path, body=body, query=query, headers=headers, is_base64=as_base64)
        return self.invoke(event, lambda_context())

    def create(self, item: dict[str, Any]) -> Reply:
        reply = self.request("POST", "/product", json_body=item)
        assert reply.status == 201, reply.json
        return reply
