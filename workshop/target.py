"""The one switch between the local cloud and the learner's AWS account.

Notebook and script code is the code a learner would run against AWS: ``boto3.client("dynamodb")``
with no ``endpoint_url``. The switch lives in the environment instead: botocore honours
``AWS_ENDPOINT_URL`` (the "service-specific endpoints" feature of the AWS SDKs), so pointing it at
the local cloud sends every client there, and removing it sends them to AWS.

``WORKSHOP_TARGET=local`` (the default) starts the local cloud if none runs and sets fake
credentials; ``WORKSHOP_TARGET=aws`` uses the learner's own credentials and region.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LOCAL = "local"
AWS = "aws"
TARGETS = (LOCAL, AWS)

# The account and region moto reports; fixed so stored notebook outputs are the same everywhere.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these say plainly that they are not real.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

COST_REMINDER = (
    "You are building in a real AWS account: API Gateway, Lambda, DynamoDB and CloudWatch Logs "
    "are billed beyond the free tier. Run lab 07 (or `python scripts/cleanup.py`) when you finish."
)


class TargetError(RuntimeError):
    """The target cannot be reached or is misconfigured; the message says how to fix it."""


@dataclass(frozen=True)
class Target:
    """Where boto3 calls go: the local cloud or AWS."""

    name: str
    region: str
    account_id: str
    endpoint: str | None = None  # the local cloud's AWS endpoint; None on AWS
    gateway: str | None = None  # the local execute-api gateway's root URL; None on AWS

    @property
    def is_local(self) -> bool:
        return self.name == LOCAL

    def invoke_url(self, api_id: str, stage: str) -> str:
        """The base URL of a deployed REST API stage, ending with the stage (as AWS prints it)."""
        if self.gateway:
            return f"{self.gateway.rstrip('/')}/{api_id}/{stage}"
        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"


def target_name() -> str:
    """The target chosen by ``WORKSHOP_TARGET`` (default ``local``)."""
    name = os.environ.get("WORKSHOP_TARGET", LOCAL).strip().lower() or LOCAL
    if name not in TARGETS:
        raise TargetError(
            f"WORKSHOP_TARGET={name!r} is not a target: use 'local' (the default) or 'aws'."
        )
    return name


def connect(*, quiet: bool = False) -> Target:
    """Point boto3 at the chosen target and say where it points.

    Called once at the top of every notebook and by every script.
    """
    target = _connect_local() if target_name() == LOCAL else _connect_aws()
    if not quiet:
        print(describe(target))
        if target.is_local:
            _print_saved_state_notice()
    return target


def _print_saved_state_notice() -> None:
    """Once, after the local cloud started: whether it restored the learner's saved work."""
    from workshop.localcloud.snapshots import take_notice
    from workshop.paths import state_dir

    for line in take_notice(state_dir()):
        print(line)


def describe(target: Target) -> str:
    """A short human description of ``target``; on AWS it includes the cost reminder."""
    if target.is_local:
        return (
            f"Target: local cloud at {target.endpoint} (account {target.account_id}, "
            f"region {target.region}); nothing here touches AWS or costs money."
        )
    return (
        f"Target: AWS account {target.account_id}, region {target.region}.\n{COST_REMINDER}"
    )


def _connect_local() -> Target:
    from workshop.localcloud.lifecycle import ensure_running

    info = ensure_running()
    os.environ.pop("AWS_PROFILE", None)  # a profile would be looked up and could fail
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ["AWS_ENDPOINT_URL"] = info.endpoint
    os.environ["AWS_DEFAULT_REGION"] = LOCAL_REGION
    os.environ["AWS_REGION"] = LOCAL_REGION
    return Target(
        name=LOCAL,
        region=LOCAL_REGION,
        account_id=LOCAL_ACCOUNT_ID,
        endpoint=info.endpoint,
        gateway=info.gateway,
    )


def _connect_aws() -> Target:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    if endpoint and ("127.0.0.1" not in endpoint and "localhost" not in endpoint):
        # Somebody pointed boto3 at a non-local endpoint on purpose: keep it.
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    for key, value in LOCAL_CREDENTIALS.items():
        if os.environ.get(key) == value:
            os.environ.pop(key)  # the local cloud's fake keys would fail on AWS
    session = boto3.session.Session()
    region = session.region_name
    if not region:
        raise TargetError(
            "No AWS region is configured: set AWS_DEFAULT_REGION (for example us-east-1) "
            "or run `aws configure`."
        )
    try:
        identity = session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise TargetError(
            f"Cannot reach AWS with your credentials ({error}). Run `aws configure` or set "
            "AWS_PROFILE, then try again."
        ) from error
    return Target(name=AWS, region=region, account_id=identity["Account"])
