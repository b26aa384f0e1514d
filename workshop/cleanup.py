"""Find and delete everything the workshop created, and nothing else.

The write-up's third warning is about charges: a forgotten API, function or table keeps costing
money. This module is the safe way out, shared by ``scripts/cleanup.py``, lab 07 and the check
for lab 07.

Ownership rules (what "ours" means; nothing is ever deleted by its name alone):

* REST APIs, Lambda functions, IAM roles, customer managed IAM policies, DynamoDB tables and log
  groups are ours when their tags say ``workshop=serverless-inventory`` and
  ``workshop-owner=<owner>``. A look-alike with the same name but without these tags, or with
  another owner's tag, is left alone.
* A log group without tags is ours only when it is ``/aws/lambda/<function>`` for a function
  that is ours (Lambda creates that group itself, untagged, on the first invocation) or
  ``API-Gateway-Execution-Logs_<api id>/...`` for one of our REST APIs. Before such a parent is
  deleted its log groups are tagged, so a cleanup interrupted half way still finds them.
* A budget is touched only with ``include_budget``, only under the exact name
  ``inventory-<owner>-budget``, and, when AWS Budgets returns tags for it, only when they are the
  workshop's and the owner's. (Budgets created before tag support, or an emulator without it,
  leave the exact name as the only evidence; a budget holds no data, so that is an acceptable
  risk for a step the user asked for explicitly.)

Deletion runs in dependency order (the REST API calls the function, the function assumes the
role and uses the table), every step treats "not found" as "already gone", so running it twice or
after a failure is safe, and it finishes by discovering again to prove nothing is left.

Only calls that exist on real AWS are used: the Resource Groups Tagging API does not list IAM
roles, so every service is asked directly (list + tags).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from workshop.naming import (
    NAME_PREFIX,
    OWNER_TAG_KEY,
    WORKSHOP_TAG_KEY,
    WORKSHOP_TAG_VALUE,
    normalize_owner,
    workshop_tags,
)

# The "standard" retry mode backs off on throttling errors of every service (Throttling,
# TooManyRequestsException, ...) with jitter, up to total_max_attempts tries in all.
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8})

# API Gateway allows DeleteRestApi once every 30 seconds per account (a fixed quota that cannot
# be raised, see "API Gateway quotas for creating, deploying and managing an API"), so deleting
# several APIs needs waits longer than botocore's backoff.
API_DELETE_INTERVAL_SECONDS = 31
API_DELETE_ATTEMPTS = 8

# IAM is eventually consistent: a policy detached a moment ago can still block DeleteRole with
# DeleteConflict for a few seconds.
ROLE_DELETE_ATTEMPTS = 6
ROLE_DELETE_WAIT_SECONDS = 5

TABLE_DELETE_TIMEOUT_SECONDS = 600

LAMBDA_LOG_PREFIX = "/aws/lambda/"
API_LOG_PREFIX = "API-Gateway-Execution-Logs_"
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"

KIND_REST_API = "rest-api"
KIND_FUNCTION = "function"
KIND_LOG_GROUP = "log-group"
KIND_ROLE = "role"
KIND_POLICY = "policy"
KIND_TABLE = "table"
KIND_BUDGET = "budget"

# Dependency order: what calls or uses something is deleted before the thing it uses.
DELETE_ORDER = (
    KIND_REST_API,
    KIND_FUNCTION,
    KIND_LOG_GROUP,
    KIND_ROLE,
    KIND_POLICY,
    KIND_TABLE,
    KIND_BUDGET,
)
KIND_LABELS = {
    KIND_REST_API: "REST API",
    KIND_FUNCTION: "Lambda function",
    KIND_LOG_GROUP: "log group",
    KIND_ROLE: "IAM role",
    KIND_POLICY: "IAM policy",
    KIND_TABLE: "DynamoDB table",
    KIND_BUDGET: "budget",
}

_BUDGET_NAME = re.compile(rf"^{NAME_PREFIX}-([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-budget$")

# Error codes that mean "the thing is not there (any more)".
_GONE = {
    "NotFoundException",  # API Gateway, Budgets
    "ResourceNotFoundException",  # Lambda, DynamoDB, CloudWatch Logs
    "NoSuchEntity",  # IAM (the modelled exception is NoSuchEntityException, the code NoSuchEntity)
    "NoSuchEntityException",
}
# Error codes that mean "this service or call is not available here" (an emulator without it,
# or a caller without the permission): discovery of that kind is reported, not fatal.
_UNAVAILABLE = {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                "InvalidAction", "NotImplemented"}


@dataclass(frozen=True)
class Marks:
    """Pass/fail marks; words where the terminal cannot print the symbols (a Windows cp1252
    console raises UnicodeEncodeError on "✔")."""

    ok: str
    fail: str
    skip: str
    dot: str


UNICODE_MARKS = Marks("✔", "✘", "–", "·")
ASCII_MARKS = Marks("PASS", "FAIL", "SKIP", "-")


def marks_for(stream: TextIO) -> Marks:
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # an in-memory text buffer holds any character
        return UNICODE_MARKS
    try:
        "".join((UNICODE_MARKS.ok, UNICODE_MARKS.fail, UNICODE_MARKS.skip,
                 UNICODE_MARKS.dot)).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return UNICODE_MARKS


def tolerant_stdout() -> TextIO:
    """sys.stdout that prints '?' for a character the terminal's encoding lacks, not a crash."""
    try:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
    return sys.stdout


class CleanupError(RuntimeError):
    """Cleanup cannot start (for example: no confirmation); the message says what to do."""


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


@dataclass
class Outcome:
    """What happened to one resource during a cleanup."""

    resource: Resource
    status: str  # "deleted", "already gone", "skipped", "failed"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("deleted", "already gone")


@dataclass
class Report:
    """The result of :meth:`Cleaner.run`."""

    found: list[Resource] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    remaining: list[Resource] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if self.dry_run:
            return True
        return not self.remaining and all(outcome.ok for outcome in self.outcomes)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_gone(error: ClientError) -> bool:
    return error_code(error) in _GONE


def owner_from_tags(tags: dict[str, str] | None) -> str | None:
    """The workshop owner recorded in ``tags``, or None when they are not the workshop's."""
    if not tags or tags.get(WORKSHOP_TAG_KEY) != WORKSHOP_TAG_VALUE:
        return None
    owner = tags.get(OWNER_TAG_KEY, "").strip()
    return owner or None


def _tags_from_list(items: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in items or ()}


class Clients:
    """boto3 clients for one region, made on first use, all with standard retries."""

    def __init__(self, session: boto3.session.Session | None = None, region: str | None = None,
                 config: Config = RETRY_CONFIG) -> None:
        self.session = session or boto3.session.Session(region_name=region)
        self.config = config
        self._clients: dict[str, Any] = {}
        self._account_id: str | None = None

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=self.config)
        return self._clients[service]

    def single_try(self, service: str) -> Any:
        """A client that does not retry by itself, for calls whose waits we show as progress."""
        key = f"{service} (single try)"
        if key not in self._clients:
            config = self.config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
            self._clients[key] = self.session.client(service, config=config)
        return self._clients[key]

    @property
    def region(self) -> str:
        return self("sts").meta.region_name

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = self("sts").get_caller_identity()["Account"]
        return self._account_id


class Discovery:
    """Lists the workshop's resources for one owner (or every owner when ``owner`` is None)."""

    def __init__(self, clients: Clients, owner: str | None, *, include_budget: bool = False) -> None:
        self.clients = clients
        self.owner = normalize_owner(owner) if owner else None
        self.include_budget = include_budget
        self.warnings: list[str] = []

    def _mine(self, owner: str | None) -> bool:
        return owner is not None and (self.owner is None or owner == self.owner)

    def _unavailable(self, kind: str, error: ClientError) -> None:
        self.warnings.append(
            f"could not list {KIND_LABELS[kind]}s ({error_code(error)}): "
            f"{error.response.get('Error', {}).get('Message', '')}".rstrip(": ")
        )

    def all(self) -> list[Resource]:
        """Every resource, sorted in deletion order."""
        found: list[Resource] = []
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
            if error_code(error) in _UNAVAILABLE or kind == KIND_BUDGET:
                self._unavailable(kind, error)
                return []
            raise

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

    def functions(self) -> list[Resource]:
        lam = self.clients("lambda")
        found = []
        for page in lam.get_paginator("list_functions").paginate():
            for function in page.get("Functions", []):
                try:
                    tags = lam.list_tags(Resource=function["FunctionArn"]).get("Tags", {})
                except ClientError as error:
                    if is_gone(error):
                        continue  # deleted while we were listing
                    raise
                owner = owner_from_tags(tags)
                if self._mine(owner):
                    found.append(Resource(KIND_FUNCTION, function["FunctionName"], owner,
                                          function["FunctionName"]))
        return found

    def log_groups(self, functions: list[Resource], apis: list[Resource]) -> list[Resource]:
        logs = self.clients("logs")
        parents = {f"{LAMBDA_LOG_PREFIX}{f.name}": f for f in functions}
        api_parents = {f"{API_LOG_PREFIX}{a.ident}/": a for a in apis}
        found = []
        prefixes = [LAMBDA_LOG_PREFIX, *api_parents]
        for prefix in prefixes:
            paginator = logs.get_paginator("describe_log_groups")
            for page in paginator.paginate(logGroupNamePrefix=prefix):
                for group in page.get("logGroups", []):
                    name = group["logGroupName"]
                    try:
                        tags = logs.list_tags_for_resource(resourceArn=_log_group_arn(group)).get(
                            "tags", {})
                    except ClientError as error:
                        if is_gone(error):
                            continue
                        raise
                    resource = self._log_group(name, tags, parents, api_parents)
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
        found = []
        for page in iam.get_paginator("list_roles").paginate():
            for role in page.get("Roles", []):
                if role.get("Path", "/").startswith("/aws-service-role/"):
                    continue  # service-linked roles belong to AWS services
                try:
                    tags = _tags_from_list(_all_role_tags(iam, role["RoleName"]))
                except ClientError as error:
                    if is_gone(error):
                        continue
                    raise
                owner = owner_from_tags(tags)
                if self._mine(owner):
                    found.append(Resource(KIND_ROLE, role["RoleName"], owner, role["RoleName"]))
        return found

    def policies(self) -> list[Resource]:
        iam = self.clients("iam")
        found = []
        for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
            for policy in page.get("Policies", []):
                try:
                    tags = _tags_from_list(
                        iam.list_policy_tags(PolicyArn=policy["Arn"]).get("Tags", []))
                except ClientError as error:
                    if is_gone(error):
                        continue
                    raise
                owner = owner_from_tags(tags)
                if self._mine(owner):
                    found.append(Resource(KIND_POLICY, policy["PolicyName"], owner, policy["Arn"]))
        return found

    def tables(self) -> list[Resource]:
        dynamodb = self.clients("dynamodb")
        found = []
        for page in dynamodb.get_paginator("list_tables").paginate():
            for name in page.get("TableNames", []):
                try:
                    table = dynamodb.describe_table(TableName=name)["Table"]
                    tags = _tags_from_list(_all_table_tags(dynamodb, table["TableArn"]))
                except ClientError as error:
                    if is_gone(error):
                        continue
                    raise
                owner = owner_from_tags(tags)
                if self._mine(owner):
                    status = table.get("TableStatus", "")
                    note = "being deleted" if status == "DELETING" else ""
                    found.append(Resource(KIND_TABLE, name, owner, name, note=note))
        return found

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
                arn = f"arn:{_partition(self.clients.region)}:budgets::{account}:budget/{name}"
                try:
                    tags = _tags_from_list(
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


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _log_group_arn(group: dict[str, Any]) -> str:
    # DescribeLogGroups returns "arn" ending in ":*" and, newer, "logGroupArn" without it;
    # ListTagsForResource wants the form without ":*".
    arn = group.get("logGroupArn") or group["arn"]
    return arn.removesuffix(":*")


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


def sort_for_deletion(resources: Iterable[Resource]) -> list[Resource]:
    return sorted(resources, key=lambda r: (DELETE_ORDER.index(r.kind), r.owner, r.name))


def discover(owner: str | None, *, clients: Clients | None = None,
             include_budget: bool = False) -> list[Resource]:
    """The workshop's resources of ``owner`` (None: of every owner), in deletion order."""
    return Discovery(clients or Clients(), owner, include_budget=include_budget).all()


def owners_in_account(clients: Clients | None = None) -> list[str]:
    """Every learner who has at least one tagged workshop resource in this account and region."""
    return sorted({resource.owner for resource in discover(None, clients=clients)})


class Cleaner:
    """Deletes discovered resources in dependency order and verifies nothing is left.

    ``sleep`` and ``out`` are injectable so tests run without waiting and can read the output.
    """

    def __init__(self, clients: Clients, *, out: TextIO | None = None,
                 sleep: Callable[[float], None] = time.sleep, poll_interval: float = 2.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.clients = clients
        self.out = out or sys.stdout
        self.marks = marks_for(self.out)
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.monotonic = monotonic

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # --- the whole run -------------------------------------------------------------------------

    def run(self, owner: str | None, *, dry_run: bool = False, include_budget: bool = False,
            confirm: Callable[[list[Resource]], bool] | None = None,
            found: list[Resource] | None = None) -> Report:
        """Discover, (confirm,) delete and verify. ``owner`` None means every owner."""
        discovery = Discovery(self.clients, owner, include_budget=include_budget)
        report = Report(dry_run=dry_run)
        report.found = found if found is not None else discovery.all()
        report.warnings += discovery.warnings
        for warning in report.warnings:
            self.say(f"warning: {warning}")
        whose = f"{discovery.owner}'s" if discovery.owner else "the workshop's"
        if not report.found:
            self.say(f"Nothing of {whose} was found: there is nothing to delete.")
            return report
        self.say(f"Found {len(report.found)} of {whose} resources:")
        for resource in report.found:
            owner_note = "" if discovery.owner else f"  (owner {resource.owner})"
            self.say(f"  - {resource.describe()}{owner_note}")
        if dry_run:
            self.say("Dry run: nothing was deleted. Run again without --dry-run to delete these.")
            return report
        if confirm is not None and not confirm(report.found):
            raise CleanupError("Cleanup cancelled: nothing was deleted.")
        self.say("Deleting, in dependency order:")
        report.outcomes = self.delete_all(report.found)
        self.say("Verifying that nothing is left ...")
        verify = Discovery(self.clients, owner, include_budget=include_budget)
        report.remaining = verify.all()
        if report.remaining:
            self.say(f"{self.marks.fail} {len(report.remaining)} resource(s) are still there:")
            for resource in report.remaining:
                self.say(f"  - {resource.describe()}")
            self.say("Run the cleanup again; if the same resources stay, the errors above say why.")
        elif all(outcome.ok for outcome in report.outcomes):
            self.say(f"{self.marks.ok} Nothing of {whose} is left.")
        else:
            self.say(f"{self.marks.fail} Nothing is left to find, but some steps failed (see above).")
        return report

    def delete_all(self, resources: list[Resource]) -> list[Outcome]:
        outcomes = []
        by_parent: dict[str, list[Resource]] = {}
        for resource in resources:
            if resource.kind == KIND_LOG_GROUP and resource.parent:
                by_parent.setdefault(resource.parent, []).append(resource)
        for resource in sort_for_deletion(resources):
            if resource.kind in (KIND_REST_API, KIND_FUNCTION):
                # An untagged log group is ours only through its parent: tag it before the parent
                # goes, so an interrupted cleanup still recognises it next time.
                self._mark_children(by_parent.get(resource.ident, []), resource.owner)
            outcome = self.delete(resource)
            outcomes.append(outcome)
            mark = {"deleted": self.marks.ok, "already gone": self.marks.ok,
                    "skipped": self.marks.skip}.get(outcome.status, self.marks.fail)
            message = f": {outcome.message}" if outcome.message else ""
            self.say(f"  {mark} {outcome.status} {resource.describe()}{message}")
        return outcomes

    def _mark_children(self, children: list[Resource], owner: str) -> None:
        logs = self.clients("logs")
        for child in children:
            try:
                arn = (f"arn:{_partition(self.clients.region)}:logs:{self.clients.region}:"
                       f"{self.clients.account_id}:log-group:{child.name}")
                logs.tag_resource(resourceArn=arn, tags=workshop_tags(owner))
            except ClientError:
                pass  # best effort: the log group is deleted right after its parent anyway

    def delete(self, resource: Resource) -> Outcome:
        deleter = {
            KIND_REST_API: self.delete_rest_api,
            KIND_FUNCTION: self.delete_function,
            KIND_LOG_GROUP: self.delete_log_group,
            KIND_ROLE: self.delete_role,
            KIND_POLICY: self.delete_policy,
            KIND_TABLE: self.delete_table,
            KIND_BUDGET: self.delete_budget,
        }[resource.kind]
        try:
            result = deleter(resource)
        except ClientError as error:
            if is_gone(error):
                return Outcome(resource, "already gone")
            message = error.response.get("Error", {}).get("Message", "") or str(error)
            return Outcome(resource, "failed", f"{error_code(error)}: {message}")
        if isinstance(result, Outcome):
            return result
        return Outcome(resource, "deleted")

    # --- per kind ------------------------------------------------------------------------------

    def delete_rest_api(self, resource: Resource) -> None:
        # botocore's own backoff would wait silently and too briefly for this quota.
        apigateway = self.clients.single_try("apigateway")
        for attempt in range(1, API_DELETE_ATTEMPTS + 1):
            try:
                apigateway.delete_rest_api(restApiId=resource.ident)
                return
            except ClientError as error:
                if error_code(error) != "TooManyRequestsException" or attempt == API_DELETE_ATTEMPTS:
                    raise
                self.wait(
                    API_DELETE_INTERVAL_SECONDS,
                    f"API Gateway allows one API deletion per 30 s; retrying {resource.name} "
                    f"(attempt {attempt + 1} of {API_DELETE_ATTEMPTS})",
                )

    def delete_function(self, resource: Resource) -> None:
        lam = self.clients("lambda")
        # The permission goes with the function on AWS; removing it first means a failed
        # DeleteFunction still leaves the function unreachable from API Gateway.
        try:
            policy = json.loads(lam.get_policy(FunctionName=resource.ident)["Policy"])
        except ClientError as error:
            if not is_gone(error):
                raise
            policy = {}
        for statement in policy.get("Statement", []):
            principal = statement.get("Principal", {})
            service = principal.get("Service") if isinstance(principal, dict) else principal
            if service == APIGATEWAY_PRINCIPAL and statement.get("Sid"):
                try:
                    lam.remove_permission(FunctionName=resource.ident, StatementId=statement["Sid"])
                except ClientError as error:
                    if not is_gone(error):
                        raise
        lam.delete_function(FunctionName=resource.ident)

    def delete_log_group(self, resource: Resource) -> None:
        self.clients("logs").delete_log_group(logGroupName=resource.ident)

    def delete_role(self, resource: Resource) -> None:
        iam = self.clients("iam")
        for attempt in range(1, ROLE_DELETE_ATTEMPTS + 1):
            self._empty_role(iam, resource.ident)
            try:
                iam.delete_role(RoleName=resource.ident)
                return
            except ClientError as error:
                if error_code(error) != "DeleteConflict" or attempt == ROLE_DELETE_ATTEMPTS:
                    raise
                self.wait(
                    ROLE_DELETE_WAIT_SECONDS,
                    f"IAM still sees something attached to role {resource.name} "
                    f"({error.response['Error'].get('Message', 'DeleteConflict')}); retrying",
                )

    @staticmethod
    def _empty_role(iam: Any, role: str) -> None:
        """Remove what DeleteRole refuses to delete with: inline and attached policies, profiles."""
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
            for name in page.get("PolicyNames", []):
                _ignore_gone(iam.delete_role_policy, RoleName=role, PolicyName=name)
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role):
            for policy in page.get("AttachedPolicies", []):
                _ignore_gone(iam.detach_role_policy, RoleName=role, PolicyArn=policy["PolicyArn"])
        for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=role):
            for profile in page.get("InstanceProfiles", []):
                _ignore_gone(iam.remove_role_from_instance_profile, RoleName=role,
                             InstanceProfileName=profile["InstanceProfileName"])

    def delete_policy(self, resource: Resource) -> Outcome | None:
        iam = self.clients("iam")
        arn = resource.ident
        attached = iam.list_entities_for_policy(PolicyArn=arn)
        users = [u["UserName"] for u in attached.get("PolicyUsers", [])]
        groups = [g["GroupName"] for g in attached.get("PolicyGroups", [])]
        roles = [r["RoleName"] for r in attached.get("PolicyRoles", [])]
        if users or groups or roles:
            # Our own roles were deleted just before; anything still attached is not ours.
            return Outcome(resource, "skipped",
                           f"still attached to {', '.join(users + groups + roles)}; detach it first")
        for version in iam.list_policy_versions(PolicyArn=arn).get("Versions", []):
            if not version.get("IsDefaultVersion"):
                _ignore_gone(iam.delete_policy_version, PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)
        return None

    def delete_table(self, resource: Resource) -> None:
        dynamodb = self.clients("dynamodb")
        started = self.monotonic()
        while True:
            try:
                dynamodb.delete_table(TableName=resource.ident)
                break
            except ClientError as error:
                # A table still being created or updated refuses deletion: wait for it.
                if error_code(error) != "ResourceInUseException":
                    raise
                if self._is_deleting(dynamodb, resource.ident):
                    break
                if self.monotonic() - started > TABLE_DELETE_TIMEOUT_SECONDS:
                    raise
                self.wait(self.poll_interval, f"table {resource.name} is busy; retrying the delete")
        self.wait_table_gone(resource.ident)

    @staticmethod
    def _is_deleting(dynamodb: Any, table: str) -> bool:
        try:
            return dynamodb.describe_table(TableName=table)["Table"]["TableStatus"] == "DELETING"
        except ClientError as error:
            if is_gone(error):
                return True
            raise

    def wait_table_gone(self, table: str) -> None:
        """Poll until the table is gone, printing progress so nobody kills the cleanup."""
        dynamodb = self.clients("dynamodb")
        started = self.monotonic()
        announced = False
        while True:
            try:
                status = dynamodb.describe_table(TableName=table)["Table"]["TableStatus"]
            except ClientError as error:
                if is_gone(error):
                    if announced:
                        self.say(f"    table {table} is gone after {self.monotonic() - started:.0f} s")
                    return
                raise
            elapsed = self.monotonic() - started
            if elapsed > TABLE_DELETE_TIMEOUT_SECONDS:
                raise CleanupError(f"table {table} is still {status} after {elapsed:.0f} s")
            self.say(f"    waiting for table {table} to be deleted ({status}, {elapsed:.0f} s) ...")
            announced = True
            self.sleep(self.poll_interval)

    def delete_budget(self, resource: Resource) -> None:
        self.clients("budgets").delete_budget(AccountId=self.clients.account_id,
                                              BudgetName=resource.ident)

    def wait(self, seconds: float, why: str) -> None:
        self.say(f"    {why}: waiting {seconds:.0f} s ...")
        self.sleep(seconds)


def _ignore_gone(call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as error:
        if not is_gone(error):
            raise


def ask_confirmation(resources: list[Resource], *, where: str, stdin: TextIO | None = None,
                     out: TextIO | None = None) -> bool:
    """Ask on the terminal before deleting on AWS; refuse (never hang) without a terminal."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    interactive = stdin is not None and not stdin.closed and stdin.isatty()
    if not interactive:
        raise CleanupError(
            f"Refusing to delete {len(resources)} resource(s) in {where} without confirmation: "
            "there is no terminal to ask on. Re-run with --yes to confirm, or with --dry-run to "
            "only list them."
        )
    print(f"Delete these {len(resources)} resource(s) in {where}? This cannot be undone. "
          "Type 'yes' to continue: ", end="", file=out, flush=True)
    answer = stdin.readline()
    if not answer:  # end of input
        print(file=out)
        return False
    return answer.strip().lower() in ("yes", "y")


__all__ = [
    "Clients",
    "Cleaner",
    "CleanupError",
    "Discovery",
    "Outcome",
    "Report",
    "Resource",
    "ask_confirmation",
    "discover",
    "owner_from_tags",
    "owners_in_account",
]


# --- the command line ---------------------------------------------------------------------------


def build_parser() -> "argparse.ArgumentParser":
    import argparse

    parser = argparse.ArgumentParser(
        prog="cleanup.py",
        description="Delete everything the workshop created for a learner (found by its tags), "
                    "in dependency order, then prove nothing is left. Local cloud by default; "
                    "WORKSHOP_TARGET=aws for AWS, where it asks before deleting.")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask for confirmation (on AWS it asks otherwise)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--owner", help="whose resources (default: WORKSHOP_OWNER or your login)")
    who.add_argument("--all-owners", action="store_true",
                     help="instructors: every learner's resources in this account and region")
    parser.add_argument("--region", help="the AWS region to clean (default: your configured one); "
                        "IAM roles and policies are global")
    parser.add_argument("--include-budget", action="store_true",
                        help="also delete the budget inventory-<owner>-budget (lab 00)")
    return parser


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         out: TextIO | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Exit status: 0 all gone (or dry run), 1 something is left or failed, 2 not started."""
    import os

    from workshop.naming import InvalidOwnerError, current_owner
    from workshop.target import TargetError, connect, target_name

    out = out or tolerant_stdout()
    args = build_parser().parse_args(argv)
    try:
        owner = None if args.all_owners else (
            normalize_owner(args.owner) if args.owner else current_owner())
    except InvalidOwnerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.region and target_name() != "local":
            os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = args.region
        target = connect()
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    clients = Clients(region=args.region or target.region)
    where = ("the local cloud" if target.is_local else f"AWS account {target.account_id}") + (
        f", region {clients.region}")
    confirm = None
    if not (target.is_local or args.yes or args.dry_run):
        def confirm(resources: list[Resource]) -> bool:
            return ask_confirmation(resources, where=where, stdin=stdin, out=out)
    cleaner = Cleaner(clients, out=out, sleep=sleep,
                      poll_interval=0.2 if target.is_local else 2.0)
    whose = f"{owner}'s" if owner else "every learner's"
    print(f"Cleanup of {whose} workshop resources in {where}.", file=out)
    try:
        report = cleaner.run(owner, dry_run=args.dry_run, include_budget=args.include_budget,
                             confirm=confirm)
    except CleanupError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted. Nothing is lost: run the cleanup again and it carries on where it "
              "stopped.", file=sys.stderr)
        return 130
    except ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if report.warnings and not args.dry_run:
        print(f"{marks_for(out).fail} Some kinds of resources could not be listed (see the "
              "warnings), so cleanup cannot prove nothing is left.", file=out)
        return 1
    return 0 if report.ok else 1
