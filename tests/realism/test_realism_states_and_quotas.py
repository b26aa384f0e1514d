"""The state machines and token buckets of realism mode, stepped across each boundary.

Durations: workshop/localcloud/realism/timings.py. Quotas: the AWS table "API Gateway quotas for
creating, deploying and managing an API" (docs.aws.amazon.com/apigateway/latest/developerguide/
limits.html).
"""

from __future__ import annotations

import pytest

from workshop.localcloud.realism import timings
from workshop.localcloud.realism.clock import ManualClock
from workshop.localcloud.realism.quotas import (
    OPERATION_QUOTAS,
    TOTAL,
    ManagementQuotas,
    Quota,
    Throttled,
    TokenBucket,
    operation_quota_name,
)
from workshop.localcloud.realism.states import (
    FunctionStates,
    LogVisibility,
    RolePropagation,
    TableStates,
)

EPSILON = 1e-6
SCALES = [1.0, 0.05, 2.0]


# -- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
def test_a_changed_role_is_assumable_exactly_when_the_propagation_is_over(scale):
    clock = ManualClock(scale)
    roles = RolePropagation(clock)
    assert roles.assumable("111122223333", "r")  # never seen: an old role
    roles.changed("111122223333", "r")
    assert not roles.assumable("111122223333", "r")
    assert not roles.assumable("111122223333", "R")  # role names ignore case
    assert roles.assumable("444455556666", "r")  # another account's role of that name
    clock.advance(timings.ROLE_PROPAGATION_S * scale - EPSILON)
    assert not roles.assumable("111122223333", "r")
    clock.advance(2 * EPSILON)
    assert roles.assumable("111122223333", "r")


def test_a_second_change_restarts_the_propagation_and_forget_ends_it():
    clock = ManualClock(1.0)
    roles = RolePropagation(clock)
    roles.changed("a", "r")
    clock.advance(8)
    roles.changed("a", "r")
    clock.advance(8)
    assert not roles.assumable("a", "r")
    roles.forget("a", "r")
    assert roles.assumable("a", "r")


# -- functions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
def test_a_new_function_is_pending_then_active_without_last_update_status_before(scale):
    clock = ManualClock(scale)
    functions = FunctionStates(clock)
    functions.created("f")
    assert (functions.state("f"), functions.last_update_status("f")) == ("Pending", None)
    clock.advance(timings.FUNCTION_CREATE_S * scale - EPSILON)
    assert functions.state("f") == "Pending"
    clock.advance(2 * EPSILON)
    assert (functions.state("f"), functions.last_update_status("f")) == ("Active", "Successful")


@pytest.mark.parametrize("scale", SCALES)
def test_an_update_is_in_progress_then_successful(scale):
    clock = ManualClock(scale)
    functions = FunctionStates(clock)
    assert (functions.state("old"), functions.last_update_status("old")) == ("Active", "Successful")
    functions.update_started("old")
    assert functions.last_update_status("old") == "InProgress"
    clock.advance(timings.FUNCTION_UPDATE_S * scale - EPSILON)
    assert functions.last_update_status("old") == "InProgress"
    clock.advance(2 * EPSILON)
    assert functions.last_update_status("old") == "Successful"


def test_an_undone_update_restores_the_previous_timeline_and_forget_resets():
    clock = ManualClock(1.0)
    functions = FunctionStates(clock)
    functions.update_started("f")
    previous = functions.update_deadline("f")
    clock.advance(timings.FUNCTION_UPDATE_S + 1)
    functions.update_started("f")
    functions.update_undone("f", previous)
    assert functions.last_update_status("f") == "Successful"
    functions.update_started("g")
    functions.update_undone("g", None)
    assert functions.last_update_status("g") == "Successful"
    functions.created("h")
    functions.forget("h")
    assert functions.state("h") == "Active"


# -- tables --------------------------------------------------------------------------------------

KEY = ("123456789012", "us-east-1", "t")


@pytest.mark.parametrize("scale", SCALES)
def test_a_table_is_creating_then_active(scale):
    clock = ManualClock(scale)
    tables = TableStates(clock)
    assert tables.status(KEY) == "ACTIVE"
    tables.created(KEY)
    assert tables.status(KEY) == "CREATING"
    clock.advance(timings.TABLE_CREATE_S * scale - EPSILON)
    assert tables.status(KEY) == "CREATING"
    clock.advance(2 * EPSILON)
    assert tables.status(KEY) == "ACTIVE"


@pytest.mark.parametrize("scale", SCALES)
def test_a_deleted_table_reads_deleting_then_is_gone(scale):
    clock = ManualClock(scale)
    tables = TableStates(clock)
    description = {"TableName": "t", "TableStatus": "ACTIVE", "KeySchema": [{"AttributeName": "k"}]}
    tables.deleting(KEY, description)
    ghost = tables.ghost(KEY)
    assert ghost == {**description, "TableStatus": "DELETING"}
    assert description["TableStatus"] == "ACTIVE"  # the caller's dict is not changed
    ghost["KeySchema"].clear()
    assert tables.ghost(KEY)["KeySchema"] == [{"AttributeName": "k"}]  # a copy each time
    assert tables.status(KEY) == "DELETING"
    clock.advance(timings.TABLE_DELETE_S * scale - EPSILON)
    assert tables.status(KEY) == "DELETING"
    clock.advance(2 * EPSILON)
    assert tables.ghost(KEY) is None
    assert tables.status(KEY) == "ACTIVE"  # a table of that name, if one exists again


def test_creating_again_after_deletion_starts_a_new_timeline():
    clock = ManualClock(1.0)
    tables = TableStates(clock)
    tables.deleting(KEY, {"TableStatus": "ACTIVE"})
    tables.created(KEY)
    assert tables.ghost(KEY) is None
    assert tables.status(KEY) == "CREATING"


# -- logs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
def test_log_events_become_visible_after_the_delivery_delay(scale):
    clock = ManualClock(scale, start=1000.0)
    logs = LogVisibility(clock)
    ingested_ms = 1000.0 * 1000
    assert not logs.visible(ingested_ms)
    clock.advance(timings.LOG_VISIBILITY_S * scale - 0.01)
    assert not logs.visible(ingested_ms)
    clock.advance(0.02)
    assert logs.visible(ingested_ms)


def test_at_scale_zero_everything_is_immediate():
    clock = ManualClock(0.0)
    functions, tables, roles = FunctionStates(clock), TableStates(clock), RolePropagation(clock)
    functions.created("f")
    tables.created(KEY)
    roles.changed("a", "r")
    assert functions.state("f") == "Active"
    assert tables.status(KEY) == "ACTIVE"
    assert roles.assumable("a", "r")
    assert LogVisibility(clock).visible(clock.now() * 1000)


# -- quotas --------------------------------------------------------------------------------------


def test_the_quota_table_is_aws_s():
    assert TOTAL == Quota(10, 1.0, burst=40)
    assert OPERATION_QUOTAS["CreateRestApi(regional)"] == Quota(1, 3.0)
    assert OPERATION_QUOTAS["CreateRestApi(edge)"] == Quota(1, 30.0)
    assert OPERATION_QUOTAS["CreateDeployment"] == Quota(1, 5.0)
    assert OPERATION_QUOTAS["DeleteRestApi"] == Quota(1, 30.0)
    assert OPERATION_QUOTAS["CreateResource"] == Quota(5, 1.0)
    assert OPERATION_QUOTAS["GetResources"] == Quota(5, 2.0)


@pytest.mark.parametrize("scale", SCALES)
def test_a_bucket_of_one_per_30_s_refills_after_exactly_30_aws_seconds(scale):
    clock = ManualClock(scale)
    bucket = TokenBucket(Quota(1, 30.0), clock)
    assert bucket.wait() == 0
    bucket.take()
    assert bucket.wait() == pytest.approx(30.0 * scale)
    clock.advance(30.0 * scale * 0.99)
    assert bucket.wait() == pytest.approx(0.3 * scale, rel=1e-3)
    clock.advance(0.3 * scale)
    assert bucket.wait() == 0


def test_a_bucket_holds_its_burst_and_never_more():
    clock = ManualClock(1.0)
    bucket = TokenBucket(Quota(10, 1.0, burst=40), clock)
    clock.advance(3600)  # idle for an hour: still only 40 at once
    for _ in range(40):
        assert bucket.wait() == 0
        bucket.take()
    assert bucket.wait() == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "expected"),
    [
        ("POST", "/restapis", {}, {"name": "a", "endpointConfiguration": {"types": ["REGIONAL"]}}, "CreateRestApi(regional)"),
        ("POST", "/restapis", {}, {"name": "a", "endpointConfiguration": {"types": ["PRIVATE"]}}, "CreateRestApi(regional)"),
        ("POST", "/restapis", {}, {"name": "a", "endpointConfiguration": {"types": ["EDGE"]}}, "CreateRestApi(edge)"),
        ("POST", "/restapis", {}, {"name": "a"}, "CreateRestApi(edge)"),
        ("POST", "/restapis", {}, None, "CreateRestApi(edge)"),
        ("POST", "/restapis", {"mode": "import", "endpointConfigurationTypes": "REGIONAL"}, None, "ImportRestApi(regional)"),
        ("POST", "/restapis", {"mode": "import"}, None, "ImportRestApi(edge)"),
        ("PUT", "/restapis/abc123", {}, None, "PutRestApi"),
        ("DELETE", "/restapis/abc123", {}, None, "DeleteRestApi"),
        ("GET", "/restapis/abc123", {}, None, None),
        ("GET", "/restapis", {}, None, None),
        ("POST", "/restapis/abc123/deployments", {}, None, "CreateDeployment"),
        ("GET", "/restapis/abc123/deployments", {}, None, None),
        ("POST", "/restapis/abc123/resources/root1", {}, None, "CreateResource"),
        ("DELETE", "/restapis/abc123/resources/res1", {}, None, "DeleteResource"),
        ("GET", "/restapis/abc123/resources", {}, None, "GetResources"),
        ("GET", "/restapis/abc123/resources/res1", {}, None, None),
        ("PUT", "/restapis/abc123/resources/res1/methods/GET", {}, None, None),
        ("PUT", "/restapis/abc123/resources/res1/methods/GET/integration", {}, None, None),
        ("PATCH", "/account", {}, None, "UpdateAccount"),
        ("POST", "/apikeys", {}, None, "CreateApiKey"),
        ("DELETE", "/apikeys/k1", {}, None, "DeleteApiKey"),
        ("PATCH", "/usageplans/u1", {}, None, "UpdateUsagePlan"),
        ("POST", "/domainnames", {}, None, "CreateDomainName"),
    ],
)
def test_requests_are_matched_to_their_quota(method, path, query, body, expected):
    assert operation_quota_name(method, path, query, body) == expected


def test_create_rest_api_one_per_3_s_and_a_refusal_consumes_nothing():
    clock = ManualClock(1.0)
    quotas = ManagementQuotas(clock)
    assert quotas.admit("acct", "us-east-1", "CreateRestApi(regional)") is None
    refused = quotas.admit("acct", "us-east-1", "CreateRestApi(regional)")
    assert refused == Throttled("CreateRestApi(regional)", pytest.approx(3.0))
    assert refused.retry_after_header == "3"
    clock.advance(1.0)
    assert quotas.admit("acct", "us-east-1", "CreateRestApi(regional)").retry_after_s == pytest.approx(2.0)
    clock.advance(2.0)
    assert quotas.admit("acct", "us-east-1", "CreateRestApi(regional)") is None
    # Quotas are per account and Region.
    assert quotas.admit("other", "us-east-1", "CreateRestApi(regional)") is None
    assert quotas.admit("acct", "eu-west-1", "CreateRestApi(regional)") is None


@pytest.mark.parametrize(("operation", "count", "period"), [
    ("CreateDeployment", 1, 5.0), ("DeleteRestApi", 1, 30.0), ("CreateResource", 5, 1.0),
])
def test_each_operation_quota_admits_its_count_then_throttles(operation, count, period):
    clock = ManualClock(0.05)
    quotas = ManagementQuotas(clock)
    for _ in range(count):
        assert quotas.admit("a", "r", operation) is None
    refused = quotas.admit("a", "r", operation)
    assert refused is not None and refused.operation == operation
    assert refused.retry_after_s == pytest.approx(period * 0.05 / count)
    clock.advance(refused.retry_after_s)
    assert quotas.admit("a", "r", operation) is None


def test_all_calls_share_10_per_second_with_a_burst_of_40():
    clock = ManualClock(1.0)
    quotas = ManagementQuotas(clock)
    for _ in range(40):
        assert quotas.admit("a", "r", None) is None
    refused = quotas.admit("a", "r", "CreateResource")
    assert refused.operation == "total"
    assert refused.retry_after_s == pytest.approx(0.1)
    # The refused CreateResource took no CreateResource token: five still pass once the total
    # bucket has refilled.
    clock.advance(0.5)
    for _ in range(5):
        assert quotas.admit("a", "r", "CreateResource") is None
    assert quotas.admit("a", "r", "CreateResource") is not None


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert Throttled("x", 0.01).retry_after_header == "1"
    assert Throttled("x", 1.2).retry_after_header == "2"
    assert Throttled("x", 30.0).retry_after_header == "30"
