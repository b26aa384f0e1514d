"""Finding the workshop's resources of one owner (or of every owner) by their names and tags.

Only calls that exist on real AWS are used: the Resource Groups Tagging API does not list IAM
roles, so every service is asked directly (list + tags). A resource deleted between the listing
and the tag lookup is simply not there any more, so it is skipped rather than reported.

Two rules keep discovery inside what a classroom learner may do (the policy in INSTRUCTORS.md):

* Listing (ListTables, ListFunctions, ListRoles, ListPolicies, DescribeLogGroups, GET /restapis)
  is allowed on ``Resource: "*"`` only, as the Service Authorization Reference says of these
  List actions, so the learner policy grants them account-wide. Reading a resource's *tags* is
  granted only on ``inventory-*`` resources, so tags are read only for resources whose name
  starts with ``inventory-<owner>-`` (every name the workshop gives does; ``inventory-`` for every
  owner). The tags still decide ownership: the name alone never makes anything ours.
* A call that is refused (AccessDenied) is never taken for "nothing there": it becomes a
  warning, the listing is marked incomplete, and :func:`discover` raises
  :class:`DiscoveryIncomplete` so no caller can say "nothing is left" when it could not look.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from workshop.cleanup.clients import Clients
from workshop.cleanup.errors import UNAVAILABLE_CODES, DiscoveryIncomplete, error_code, is_gone
from workshop.cleanup.resources import (
    KIND_API_KEY,
    KIND_USAGE_PLAN,
    KIND_BUDGET,
    KIND_FUNCTION,
    KIND_LABELS,
    KIND_LOG_GROUP,
    KIND_POLICY,
    KIND_REST_API,
    KIND_ROLE,
    KIND_TABLE,
    Resource,
    owner_from_tags,
    sort_for_deletion,
    tags_from_list,
)
from workshop.naming import NAME_PREFIX, OWNER_TAG_KEY, WORKSHOP_TAG_KEY, normalize_owner

LAMBDA_LOG_PREFIX = "/aws/lambda/"
API_LOG_PREFIX = "API-Gateway-Execution-Logs_"

_BUDGET_NAME = re.compile(rf"^{NAME_PREFIX}-([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-budget$")

Item = TypeVar("Item")


def name_prefix(owner: str | None) -> str:
    """What the names of ``owner``'s resources start with (every owner's: ``inventory-``)."""
    return f"{NAME_PREFIX}-{normalize_owner(owner)}-" if owner else f"{NAME_PREFIX}-"


def plural(noun: str) -> str:
    """English plural of a resource label: "policy" -> "policies", "table" -> "tables"."""
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _message(error: ClientError) -> str:
    return f"{error_code(error)}: {error.response.get('Error', {}).get('Message', '')}".rstrip(": ")


class Discovery:
    """Lists the workshop's resources for one owner (or every owner when ``owner`` is None).

    After :meth:`all`, ``warnings`` names every call that was refused or is not available here;
    ``complete`` is False when there is any, and then "nothing found" proves nothing.
    """

    def __init__(self, clients: Clients, owner: str | None, *, include_budget: bool = False) -> None:
        self.clients = clients
        self.owner = normalize_owner(owner) if owner else None
        self.include_budget = include_budget
        self.name_prefix = name_prefix(self.owner)
        self.warnings: list[str] = []

    @property
    def complete(self) -> bool:
        return not self.warnings

    def _mine(self, owner: str | None) -> bool:
        return owner is not None and (self.owner is None or owner == self.owner)

    def _unavailable(self, kind: str, error: ClientError) -> None:
        self.warnings.append(f"could not list {plural(KIND_LABELS[kind])} ({_message(error)})")

    def all(self) -> list[Resource]:
        """Every resource, sorted in deletion order."""
        found: list[Resource] = []
        found += self._guarded(KIND_USAGE_PLAN, self.usage_plans)
        found += self._guarded(KIND_API_KEY, self.api_keys)
        apis = self._guarded(KIND_REST_API, self.rest_apis)
        functions = self._guarded(KIND_FUNCTION, self.functions)
        found += apis + functions
        found += self._guarded(KIND_LOG_GROUP, lambda: self.log_groups(functions, apis))
        found += self._guarded(KIND_ROLE, self.roles)
        found += self._guarded(KIND_POLICY, self.policies)
        found += self._guarded(KIND_TABLE, self.tables)
        if self.include_budget:
            found += self._guarded(KIND_BUDGET, self.budgets)
        return sort_for_deletion(found)

    def _guarded(self, kind: str, lister: Callable[[], list[Resource]]) -> list[Resource]:
        try:
            return lister()
        except ClientError as error:
            if error_code(error) in UNAVAILABLE_CODES or kind == KIND_BUDGET:
                self._unavailable(kind, error)
                return []
            raise

    # --- the shared loop: list, keep workshop names, read tags, skip if gone, keep if mine ---

    def _with_tags(self, kind: str, items: Iterable[Item], name_of: Callable[[Item], str],
                   read_tags: Callable[[Item], dict[str, str]], *, check_name: bool = True
                   ) -> Iterator[tuple[Item, dict[str, str]]]:
        """Each listed item named like the workshop's, with its tags.

        One deleted while we were listing is skipped; one whose tags we may not read is a
        warning (it could be ours), and the rest are still read. ``check_name`` False: the
        listing itself was already narrowed to workshop names.
        """
        for item in items:
            if check_name and not name_of(item).startswith(self.name_prefix):
                continue  # not a workshop name: its tags are none of our business (nor allowed)
            try:
                tags = read_tags(item)
            except ClientError as error:
                if is_gone(error):
                    continue  # deleted while we were listing
                if error_code(error) in UNAVAILABLE_CODES:
                    self.warnings.append(f"could not read the tags of {KIND_LABELS[kind]} "
                                         f"{name_of(item)} ({_message(error)})")
                    continue
                raise
            yield item, tags

    def _owned(self, kind: str, items: Iterable[Item], name_of: Callable[[Item], str],
               read_tags: Callable[[Item], dict[str, str]]) -> Iterator[tuple[Item, str]]:
        """Each listed item whose name and tags make it this discovery's, with its owner."""
        for item, tags in self._with_tags(kind, items, name_of, read_tags):
            owner = owner_from_tags(tags)
            if self._mine(owner):
                yield item, owner  # type: ignore[misc]  # _mine rules out None

    # --- per service -------------------------------------------------------------------------

    def rest_apis(self) -> list[Resource]:
        # GetRestApis returns each API's tags, so no extra call is needed.
        found = []
        for page in self.clients("apigateway").get_paginator("get_rest_apis").paginate():
            for api in page.get("items", []):
                owner = owner_from_tags(api.get("tags"))
                if self._mine(owner):
                    found.append(Resource(KIND_REST_API, api.get("name", api["id"]), owner, api["id"]))
        return found

    def usage_plans(self) -> list[Resource]:
        # GetUsagePlans, like GetRestApis, returns each plan's tags (lab 08).
        found = []
        for page in self.clients("apigateway").get_paginator("get_usage_plans").paginate():
            for plan in page.get("items", []):
                owner = owner_from_tags(plan.get("tags"))
                if self._mine(owner):
                    found.append(Resource(KIND_USAGE_PLAN, plan.get("name", plan["id"]), owner, plan["id"]))
        return found

    def api_keys(self) -> list[Resource]:
        # GetApiKeys returns tags too; the key's value is never asked for.
        found = []
        for page in self.clients("apigateway").get_paginator("get_api_keys").paginate():
            for key in page.get("items", []):
                owner = owner_from_tags(key.get("tags"))
                if self._mine(owner):
                    found.append(Resource(KIND_API_KEY, key.get("name", key["id"]), owner, key["id"]))
        return found

    def functions(self) -> list[Resource]:
        lam = self.clients("lambda")
        listed = (function for page in lam.get_paginator("list_functions").paginate()
                  for function in page.get("Functions", []))
        return [Resource(KIND_FUNCTION, function["FunctionName"], owner, function["FunctionName"])
                for function, owner in self._owned(
                    KIND_FUNCTION, listed, lambda f: f["FunctionName"],
                    lambda f: lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {}))]

    def log_groups(self, functions: list[Resource], apis: list[Resource]) -> list[Resource]:
        logs = self.clients("logs")
        parents = {f"{LAMBDA_LOG_PREFIX}{f.name}": f for f in functions}
        api_parents = {f"{API_LOG_PREFIX}{a.ident}/": a for a in apis}
        found = []
        # Listed by prefix, so only workshop-named groups are read: Lambda's groups of
        # workshop-named functions, and API Gateway's execution logs of our APIs.
        for prefix in [f"{LAMBDA_LOG_PREFIX}{self.name_prefix}", *api_parents]:
            paginator = logs.get_paginator("describe_log_groups")
            listed = (group for page in paginator.paginate(logGroupNamePrefix=prefix)
                      for group in page.get("logGroups", []))
            for group, tags in self._with_tags(
                    KIND_LOG_GROUP, listed, lambda g: g["logGroupName"],
                    lambda g: logs.list_tags_for_resource(
                        resourceArn=_log_group_arn(g)).get("tags", {}), check_name=False):
                resource = self._log_group(group["logGroupName"], tags, parents, api_parents)
                if resource:
                    found.append(resource)
        return found

    def _log_group(self, name: str, tags: dict[str, str], parents: dict[str, Resource],
                   api_parents: dict[str, Resource]) -> Resource | None:
        owner = owner_from_tags(tags)
        if owner is not None:
            return Resource(KIND_LOG_GROUP, name, owner, name) if self._mine(owner) else None
        if tags.get(WORKSHOP_TAG_KEY) or tags.get(OWNER_TAG_KEY):
            return None  # tagged, but not as ours: somebody else's
        # An untagged group is ours only through its exact parent: the function of exactly this
        # name, or an API whose id is the whole part before the stage.
        parent = parents.get(name)
        if parent is None:
            parent = next((api for prefix, api in api_parents.items() if name.startswith(prefix)),
                          None)
        if parent is None:
            return None
        return Resource(KIND_LOG_GROUP, name, parent.owner, name, parent=parent.ident,
                        note=f"untagged; belongs to {parent.label} {parent.name}")

    def roles(self) -> list[Resource]:
        # ListRoles does not return tags, and the tagging API does not list IAM roles: ask each.
        iam = self.clients("iam")
        listed = (role for page in iam.get_paginator("list_roles").paginate()
                  for role in page.get("Roles", [])
                  # service-linked roles belong to AWS services
                  if not role.get("Path", "/").startswith("/aws-service-role/"))
        return [Resource(KIND_ROLE, role["RoleName"], owner, role["RoleName"])
                for role, owner in self._owned(
                    KIND_ROLE, listed, lambda r: r["RoleName"],
                    lambda r: tags_from_list(_all_role_tags(iam, r["RoleName"])))]

    def policies(self) -> list[Resource]:
        iam = self.clients("iam")
        listed = (policy for page in iam.get_paginator("list_policies").paginate(Scope="Local")
                  for policy in page.get("Policies", []))
        return [Resource(KIND_POLICY, policy["PolicyName"], owner, policy["Arn"])
                for policy, owner in self._owned(
                    KIND_POLICY, listed, lambda p: p["PolicyName"],
                    lambda p: tags_from_list(
                        iam.list_policy_tags(PolicyArn=p["Arn"]).get("Tags", [])))]

    def tables(self) -> list[Resource]:
        dynamodb = self.clients("dynamodb")
        statuses: dict[str, str] = {}

        def read_tags(name: str) -> dict[str, str]:
            table = dynamodb.describe_table(TableName=name)["Table"]
            statuses[name] = table.get("TableStatus", "")
            return tags_from_list(_all_table_tags(dynamodb, table["TableArn"]))

        listed = (name for page in dynamodb.get_paginator("list_tables").paginate()
                  for name in page.get("TableNames", []))
        return [Resource(KIND_TABLE, name, owner, name,
                         note="being deleted" if statuses[name] == "DELETING" else "")
                for name, owner in self._owned(KIND_TABLE, listed, lambda n: n, read_tags)]

    def budgets(self) -> list[Resource]:
        budgets = self.clients("budgets")
        account = self.clients.account_id
        found = []
        for page in budgets.get_paginator("describe_budgets").paginate(AccountId=account):
            for budget in page.get("Budgets", []):
                name = budget["BudgetName"]
                match = _BUDGET_NAME.match(name)
                if not match or not self._mine(match.group(1)):
                    continue
                arn = f"arn:{self.clients.partition}:budgets::{account}:budget/{name}"
                try:
                    tags = tags_from_list(
                        budgets.list_tags_for_resource(ResourceARN=arn).get("ResourceTags", []))
                except (ClientError, NotImplementedError):
                    tags = None  # tags not readable here: the exact name is the evidence
                if tags:
                    owner = owner_from_tags(tags)
                    if owner != match.group(1) or not self._mine(owner):
                        continue
                    found.append(Resource(KIND_BUDGET, name, owner, name))
                else:
                    found.append(Resource(KIND_BUDGET, name, match.group(1), name,
                                          note="no tags readable; matched by its exact name"))
        return found


def _log_group_arn(group: dict[str, Any]) -> str:
    # DescribeLogGroups returns "arn" ending in ":*" and, newer, "logGroupArn" without it;
    # ListTagsForResource wants the form without ":*".
    arn = group.get("logGroupArn") or group["arn"]
    return arn.removesuffix(":*")


def find_log_group(logs: Any, name: str) -> dict[str, Any] | None:
    """The log group called exactly ``name``, or None.

    DescribeLogGroups only filters by prefix, and one owner's group name is a prefix of
    another's (``/aws/lambda/inventory-ada-api`` of ``owner ada-api``'s
    ``/aws/lambda/inventory-ada-api-api``): compare whole names, on every page.
    """
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return group
    return None


def _all_role_tags(iam: Any, role_name: str) -> list[dict[str, str]]:
    tags, marker = [], None
    while True:
        kwargs = {"RoleName": role_name, **({"Marker": marker} if marker else {})}
        page = iam.list_role_tags(**kwargs)
        tags += page.get("Tags", [])
        if not page.get("IsTruncated"):
            return tags
        marker = page["Marker"]


def _all_table_tags(dynamodb: Any, arn: str) -> list[dict[str, str]]:
    tags, token = [], None
    while True:
        kwargs = {"ResourceArn": arn, **({"NextToken": token} if token else {})}
        page = dynamodb.list_tags_of_resource(**kwargs)
        tags += page.get("Tags", [])
        token = page.get("NextToken")
        if not token:
            return tags


def discover(owner: str | None, *, clients: Clients | None = None,
             include_budget: bool = False) -> list[Resource]:
    """The workshop's resources of ``owner`` (None: of every owner), in deletion order.

    Raises :class:`DiscoveryIncomplete` (with what was found and why the rest could not be
    looked at) when any listing or tag read was refused: an empty answer always means "nothing".
    """
    discovery = Discovery(clients or Clients(), owner, include_budget=include_budget)
    found = discovery.all()
    if not discovery.complete:
        raise DiscoveryIncomplete(discovery.warnings, found)
    return found


def owners_in_account(clients: Clients | None = None) -> list[str]:
    """Every learner who has at least one tagged workshop resource in this account and region."""
    return sorted({resource.owner for resource in discover(None, clients=clients)})
