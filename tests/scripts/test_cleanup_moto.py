"""Discovery and deletion on moto in-process: what is ours, what is not, and in which order.

GIVEN resources built with plain boto3 (tagged stacks, look-alikes, partial states)
WHEN the cleanup discovers or deletes
THEN exactly the owner's tagged resources go, and a second run finds nothing.
"""

from __future__ import annotations

import io
import json

import boto3
import pytest

from workshop.cleanup import (
    KIND_FUNCTION,
    KIND_LOG_GROUP,
    KIND_REST_API,
    KIND_ROLE,
    KIND_TABLE,
    Cleaner,
    Clients,
    Resource,
    discover,
    owners_in_account,
)
from workshop.naming import resource_names, workshop_tags


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"nothing here should wait ({seconds} s)")


def cleaner(out: io.StringIO | None = None) -> Cleaner:
    return Cleaner(Clients(region="us-east-1"), out=out or io.StringIO(), sleep=no_sleep,
                   poll_interval=0)


def kinds_and_names(resources: list[Resource]) -> list[tuple[str, str]]:
    return [(r.kind, r.name) for r in resources]


def add_decoys(build) -> dict[str, str]:
    """Look-alikes of tester's stack that cleanup must never touch."""
    names = resource_names("tester")
    role_arn = build.role("inventory-tester-lambda-role-copy")  # no tags
    build.table("inventory-tester-products-backup")  # no tags
    build.table("inventory-tester-products-other", None)
    build.function("inventory-tester-api-v2", role_arn)  # no tags
    decoy_api = build.api(names.api)  # the *same* name, no tags (API names are not unique)
    wrong_value = build.api(names.api, tags={"workshop": "something-else",
                                             "workshop-owner": "tester"})
    owner_only = build.api(names.api, tags={"workshop-owner": "tester"})
    build.log_group("/aws/lambda/inventory-tester-api-v2")  # the untagged function's group
    build.log_group("/aws/lambda/inventory-tester-api-old", tags={"team": "data"})
    return {"decoy_api": decoy_api, "wrong_value": wrong_value, "owner_only": owner_only}


def test_discovers_the_owners_stack_in_dependency_order(moto_aws):
    stack = moto_aws.full_stack("tester")

    found = discover("tester", clients=Clients(region="us-east-1"))

    assert kinds_and_names(found) == [
        (KIND_REST_API, "inventory-tester-api"),
        (KIND_FUNCTION, "inventory-tester-api"),
        (KIND_LOG_GROUP, "/aws/lambda/inventory-tester-api"),
        (KIND_ROLE, "inventory-tester-lambda-role"),
        (KIND_TABLE, "inventory-tester-products"),
    ]
    assert found[0].ident == stack["api_id"]
    # The log group Lambda made has no tags: it is ours only through our function.
    assert found[2].parent == "inventory-tester-api"
    assert {r.owner for r in found} == {"tester"}


def test_look_alikes_and_another_owners_stack_survive_a_cleanup(moto_aws, snap):
    moto_aws.full_stack("tester")
    other = moto_aws.full_stack("tester2")  # a classmate whose names start the same way
    decoys = add_decoys(moto_aws)
    out = io.StringIO()

    report = cleaner(out).run("tester")

    assert report.ok, out.getvalue()
    after = snap()
    assert after["tables"] == {"inventory-tester2-products", "inventory-tester-products-backup",
                               "inventory-tester-products-other"}
    assert after["functions"] == {"inventory-tester2-api", "inventory-tester-api-v2"}
    assert after["roles"] == {"inventory-tester2-lambda-role", "inventory-tester-lambda-role-copy"}
    assert after["apis"] == {other["api_id"], *decoys.values()}
    assert after["log_groups"] == {"/aws/lambda/inventory-tester2-api",
                                   "/aws/lambda/inventory-tester-api-v2",
                                   "/aws/lambda/inventory-tester-api-old"}
    assert "✔ Nothing of tester's is left." in out.getvalue()


def test_cleanup_removes_policies_and_attachments_before_the_role(moto_aws, snap):
    names = resource_names("tester")
    extra = moto_aws.managed_policy("inventory-tester-extra", "tester")
    foreign = moto_aws.managed_policy("someone-elses-policy")
    moto_aws.role(names.role, "tester", resource="arn:aws:dynamodb:us-east-1:123456789012:table/x",
                  managed=(extra, foreign))
    iam = boto3.client("iam")
    iam.put_role_policy(RoleName=names.role, PolicyName="second-inline",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    iam.create_instance_profile(InstanceProfileName="tester-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="tester-profile", RoleName=names.role)
    out = io.StringIO()

    report = cleaner(out).run("tester")

    assert report.ok, out.getvalue()
    after = snap()
    assert names.role not in after["roles"]
    # Our tagged policy is deleted; the untagged one it was attached beside is only detached.
    assert after["policies"] == {"someone-elses-policy"}
    assert iam.get_instance_profile(InstanceProfileName="tester-profile")["InstanceProfile"][
        "Roles"] == []


def test_partial_states_are_cleaned(moto_aws, snap):
    """A function with no API, a role with no function, a lone log group and a lone table."""
    names = resource_names("tester")
    role_arn = moto_aws.role("inventory-tester-lambda-role", "tester")
    moto_aws.function(names.function, role_arn, "tester")  # no API in front of it
    moto_aws.role("inventory-tester-old-role", "tester")  # no function uses it
    moto_aws.log_group("/aws/lambda/inventory-tester-gone", "tester")  # tagged, function gone
    moto_aws.table(names.table, "tester")
    before = snap()

    report = cleaner().run("tester")

    assert report.ok
    assert [o.status for o in report.outcomes] == ["deleted"] * 5
    after = snap()
    assert after["functions"] == before["functions"] - {names.function}
    assert after["roles"] == before["roles"] - {"inventory-tester-lambda-role",
                                                "inventory-tester-old-role"}
    assert after["log_groups"] == set()
    assert after["tables"] == set()


def test_an_untagged_log_group_is_left_when_its_function_is_not_ours(moto_aws, snap):
    names = resource_names("tester")
    role_arn = moto_aws.role("someone-role")
    moto_aws.function(names.function, role_arn)  # our function's name, but not tagged
    moto_aws.log_group(names.log_group)

    report = cleaner().run("tester")

    assert report.found == []
    assert names.log_group in snap()["log_groups"]


def test_a_log_group_tagged_for_another_owner_is_never_taken_through_our_function(moto_aws, snap):
    names = resource_names("tester")
    role_arn = moto_aws.role(names.role, "tester")
    moto_aws.function(names.function, role_arn, "tester")
    moto_aws.log_group(names.log_group, tags=workshop_tags("someone"))

    found = discover("tester", clients=Clients(region="us-east-1"))

    assert (KIND_LOG_GROUP, names.log_group) not in kinds_and_names(found)


def test_dry_run_lists_and_deletes_nothing(moto_aws, snap):
    moto_aws.full_stack("tester")
    before = snap()
    out = io.StringIO()

    report = cleaner(out).run("tester", dry_run=True)

    assert snap() == before
    assert report.outcomes == [] and len(report.found) == 5
    text = out.getvalue()
    assert "REST API inventory-tester-api" in text and "Dry run: nothing was deleted" in text


def test_a_second_cleanup_changes_nothing(moto_aws, snap):
    moto_aws.full_stack("tester")
    cleaner().run("tester")
    before = snap()
    out = io.StringIO()

    report = cleaner(out).run("tester")

    assert report.ok and report.found == [] and report.outcomes == []
    assert snap() == before
    assert "Nothing of tester's was found" in out.getvalue()


def test_deleting_what_is_already_gone_counts_as_done(moto_aws):
    """Resumable: a resource removed between discovery and deletion is 'already gone'."""
    moto_aws.full_stack("tester")
    found = discover("tester", clients=Clients(region="us-east-1"))
    boto3.client("dynamodb").delete_table(TableName="inventory-tester-products")
    boto3.client("lambda").delete_function(FunctionName="inventory-tester-api")

    report = cleaner().run("tester", found=found)

    statuses = {(o.resource.kind, o.status) for o in report.outcomes}
    assert (KIND_TABLE, "already gone") in statuses
    assert (KIND_FUNCTION, "already gone") in statuses
    assert report.ok and report.remaining == []


def test_all_owners_cleans_every_learner_but_no_look_alike(moto_aws, snap):
    moto_aws.full_stack("ada")
    moto_aws.full_stack("grace")
    decoys = add_decoys(moto_aws)
    clients = Clients(region="us-east-1")
    assert owners_in_account(clients) == ["ada", "grace"]

    report = cleaner().run(None)

    assert report.ok
    assert snap()["apis"] == set(decoys.values())
    assert owners_in_account(clients) == []


def test_budget_only_when_asked_and_only_under_the_exact_name(moto_aws):
    moto_aws.table("inventory-tester-products", "tester")
    moto_aws.budget("inventory-tester-budget", "tester")
    moto_aws.budget("inventory-tester-budget-2")
    moto_aws.budget("inventory-tester2-budget")
    budgets = boto3.client("budgets")

    without = cleaner().run("tester")
    left = {b["BudgetName"] for b in budgets.describe_budgets(AccountId="123456789012")["Budgets"]}
    assert "inventory-tester-budget" in left and [r.kind for r in without.found] == [KIND_TABLE]

    report = cleaner().run("tester", include_budget=True)

    assert report.ok
    left = {b["BudgetName"] for b in budgets.describe_budgets(AccountId="123456789012")["Budgets"]}
    assert left == {"inventory-tester-budget-2", "inventory-tester2-budget"}


def test_table_deletion_waits_with_progress(moto_aws):
    """The waiter loop prints progress while the table is still there (DELETING on AWS)."""
    from botocore.stub import Stubber

    clients = Clients(region="us-east-1")
    ddb = clients("dynamodb")
    waits: list[float] = []
    out = io.StringIO()

    def now() -> float:  # a clock that moves only when the cleanup sleeps
        return float(sum(waits))

    with Stubber(ddb) as stub:
        stub.add_response("delete_table", {})
        for _ in range(2):
            stub.add_response("describe_table", {"Table": {"TableStatus": "DELETING"}})
        stub.add_client_error("describe_table", "ResourceNotFoundException")
        outcome = Cleaner(clients, out=out, sleep=waits.append, poll_interval=2,
                          monotonic=now).delete(
            Resource(KIND_TABLE, "inventory-tester-products", "tester", "inventory-tester-products"))
    assert outcome.status == "deleted"
    assert waits == [2, 2]
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "waiting for table inventory-tester-products" in line] == [
        "    waiting for table inventory-tester-products to be deleted (DELETING, 0 s) ...",
        "    waiting for table inventory-tester-products to be deleted (DELETING, 2 s) ..."]
    assert "    table inventory-tester-products is gone after 4 s" in lines


@pytest.mark.parametrize("owner", ["Tester", " tester "])
def test_owner_names_are_normalised_like_the_deploy_does(moto_aws, owner):
    moto_aws.table("inventory-tester-products", "tester")
    assert [r.name for r in discover(owner, clients=Clients(region="us-east-1"))] == [
        "inventory-tester-products"]
