"""The kinds of resource the workshop creates, how they are described, and whose they are.

Ownership is read from the workshop's tags only: nothing is ever deleted by its name alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workshop.naming import OWNER_TAG_KEY, WORKSHOP_TAG_KEY, WORKSHOP_TAG_VALUE

KIND_USAGE_PLAN = "usage-plan"
KIND_API_KEY = "api-key"
KIND_REST_API = "rest-api"
KIND_FUNCTION = "function"
KIND_LOG_GROUP = "log-group"
KIND_ROLE = "role"
KIND_POLICY = "policy"
KIND_TABLE = "table"
KIND_BUDGET = "budget"

# Dependency order: what calls or uses something is deleted before the thing it uses. A usage
# plan refers to API stages and holds keys (lab 08), so it goes first.
DELETE_ORDER = (
    KIND_USAGE_PLAN,
    KIND_API_KEY,
    KIND_REST_API,
    KIND_FUNCTION,
    KIND_LOG_GROUP,
    KIND_ROLE,
    KIND_POLICY,
    KIND_TABLE,
    KIND_BUDGET,
)
KIND_LABELS = {
    KIND_USAGE_PLAN: "usage plan",
    KIND_API_KEY: "API key",
    KIND_REST_API: "REST API",
    KIND_FUNCTION: "Lambda function",
    KIND_LOG_GROUP: "log group",
    KIND_ROLE: "IAM role",
    KIND_POLICY: "IAM policy",
    KIND_TABLE: "DynamoDB table",
    KIND_BUDGET: "budget",
}


@dataclass(frozen=True)
class Resource:
    """One resource the workshop created.

    ``ident`` is what the delete call needs (an API id, a name, an ARN); ``parent`` links an
    untagged log group to the function or API that proves it is ours.
    """

    kind: str
    name: str
    owner: str
    ident: str
    parent: str | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def describe(self) -> str:
        extra = f" ({self.ident})" if self.ident != self.name else ""
        note = f" [{self.note}]" if self.note else ""
        return f"{self.label} {self.name}{extra}{note}"


def sort_for_deletion(resources: Iterable[Resource]) -> list[Resource]:
    return sorted(resources, key=lambda r: (DELETE_ORDER.index(r.kind), r.owner, r.name))


def owner_from_tags(tags: dict[str, str] | None) -> str | None:
    """The workshop owner recorded in ``tags``, or None when they are not the workshop's."""
    if not tags or tags.get(WORKSHOP_TAG_KEY) != WORKSHOP_TAG_VALUE:
        return None
    owner = tags.get(OWNER_TAG_KEY, "").strip()
    return owner or None


def tags_from_list(items: Iterable[dict[str, str]] | None) -> dict[str, str]:
    """IAM and DynamoDB return tags as [{"Key": ..., "Value": ...}]; the rest as a dict."""
    return {item["Key"]: item["Value"] for item in items or ()}
