"""An in-process local cloud in realism mode on a manual clock, shared by the realism tests.

Realism's durations (role propagation, Pending, InProgress) pass when a test advances the clock,
so the tests take milliseconds where AWS takes seconds. Each test module subclasses
:class:`RealismCloud` with the helpers of its own subject and starts it with
:func:`realism_cloud`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from function_roles import allow_function_basics

from workshop.localcloud import realism
from workshop.localcloud.realism import timings
from workshop.localcloud.realism.clock import ManualClock
from workshop.localcloud.server import LocalCloudServer

REGION = "us-east-1"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


class RealismCloud:
    """boto3 clients of the local cloud (no retries: a refusal is the answer under test), fresh
    names, and roles Lambda can already assume."""

    #: Put in front of every name: moto's backends outlive one module's cloud in this process.
    name_prefix = ""

    def __init__(self, server: LocalCloudServer, clock: ManualClock) -> None:
        self.server = server
        self.clock = clock
        self._clients: dict[str, Any] = {}
        self._counter = 0

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.server.endpoint, region_name=REGION,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(read_timeout=120, retries={"total_max_attempts": 1, "mode": "standard"}),
            )
        return self._clients[service]

    def name(self, prefix: str) -> str:
        self._counter += 1
        return f"{self.name_prefix}{prefix}-{os.getpid()}-{self._counter}"

    def propagated_role(self) -> tuple[str, str]:
        """A new role for functions, with its propagation time already passed: (name, ARN)."""
        name = self.name("role")
        arn = self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        allow_function_basics(self.client("iam"), name)
        self.clock.advance(timings.ROLE_PROPAGATION_S)
        return name, arn


Cloud = TypeVar("Cloud", bound=RealismCloud)


@contextlib.contextmanager
def realism_cloud(make: Callable[[LocalCloudServer, ManualClock], Cloud]) -> Iterator[Cloud]:
    """Start a local cloud with ``WORKSHOP_REALISM=aws`` on a manual clock; stop it and restore
    the environment and realism's clock on the way out, also when a test fails."""
    saved = dict(os.environ)
    clock = ManualClock(1.0, start=time.time())
    os.environ.update({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": "1.0"})
    original_clock = realism.Clock
    realism.Clock = lambda scale: clock  # type: ignore[assignment,misc]
    server = LocalCloudServer(0, 0)
    try:
        server.start()
        yield make(server, clock)
    finally:
        realism.Clock = original_clock  # type: ignore[misc]
        server.stop()
        os.environ.clear()
        os.environ.update(saved)
