"""Discovery under a least-privilege learner policy: read only what is the workshop's, and say so
when something is refused.

On AWS the classroom learner (INSTRUCTORS.md) may list tables, functions, roles, policies and log
groups account-wide (those List actions take ``Resource: "*"`` only), but read tags only of
``inventory-*`` resources. Here moto in-process stands in for AWS and a thin wrapper refuses calls
the way IAM would (AccessDenied / AccessDeniedException, the service's own code), so each rule is
checked on its own: discovery never reads a foreign resource's tags, and a refused call is never
reported as "nothing there" by discovery, cleanup or check 07.
(The whole classroom against the local cloud's real IAM enforcement is in
test_classroom_rehearsal.py.)
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from workshop.checks import Checker
from workshop.cleanup import Cleaner, Clients, DiscoveryIncomplete, discover, find_log_group
from workshop.naming import NAME_PREFIX, resource_names
from workshop.target import Target

TARGET = Target(name="aws", region="us-east-1", account_id="123456789012")
ADA = resource_names("ada")

# What IAM answers a caller without the permission, per service (its own error code).
DENIED_CODES = {"iam": "AccessDenied", "dynamodb": "AccessDeniedException",
                "lambda": "AccessDeniedException", "logs": "AccessDeniedException",
                "apigateway": "AccessDeniedException"}

Rule = Callable[[dict[str, Any]], bool]


def denied(service: str, action: str) -> ClientError:
    """IAM's answer to a caller without ``service:action`` (the message format AWS documents)."""
    code = DENIED_CODES[service]
    return ClientError({"Error": {"Code": code, "Message": (
        f"User: arn:aws:iam::123456789012:user/ada is not authorized to perform: "
        f"{service}:{action} because no identity-based policy allows the "
        f"{service}:{action} action")}}, action)


class _RefusingPaginator:
    def __init__(self, paginator: Any, refuse: Callable[[dict], None]) -> None:
        self._paginator, self._refuse = paginator, refuse

    def paginate(self, **kwargs: Any) -> Any:
        self._refuse(kwargs)
        return self._paginator.paginate(**kwargs)


class _RefusingClient:
    """A boto3 client whose listed operations are refused when their rule says so."""

    def __init__(self, client: Any, service: str, rules: dict[tuple[str, str], Rule]) -> None:
        self._client, self._service, self._rules = client, service, rules

    def _check(self, operation: str, kwargs: dict) -> None:
        rule = self._rules.get((self._service, operation))
        if rule is not None and rule(kwargs):
            action = self._client.meta.method_to_api_mapping.get(operation, operation)
            raise denied(self._service, action)

    def get_paginator(self, operation: str) -> Any:
        return _RefusingPaginator(self._client.get_paginator(operation),
                                  lambda kwargs: self._check(operation, kwargs))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def call(**kwargs: Any) -> Any:
            self._check(name, kwargs)
            return attribute(**kwargs)
        return call


class RefusingClients(Clients):
    """Clients that refuse what ``rules`` ((service, operation) -> predicate on the call) says."""

    def __init__(self, rules: dict[tuple[str, str], Rule], region: str = "us-east-1") -> None:
        super().__init__(region=region)
        self.rules = rules

    def __call__(self, service: str) -> Any:
        return _RefusingClient(super().__call__(service), service, self.rules)


def not_workshop(name_key: str) -> Rule:
    """Refused unless the named resource is called inventory-*: the learner policy's scope."""
    return lambda kwargs: not str(kwargs.get(name_key, "")).split("/")[-1].startswith(
        f"{NAME_PREFIX}-")


# The learner policy's scope for tag reads: inventory-* only.
LEARNER_SCOPE: dict[tuple[str, str], Rule] = {
    ("iam", "list_role_tags"): not_workshop("RoleName"),
    ("iam", "list_policy_tags"): not_workshop("PolicyArn"),
    ("dynamodb", "describe_table"): not_workshop("TableName"),
    ("dynamodb", "list_tags_of_resource"): not_workshop("ResourceArn"),
    ("lambda", "list_tags"): lambda kwargs: ":function:inventory-" not in kwargs["Resource"],
    ("logs", "list_tags_for_resource"):
        lambda kwargs: ":log-group:/aws/lambda/inventory-" not in kwargs["resourceArn"],
}


def always(_: dict) -> bool:
    return True


@pytest.fixture
def foreign_resources(moto_aws):
    """What else lives in a shared account: other teams' roles, tables, functions, policies."""
    role_arn = moto_aws.role("payments-service-role")
    moto_aws.table("orders")
    moto_aws.function("payments-worker", role_arn)
    moto_aws.log_group("/aws/lambda/payments-worker")
    moto_aws.managed_policy("payments-policy")
    return moto_aws


def test_tags_are_read_only_for_resources_with_workshop_names(foreign_resources):
    # GIVEN ada's stack in an account where other teams' resources are off limits for tag reads
    foreign_resources.full_stack("ada")
    foreign_resources.managed_policy("inventory-ada-extra", "ada")
    # WHEN ada discovers with the learner's scope
    found = discover("ada", clients=RefusingClients(LEARNER_SCOPE))
    # THEN nothing was refused, and exactly ada's stack is found
    assert sorted((r.kind, r.name) for r in found) == sorted([
        ("rest-api", ADA.api), ("function", ADA.function), ("log-group", ADA.log_group),
        ("role", ADA.role), ("policy", "inventory-ada-extra"), ("table", ADA.table)])


def test_a_tagged_resource_with_a_foreign_name_is_not_the_workshops(moto_aws):
    # Ownership needs the workshop's name *and* its tags: tags copied onto another team's table
    # do not make cleanup delete it.
    moto_aws.table("orders", "ada")
    assert discover("ada", clients=Clients(region="us-east-1")) == []


def test_a_refused_tag_read_is_reported_not_taken_for_nothing(moto_aws):
    moto_aws.role(ADA.role, "ada")
    clients = RefusingClients({("iam", "list_role_tags"): always})

    with pytest.raises(DiscoveryIncomplete) as raised:
        discover("ada", clients=clients)

    assert raised.value.found == []
    assert len(raised.value.warnings) == 1
    warning = raised.value.warnings[0]
    assert warning.startswith(f"could not read the tags of IAM role {ADA.role} (AccessDenied: ")
    assert "iam:ListRoleTags" in warning


def test_a_refused_listing_is_reported_and_the_rest_is_still_found(moto_aws):
    moto_aws.full_stack("ada")
    clients = RefusingClients({("dynamodb", "list_tables"): always})

    with pytest.raises(DiscoveryIncomplete) as raised:
        discover("ada", clients=clients)

    assert raised.value.warnings == [
        "could not list DynamoDB tables (AccessDeniedException: User: arn:aws:iam::123456789012:"
        "user/ada is not authorized to perform: dynamodb:ListTables because no identity-based "
        "policy allows the dynamodb:ListTables action)"]
    assert {r.kind for r in raised.value.found} == {"rest-api", "function", "log-group", "role"}


def test_cleanup_never_says_nothing_is_left_when_it_could_not_look(moto_aws):
    moto_aws.table(ADA.table, "ada")
    out = io.StringIO()
    cleaner = Cleaner(RefusingClients({("dynamodb", "list_tables"): always}), out=out,
                      sleep=lambda s: None, poll_interval=0)

    report = cleaner.run("ada")

    assert not report.ok and not report.complete
    text = out.getvalue()
    assert "warning: could not list DynamoDB tables (AccessDeniedException" in text
    assert "there is nothing to delete" not in text
    assert "it cannot tell whether anything is left" in text
    assert boto3.client("dynamodb").list_tables()["TableNames"] == [ADA.table]


def test_cleanup_after_deleting_still_reports_a_refusal_in_the_final_check(moto_aws):
    # The first look succeeds, the proof afterwards is refused: no "Nothing of ada's is left".
    moto_aws.table(ADA.table, "ada")
    calls = {"n": 0}

    def second_listing(_: dict) -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    out = io.StringIO()
    cleaner = Cleaner(RefusingClients({("dynamodb", "list_tables"): second_listing}), out=out,
                      sleep=lambda s: None, poll_interval=0)
    report = cleaner.run("ada")

    assert not report.ok
    assert "Nothing of ada's is left." not in out.getvalue()
    assert "could not look everywhere" in out.getvalue()


@pytest.fixture
def refusing_commands(moto_aws, monkeypatch):
    """scripts/cleanup.py and scripts/check.py in-process, on 'AWS', with a refusal to set."""
    import workshop.checks.cli
    import workshop.cleanup.cli
    import workshop.target

    monkeypatch.setattr(workshop.target, "connect", lambda **_: TARGET)
    rules: dict[tuple[str, str], Rule] = {}
    factory = lambda region=None, **_: RefusingClients(rules)  # noqa: E731
    monkeypatch.setattr(workshop.cleanup.cli, "Clients", factory)
    monkeypatch.setattr(workshop.checks.cli, "Clients", factory)
    return moto_aws, rules


@pytest.mark.parametrize(("refused", "action"), [
    (("iam", "list_role_tags"), "iam:ListRoleTags"), (("iam", "list_roles"), "iam:ListRoles"),
    (("dynamodb", "list_tables"), "dynamodb:ListTables"),
    (("lambda", "list_tags"), "lambda:ListTags")])
def test_cleanup_and_check_07_exit_non_zero_and_name_the_refusal(refusing_commands, capsys,
                                                                 refused, action):
    from workshop import checks, cleanup

    build, rules = refusing_commands
    build.full_stack("ada")
    rules[refused] = always

    assert cleanup.main(["--owner", "ada", "--yes"], out=io.StringIO()) == 1
    assert action in capsys.readouterr().err

    out = io.StringIO()
    assert checks.main(["07", "--owner", "ada"], out=out) == 1
    report = out.getvalue()
    assert "every kind of resource could be looked at" in report
    assert action in report
    assert "nothing of ada's is left" not in report


def test_cleanup_dry_run_with_a_refusal_exits_non_zero(refusing_commands):
    from workshop import cleanup

    _, rules = refusing_commands
    rules[("dynamodb", "list_tables")] = always
    assert cleanup.main(["--owner", "ada", "--dry-run"], out=io.StringIO()) == 1


def test_check_all_owners_refuses_to_build_a_table_on_part_of_the_account(refusing_commands,
                                                                         capsys):
    from workshop import checks

    build, rules = refusing_commands
    build.table("inventory-bob-products", "bob")
    rules[("iam", "list_roles")] = always
    assert checks.main(["07", "--all-owners"], out=io.StringIO()) == 2
    assert "iam:ListRoles" in capsys.readouterr().err


# --- exact names: one owner's name is a prefix of another's ---------------------------------


def test_find_log_group_matches_the_whole_name_only(moto_aws):
    moto_aws.log_group(resource_names("ada-api").log_group)  # /aws/lambda/inventory-ada-api-api
    logs = boto3.client("logs")
    assert find_log_group(logs, ADA.log_group) is None
    moto_aws.log_group(ADA.log_group)
    assert find_log_group(logs, ADA.log_group)["logGroupName"] == ADA.log_group


def test_check_07_of_ada_ignores_the_log_group_of_owner_ada_api(moto_aws):
    moto_aws.log_group(resource_names("ada-api").log_group)  # untagged, ada-api's function's
    results = Checker(TARGET, "ada", clients=Clients(region="us-east-1")).run(["07"])
    assert [(r.title, r.passed) for r in results] == [("nothing of ada's is left", True)]


def test_cleanup_of_ada_leaves_everything_of_owner_ada_api(moto_aws):
    moto_aws.full_stack("ada-api")
    moto_aws.log_group(resource_names("ada-api").log_group + "-old")  # untagged look-alike
    assert discover("ada", clients=Clients(region="us-east-1")) == []
    found = discover("ada-api", clients=Clients(region="us-east-1"))
    assert {r.owner for r in found} == {"ada-api"}
    assert resource_names("ada-api").log_group + "-old" not in {r.name for r in found}
