"""Helpers for the local-cloud tests: zips, unique names, an in-process local cloud handle."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from workshop.localcloud.http_guard import EndpointGuard
from workshop.localcloud.http_servers import make_endpoint_server
from workshop.localcloud.server import LocalCloudServer

REGION = "us-east-1"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

#: What the runtime tests' functions do: write logs and call DynamoDB.
RUNTIME_TEST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:*"],
            "Resource": "*",
        }
    ],
}


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class InProcessCloud:
    server: LocalCloudServer
    _clients: dict[str, Any] = field(default_factory=dict)
    _role_arn: str | None = None

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def runtime(self) -> Any:
        return self.server.runtime

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(read_timeout=120, retries={"max_attempts": 0}),
            )
        return self._clients[service]

    @property
    def role_arn(self) -> str:
        if self._role_arn is None:
            name = unique("runtime-test-role")
            iam = self.client("iam")
            self._role_arn = iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
            )["Role"]["Arn"]
            # Functions run as their role (IAM is enforced): let the test functions log and use
            # DynamoDB, as a learner's role does.
            iam.put_role_policy(
                RoleName=name, PolicyName="runtime-tests", PolicyDocument=json.dumps(RUNTIME_TEST_POLICY)
            )
        return self._role_arn

    def deploy(
        self,
        files: dict[str, str],
        *,
        handler: str = "app.handler",
        environment: dict[str, str] | None = None,
        timeout: int = 10,
        memory: int = 128,
        name: str | None = None,
    ) -> str:
        """Create a function from source files; returns its name."""
        name = name or unique("fn")
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role_arn,
            Handler=handler,
            Code={"ZipFile": make_zip(files)},
            Timeout=timeout,
            MemorySize=memory,
            Environment={"Variables": environment or {}},
        )
        return name

    def invoke(self, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
        """Invoke through boto3; returns (response, decoded payload)."""
        payload = json.dumps({} if event is None else event)
        response = self.client("lambda").invoke(FunctionName=name, Payload=payload, **kwargs)
        raw = response["Payload"].read()
        return response, (json.loads(raw) if raw else None)

    def log_messages(self, name: str) -> list[str]:
        logs = self.client("logs")
        messages: list[str] = []
        kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{name}"}
        while True:
            page = logs.filter_log_events(**kwargs)
            messages += [event["message"] for event in page["events"]]
            if not page.get("nextToken"):
                return messages
            kwargs["nextToken"] = page["nextToken"]


@contextlib.contextmanager
def serving_endpoint(app: Any, kind: str, socket_timeout: float) -> Iterator[int]:
    """``app`` behind the endpoint's guard (``http_guard.EndpointGuard``), served by the
    endpoint server ``kind`` (waitress or werkzeug) on a free port of 127.0.0.1; yields the port
    and stops the server on the way out, also when the test fails."""
    server = make_endpoint_server(
        "127.0.0.1", 0, EndpointGuard(app), socket_timeout=socket_timeout, kind=kind
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
