"""Cleanup of what lab 08 adds: the usage plan, the API key, the authorizer's function and role.

GIVEN tester's full stack plus lab 08's tagged usage plan and key (the authorizer function and
role are tagged like the rest), a classmate's plan and key, and untagged look-alikes
WHEN tester's resources are cleaned up
THEN the plan (its API stages detached first) and key go before the API, and nothing else does.
"""

from __future__ import annotations

import io

import boto3

from workshop.cleanup import Cleaner, Clients, discover
from workshop.cleanup.resources import KIND_API_KEY, KIND_REST_API, KIND_USAGE_PLAN
from workshop.naming import workshop_tags


def plan_and_key(owner: str, api_id: str, *, tags: dict[str, str] | None) -> tuple[str, str]:
    apigateway = boto3.client("apigateway", region_name="us-east-1")
    extra = {"tags": tags} if tags is not None else {}
    plan = apigateway.create_usage_plan(
        name=f"inventory-{owner}-plan", apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 50.0, "burstLimit": 100}, quota={"limit": 5000, "period": "DAY"}, **extra,
    )["id"]
    key = apigateway.create_api_key(name=f"inventory-{owner}-key", enabled=True, **extra)["id"]
    apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    return plan, key


def test_lab08_plan_and_key_are_found_and_deleted_first_and_only_the_owners(moto_aws):
    stack = moto_aws.full_stack("tester")
    other = moto_aws.full_stack("tester2")
    apigateway = boto3.client("apigateway", region_name="us-east-1")
    apigateway.create_deployment(restApiId=stack["api_id"], stageName="prod")
    apigateway.create_deployment(restApiId=other["api_id"], stageName="prod")
    mine = plan_and_key("tester", stack["api_id"], tags=workshop_tags("tester"))
    theirs = plan_and_key("tester2", other["api_id"], tags=workshop_tags("tester2"))
    untagged = plan_and_key("tester", stack["api_id"], tags=None)

    found = discover("tester", clients=Clients(region="us-east-1"))
    kinds = [resource.kind for resource in found]
    assert kinds[:3] == [KIND_USAGE_PLAN, KIND_API_KEY, KIND_REST_API]
    assert [r.ident for r in found if r.kind in (KIND_USAGE_PLAN, KIND_API_KEY)] == list(mine)

    out = io.StringIO()
    report = Cleaner(Clients(region="us-east-1"), out=out, sleep=lambda seconds: None, poll_interval=0).run("tester")
    assert report.ok, out.getvalue()
    plans = {plan["id"] for plan in apigateway.get_usage_plans()["items"]}
    keys = {key["id"] for key in apigateway.get_api_keys()["items"]}
    assert mine[0] not in plans and mine[1] not in keys
    assert theirs[0] in plans and theirs[1] in keys
    assert untagged[0] in plans and untagged[1] in keys
    assert discover("tester", clients=Clients(region="us-east-1")) == []
