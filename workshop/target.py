"""The one switch between the local cloud and the learner's AWS account.

Notebook and script code is the code a learner would run against AWS: ``boto3.client("dynamodb")``
with no ``endpoint_url``. The switch lives in the environment instead: botocore honours
``AWS_ENDPOINT_URL`` (the "service-specific endpoints" feature of the AWS SDKs), so pointing it at
the local cloud sends every client there, and removing it sends them to AWS.

``WORKSHOP_TARGET=local`` (the default) starts the local cloud if none runs and sets fake
credentials (the account root, unrestricted; ``WORKSHOP_LOCAL_CREDENTIALS=environment`` keeps the
keys of a local IAM user instead, to rehearse a least-privilege learner);
``WORKSHOP_TARGET=aws`` uses the learner's own credentials and region.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


#: What connect() prints when it had to start a new, empty local cloud in place of an old one.
FRESH_CLOUD_NOTICE = (
    "NOTE: {what}. No saved work could be restored, so this local cloud started EMPTY: the "
    "tables, functions and APIs you built before are not in it. Run this notebook's "
    "catch-up cell (the `catch_up(through=...)` cell near the top of notebooks 02-08) to "
    "rebuild what earlier labs built, or `python scripts/deploy.py --through LAB` from a shell."
)


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

    @property
    def partition(self) -> str:
        """The ARN partition of the region: ARNs built in notebooks say ``arn:{partition}:``."""
        from workshop.arns import partition

        return partition(self.region)

    def invoke_url(self, api_id: str, stage: str) -> str:
        """The base URL of a deployed REST API stage, ending with the stage (as AWS prints it)."""
        if self.gateway:
            return f"{self.gateway.rstrip('/')}/{api_id}/{stage}"
        from workshop.arns import dns_suffix

        return f"https://{api_id}.execute-api.{self.region}.{dns_suffix(self.region)}/{stage}"


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

    Called once at the top of every notebook and by every script. On both targets boto3
    clients made afterwards retry throttled calls with back-off (:mod:`workshop.retrying`).
    """
    from workshop.retrying import use_standard_retries

    global _last_local_start
    use_standard_retries()
    _last_local_start = None  # set again by a local connect
    target = _connect_local() if target_name() == LOCAL else _connect_aws()
    if not quiet:
        print(describe(target))
    if target.is_local:
        # Printed even with quiet=True: what became of earlier work must never go unnoticed.
        for line in local_start_notices(_last_local_start):
            print(line)
    return target


#: The LocalCloudInfo of the last local connect (for the notices connect() prints).
_last_local_start: Any = None


def local_start_notices(info: Any | None, *, asked_empty: bool = False) -> list[str]:
    """What a learner must hear once after the local cloud started: what became of the saved work
    (restored, set aside, ports changed: workshop.localcloud.snapshots), and, when an earlier local
    cloud is gone (``info.replaced``) and nothing could be restored, that this one is empty and how
    to catch up. ``info`` is the LocalCloudInfo of the start (None: the state folder's notice
    only); ``asked_empty``: the learner asked for an empty start (``up --fresh``), so that is no
    news. The snapshot's lines are handed out once (the first reader takes them)."""
    from workshop.localcloud.snapshots import take_notice
    from workshop.localcloud.snapshots.keeper import RESTORED_NOTICE_PREFIX
    from workshop.paths import state_dir

    folder = getattr(info, "state_dir", None) or state_dir()
    lines = take_notice(Path(folder))
    restored = any(line.startswith(RESTORED_NOTICE_PREFIX) for line in lines)
    replaced = getattr(info, "replaced", None)
    if replaced and not restored and not asked_empty:
        lines.append(FRESH_CLOUD_NOTICE.format(what=replaced[0].upper() + replaced[1:]))
    return lines


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


# The environment variables the local connect changes. What the learner had in them is kept in
# ``_SAVED_ENVIRONMENT`` so that switching the same kernel to AWS (lab 00: ``%env
# WORKSHOP_TARGET=aws``, then the first cell again) gives back their profile, session token and
# region instead of leaving them without credentials or in the local cloud's us-east-1.
LOCAL_ENVIRONMENT_KEYS = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


@dataclass(frozen=True)
class _SavedValue:
    """One variable before the local connect changed it, and what the local connect left in it."""

    learner: str | None  # None: the learner did not have it set
    local: str | None  # None: the local connect removed it


# Kept in this process only (never in os.environ): the learner's real credentials must not reach
# the local cloud or the functions it runs.
_SAVED_ENVIRONMENT: dict[str, _SavedValue] = {}


def _set_local_environment(values: dict[str, str | None]) -> None:
    """Set ``values`` (None: remove), remembering the learner's own values on the first switch.

    Only the first local connect after an AWS one records: the later ones (every notebook's first
    cell, every catch-up) see the local values, which are not the learner's.
    """
    first = not _SAVED_ENVIRONMENT
    for key in LOCAL_ENVIRONMENT_KEYS:
        value = values.get(key)
        if first:
            _SAVED_ENVIRONMENT[key] = _SavedValue(os.environ.get(key), value)
        elif key in _SAVED_ENVIRONMENT:
            _SAVED_ENVIRONMENT[key] = _SavedValue(_SAVED_ENVIRONMENT[key].learner, value)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def restore_learner_environment() -> list[str]:
    """Give back the variables the local connect changed; return the names restored.

    A variable the learner changed since (``%env AWS_PROFILE=other``) is theirs and stays as they
    set it: only a value that is still the local connect's is replaced.
    """
    restored = []
    for key, saved in _SAVED_ENVIRONMENT.items():
        if os.environ.get(key) != saved.local:
            continue
        if saved.learner is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = saved.learner
        if saved.learner != saved.local:
            restored.append(key)
    _SAVED_ENVIRONMENT.clear()
    return restored


def local_identity_from_environment() -> bool:
    """Whether the local cloud is used with the keys in the environment instead of the root's.

    ``WORKSHOP_LOCAL_CREDENTIALS=environment`` with ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``) of an IAM user or role session *of the
    local cloud* rehearses a classroom learner: the local cloud enforces that identity's policies.
    Without it the notebooks sign as the account root with fake keys, unrestricted.
    """
    return (os.environ.get(LOCAL_CREDENTIALS_VARIABLE, "").strip().lower() == "environment"
            and bool(os.environ.get("AWS_ACCESS_KEY_ID"))
            and bool(os.environ.get("AWS_SECRET_ACCESS_KEY")))


LOCAL_CREDENTIALS_VARIABLE = "WORKSHOP_LOCAL_CREDENTIALS"


def _connect_local() -> Target:
    from workshop.localcloud.lifecycle import LocalCloudError, ensure_running

    try:
        info = ensure_running()
    except LocalCloudError as error:
        raise TargetError(str(error)) from None
    global _last_local_start
    _last_local_start = info  # connect() says what became of earlier work
    if local_identity_from_environment():
        credentials = {key: os.environ.get(key) for key in (
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN")}
    else:
        credentials = {
            **LOCAL_CREDENTIALS,
            "AWS_SESSION_TOKEN": None,  # a real session token beside fake keys is refused
            "AWS_SECURITY_TOKEN": None,
        }
    _set_local_environment({
        "AWS_PROFILE": None,  # a profile would be looked up and could fail
        **credentials,
        "AWS_ENDPOINT_URL": info.endpoint,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
    })
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

    restore_learner_environment()
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
