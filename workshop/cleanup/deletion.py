"""Deleting resources in dependency order, each step idempotent, with the waits AWS needs.

The REST API calls the function, the function assumes the role and uses the table, so they go
in that order. Every step treats "not found" as "already gone", so running it twice or after a
failure is safe. Waits that take long (API Gateway's deletion quota, IAM's eventual consistency,
a table being deleted) are printed, so nobody kills a cleanup that is only waiting.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import ClientError

from workshop.cleanup.clients import Clients
from workshop.cleanup.errors import CleanupError, error_code, is_gone
from workshop.cleanup.progress import StatusLine, countdown
from workshop.cleanup.resources import (
    KIND_API_KEY,
    KIND_USAGE_PLAN,
    KIND_BUDGET,
    KIND_FUNCTION,
    KIND_LOG_GROUP,
    KIND_POLICY,
    KIND_REST_API,
    KIND_ROLE,
    KIND_TABLE,
    Resource,
    sort_for_deletion,
)
from workshop.cleanup.terminal import marks_for
from workshop.naming import workshop_tags
from workshop.retrying import throttle_wait

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

APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"


@dataclass
class Outcome:
    """What happened to one resource during a cleanup."""

    resource: Resource
    status: str  # "deleted", "already gone", "skipped", "failed"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("deleted", "already gone")


class Deleter:
    """Deletes resources one kind at a time, in dependency order, printing each outcome.

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

    def wait(self, seconds: float, why: str) -> None:
        countdown(seconds, why, out=self.out, sleep=self.sleep)

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
                arn = (f"arn:{self.clients.partition}:logs:{self.clients.region}:"
                       f"{self.clients.account_id}:log-group:{child.name}")
                logs.tag_resource(resourceArn=arn, tags=workshop_tags(owner))
            except ClientError:
                pass  # best effort: the log group is deleted right after its parent anyway

    def delete(self, resource: Resource) -> Outcome:
        deleter = {
            KIND_USAGE_PLAN: self.delete_usage_plan,
            KIND_API_KEY: self.delete_api_key,
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

    def delete_usage_plan(self, resource: Resource) -> None:
        """Detach the plan's API stages, then delete it (AWS refuses to delete a plan that still
        has stages; its key associations go with it)."""
        apigateway = self.clients("apigateway")
        plan = apigateway.get_usage_plan(usagePlanId=resource.ident)
        stages = [f"{stage['apiId']}:{stage['stage']}" for stage in plan.get("apiStages", [])]
        if stages:
            apigateway.update_usage_plan(usagePlanId=resource.ident, patchOperations=[
                {"op": "remove", "path": "/apiStages", "value": stage} for stage in stages])
        apigateway.delete_usage_plan(usagePlanId=resource.ident)

    def delete_api_key(self, resource: Resource) -> None:
        self.clients("apigateway").delete_api_key(apiKey=resource.ident)

    def delete_rest_api(self, resource: Resource) -> None:
        # botocore's own backoff would wait silently and too briefly for this quota.
        apigateway = self.clients.single_try("apigateway")
        for attempt in range(1, API_DELETE_ATTEMPTS + 1):
            try:
                apigateway.delete_rest_api(restApiId=resource.ident)
                return
            except ClientError as error:
                if error_code(error) != "TooManyRequestsException":
                    raise
                # The wait API Gateway asks for (Retry-After), else a whole quota period.
                wait = throttle_wait(error, attempt, max_attempts=API_DELETE_ATTEMPTS,
                                     fallback=API_DELETE_INTERVAL_SECONDS)
                self.wait(
                    wait,
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
        """Poll until the table is gone, showing progress so nobody kills the cleanup."""
        dynamodb = self.clients("dynamodb")
        started = self.monotonic()
        announced = False
        with StatusLine(self.out) as status_line:
            while True:
                try:
                    status = dynamodb.describe_table(TableName=table)["Table"]["TableStatus"]
                except ClientError as error:
                    if is_gone(error):
                        if announced:
                            status_line.done(f"    table {table} is gone after "
                                             f"{self.monotonic() - started:.0f} s")
                        return
                    raise
                elapsed = self.monotonic() - started
                if elapsed > TABLE_DELETE_TIMEOUT_SECONDS:
                    raise CleanupError(f"table {table} is still {status} after {elapsed:.0f} s")
                status_line.show(f"    waiting for table {table} to be deleted "
                                 f"({status}, {elapsed:.0f} s) ...")
                announced = True
                self.sleep(self.poll_interval)

    def delete_budget(self, resource: Resource) -> None:
        self.clients("budgets").delete_budget(AccountId=self.clients.account_id,
                                              BudgetName=resource.ident)


def _ignore_gone(call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as error:
        if not is_gone(error):
            raise
