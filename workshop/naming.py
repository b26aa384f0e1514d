"""Resource names and tags: how classmates sharing one AWS account never collide.

Every resource the workshop creates carries the owner's name in its name *and* two tags
(``workshop`` and ``workshop-owner``). Names keep people apart; the tags are what cleanup trusts,
so a look-alike resource somebody made by hand is never deleted.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass

WORKSHOP_TAG_KEY = "workshop"
WORKSHOP_TAG_VALUE = "serverless-inventory"
OWNER_TAG_KEY = "workshop-owner"
NAME_PREFIX = "inventory"
STAGE_NAME = "prod"

# IAM role names stop at 64 characters and Lambda function names at 64; the longest name below
# adds 20 characters to the owner, so 24 keeps every name valid.
MAX_OWNER_LENGTH = 24
_OWNER_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


class InvalidOwnerError(ValueError):
    """The owner name cannot be used in AWS resource names."""


def normalize_owner(raw: str) -> str:
    """Lower-case ``raw`` and replace anything but letters, digits and dashes with a dash.

    DynamoDB, Lambda and IAM accept different character sets; ``[a-z0-9-]`` is valid in all.
    """
    owner = re.sub(r"[^a-z0-9-]+", "-", raw.strip().lower()).strip("-")
    owner = re.sub(r"-{2,}", "-", owner)[:MAX_OWNER_LENGTH].strip("-")
    if not owner or not _OWNER_PATTERN.match(owner):
        raise InvalidOwnerError(
            f"Cannot build resource names from the owner {raw!r}: set WORKSHOP_OWNER to a short "
            "name made of letters, digits and dashes (for example WORKSHOP_OWNER=ada)."
        )
    return owner


def current_owner() -> str:
    """The learner whose resources we build: ``WORKSHOP_OWNER``, else the login name."""
    raw = os.environ.get("WORKSHOP_OWNER") or getpass.getuser()
    return normalize_owner(raw)


@dataclass(frozen=True)
class ResourceNames:
    """The names of one learner's stack."""

    owner: str
    table: str
    function: str
    role: str
    role_policy: str
    api: str
    stage: str
    log_group: str


def resource_names(owner: str | None = None) -> ResourceNames:
    """All resource names for ``owner`` (default: :func:`current_owner`)."""
    owner = normalize_owner(owner) if owner else current_owner()
    base = f"{NAME_PREFIX}-{owner}"
    function = f"{base}-api"
    return ResourceNames(
        owner=owner,
        table=f"{base}-products",
        function=function,
        role=f"{base}-lambda-role",
        role_policy=f"{base}-table-access",
        api=f"{base}-api",
        stage=STAGE_NAME,
        log_group=f"/aws/lambda/{function}",
    )


def workshop_tags(owner: str | None = None) -> dict[str, str]:
    """The tags every workshop resource carries, as a plain mapping."""
    owner = normalize_owner(owner) if owner else current_owner()
    return {WORKSHOP_TAG_KEY: WORKSHOP_TAG_VALUE, OWNER_TAG_KEY: owner}


def tag_list(owner: str | None = None) -> list[dict[str, str]]:
    """The same tags in the ``[{"Key": ..., "Value": ...}]`` form DynamoDB and IAM expect."""
    return [{"Key": key, "Value": value} for key, value in workshop_tags(owner).items()]
