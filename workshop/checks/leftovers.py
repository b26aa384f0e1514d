"""Lab 07: nothing of the learner's is left, tagged (cleanup's job) or untagged (theirs).

This check is inverted: it passes when nothing is found. Untagged resources with the learner's
exact names are named too, because cleanup.py never deletes them and a silent pass would leave
them costing money.
"""

from __future__ import annotations

from collections.abc import Iterator

from workshop.checks.lookups import ResourceLookups
from workshop.checks.result import CheckResult, lab_hint
from workshop.cleanup import (
    KIND_LABELS,
    DiscoveryIncomplete,
    discover,
    find_log_group,
    owner_from_tags,
)


class LeftoverChecks(ResourceLookups):
    def lab_07(self) -> Iterator[CheckResult]:
        try:
            left = discover(self.owner, clients=self.clients)
            refused: list[str] = []
        except DiscoveryIncomplete as incomplete:
            left, refused = incomplete.found, incomplete.warnings
        for warning in refused:
            # Never "nothing is left" when we could not look: the learner must see the refusal.
            yield CheckResult("07", "every kind of resource could be looked at", False, warning,
                              lab_hint("07", "your identity lacks a permission the cleanup "
                                       "needs (the AccessDenied names it): ask your instructor, "
                                       "see INSTRUCTORS.md's learner policy"))
        for resource in left:
            yield CheckResult("07", f"{resource.describe()} is gone", False, "still there",
                              lab_hint("07", "run `python scripts/cleanup.py`"))
        untagged = self._untagged_with_my_names()
        for what in untagged:
            yield CheckResult("07", f"{what} is gone", False,
                              "still there, without the workshop's tags",
                              lab_hint("07", "cleanup.py never deletes untagged resources: if it "
                                       "is yours, delete it as the lab's step-by-step section "
                                       "shows"))
        if not left and not untagged and not refused:
            yield CheckResult("07", f"nothing of {self.owner}'s is left", True)

    def _untagged_with_my_names(self) -> list[str]:
        """Resources with exactly this learner's names but no workshop tags at all.

        cleanup.py cannot prove they are the learner's (a hand-made copy, or built before the
        labs tagged things), so lab 07 names them instead of passing silently. One tagged as
        another learner's is that learner's, not a leftover.
        """
        untagged = []
        table = self.table()
        if table and owner_from_tags(self._table_tags(table["TableArn"])) is None:
            untagged.append(f"{KIND_LABELS['table']} {self.names.table}")
        function = self.function()
        if function and owner_from_tags(self.clients("lambda").list_tags(
                Resource=function["FunctionArn"]).get("Tags")) is None:
            untagged.append(f"{KIND_LABELS['function']} {self.names.function}")
        if self.role():
            tags = self.clients("iam").list_role_tags(RoleName=self.names.role).get("Tags", [])
            if owner_from_tags({t["Key"]: t["Value"] for t in tags}) is None:
                untagged.append(f"{KIND_LABELS['role']} {self.names.role}")
        for api in self.apis():
            if owner_from_tags(api.get("tags")) is None:
                untagged.append(f"{KIND_LABELS['rest-api']} {api.get('name')} ({api['id']})")
        logs = self.clients("logs")
        # The exact name only: /aws/lambda/inventory-ada-api is a prefix of owner ada-api's
        # /aws/lambda/inventory-ada-api-api, which is not ada's.
        group = find_log_group(logs, self.names.log_group)
        if group is not None:
            arn = (group.get("logGroupArn") or group["arn"]).removesuffix(":*")
            tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            if owner_from_tags(tags) is None and not function:
                # With the function still there, cleanup.py takes its log group along.
                untagged.append(f"{KIND_LABELS['log-group']} {self.names.log_group}")
        return untagged
