"""Fixtures for the check and cleanup tests.

Two worlds:

* ``moto_aws``: moto in-process (``mock_aws``), fast, for discovery and deletion logic. Tests build
  exactly the resources they need with :class:`scripts_support.StackBuilder` (tagged stacks,
  untagged look-alikes, partial states) using plain boto3 calls.
* ``local_cloud`` (tests/localcloud_fixtures.py): the real local cloud, where the reference stack
  is built by ``workshop.deploy.deploy()`` and the scripts run as subprocesses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from scripts_support import REGION, StackBuilder, snapshot


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackBuilder]:
    """An empty in-process moto account; boto3 calls never leave the process."""
    from moto import mock_aws

    # The local cloud fixture may have pointed boto3 at itself for the whole session.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Loading AWS's ~1,000 managed policies costs seconds per test; a customer managed stand-in
    # with the same path and name does for AWSLambdaBasicExecutionRole here.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        builder = StackBuilder()
        builder.iam.create_policy(
            PolicyName="AWSLambdaBasicExecutionRole", Path="/service-role/",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                               "logs:PutLogEvents"], "Resource": "*"}]}))
        yield builder


@pytest.fixture
def snap() -> Any:
    return snapshot
