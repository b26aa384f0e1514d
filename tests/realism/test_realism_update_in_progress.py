"""Invocations during an update run the function as it was before the update (realism mode).

AWS: "While a function update is in progress, invocations go to the function's previous code
and configuration." (Lambda developer guide, "Lambda function states", section "Function states
while updating": docs.aws.amazon.com/lambda/latest/dg/functions-states.html, the same text in
awsdocs/aws-lambda-developer-guide doc_source/functions-states.md); "Failed – ... Lambda aborts
the update and the function's previous code and configuration remain available" (same page).
The UpdateFunctionConfiguration API reference adds that LastUpdateStatus tells "when the update
is complete and the function is processing events with the new configuration". So a learner who changes an environment variable and invokes at once sees the
OLD value on AWS; the local cloud in realism mode must show the same.

The local cloud runs in-process with ``WORKSHOP_REALISM=aws`` at scale 1.0 on a manual clock:
the update stays InProgress exactly as long as a test says, and nothing waits.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from realism_cloud import REGION, RealismCloud, realism_cloud
from workshop.localcloud import realism
from workshop.localcloud.realism import moto_patches, timings
from workshop.localcloud.realism.clock import ManualClock
from workshop.localcloud.realism.states import FunctionStates

ACCOUNT = "123456789012"

#: Answers as a proxy response, so the same function serves lambda.invoke and the gateway.
HANDLER_TEMPLATE = '''
import json, os

VERSION = {version!r}


def _answer(handler, event, context):
    seen = {{
        "version": VERSION,
        "handler": handler,
        "greeting": os.environ.get("GREETING"),
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }}
    if isinstance(event, dict) and event.get("who"):
        import boto3
        seen["identity"] = boto3.client("sts").get_caller_identity()["Arn"]
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}},
             "body": json.dumps(seen)}}


def handler(event, context):
    return _answer("handler", event, context)


def other(event, context):
    return _answer("other", event, context)
'''


def code(version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER_TEMPLATE.format(version=version))
    return buffer.getvalue()


class Cloud(RealismCloud):
    name_prefix = "upd-"

    def ready_role(self) -> tuple[str, str]:
        """A role old enough for Lambda to assume: (name, ARN)."""
        return self.propagated_role()

    def active_function(self, greeting: str = "old") -> str:
        name = self.name("fn")
        self.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=self.ready_role()[1],
            Handler="app.handler", Code={"ZipFile": code("v1")}, Timeout=30, MemorySize=128,
            Environment={"Variables": {"GREETING": greeting}},
        )
        self.clock.advance(timings.FUNCTION_CREATE_S)
        return name

    def invoke(self, name: str, event: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
        """What the function saw, and whether the call was a cold start (REPORT has Init Duration)."""
        answer = self.client("lambda").invoke(
            FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail")
        assert answer["StatusCode"] == 200 and "FunctionError" not in answer, answer
        tail = base64.b64decode(answer["LogResult"]).decode()
        return json.loads(json.loads(answer["Payload"].read())["body"]), "Init Duration" in tail

    def status(self, name: str) -> str:
        return self.client("lambda").get_function_configuration(FunctionName=name)["LastUpdateStatus"]

    def finish_update(self) -> None:
        self.clock.advance(timings.FUNCTION_UPDATE_S)


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    with realism_cloud(Cloud) as started:
        yield started


def previous_kept(name: str) -> Any:
    """What realism keeps for function ``name`` (None: nothing, its code bytes are let go)."""
    active = moto_patches.active()
    assert active is not None
    return active.functions.previous(f"{ACCOUNT}:{REGION}:{name}")


# -- lambda.invoke ------------------------------------------------------------------------------


def test_an_environment_variable_changed_reads_old_until_the_update_is_successful(cloud):
    # GIVEN an Active function, warm, whose GREETING is "old"
    lam = cloud.client("lambda")
    name = cloud.active_function(greeting="old")
    assert cloud.invoke(name)[0]["greeting"] == "old"
    # WHEN the learner changes it and invokes at once
    answer = lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    assert answer["LastUpdateStatus"] == "InProgress"
    assert answer["Environment"]["Variables"] == {"GREETING": "new"}  # the API shows the new one
    seen, cold = cloud.invoke(name)
    # THEN the invocation still runs the previous configuration, in the warm environment
    assert (seen["greeting"], cold) == ("old", False)
    cloud.clock.advance(timings.FUNCTION_UPDATE_S - 0.01)
    assert cloud.status(name) == "InProgress"
    assert cloud.invoke(name)[0]["greeting"] == "old"
    # and once the update is Successful, the new one, in a new environment (a cold start)
    cloud.clock.advance(0.02)
    assert cloud.status(name) == "Successful"
    seen, cold = cloud.invoke(name)
    assert (seen["greeting"], cold) == ("new", True)
    seen, cold = cloud.invoke(name)
    assert (seen["greeting"], cold) == ("new", False)
    assert previous_kept(name) is None


def test_new_code_answers_only_once_the_update_is_successful(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    lam.update_function_code(FunctionName=name, ZipFile=code("v2"))
    # Never invoked before the update: the previous code starts cold, and still answers.
    seen, cold = cloud.invoke(name)
    assert (seen["version"], cold) == ("v1", True)
    seen, cold = cloud.invoke(name)
    assert (seen["version"], cold) == ("v1", False)
    cloud.finish_update()
    seen, cold = cloud.invoke(name)
    assert (seen["version"], cold) == ("v2", True)
    assert previous_kept(name) is None


@pytest.mark.parametrize(
    ("change", "field", "before", "after"),
    [
        ({"Handler": "app.other"}, "handler", "handler", "other"),
        ({"MemorySize": 256}, "memory", "128", "256"),  # a string, as on AWS
        ({"Environment": {"Variables": {}}}, "greeting", "old", None),
    ],
    ids=["handler", "memory", "environment-removed"],
)
def test_every_setting_of_the_update_waits_for_successful(cloud, change, field, before, after):
    name = cloud.active_function()
    cloud.client("lambda").update_function_configuration(FunctionName=name, **change)
    assert cloud.invoke(name)[0][field] == before
    cloud.finish_update()
    assert cloud.invoke(name)[0][field] == after


def test_the_timeout_of_an_invocation_during_the_update_is_the_previous_one(cloud):
    name = cloud.active_function()  # Timeout=30
    cloud.client("lambda").update_function_configuration(FunctionName=name, Timeout=5)
    assert cloud.invoke(name)[0]["remaining_ms"] > 6_000
    cloud.finish_update()
    assert cloud.invoke(name)[0]["remaining_ms"] <= 5_000


def test_the_function_acts_as_its_previous_role_until_the_update_is_successful(cloud):
    name = cloud.active_function()
    new_role, new_arn = cloud.ready_role()
    before = cloud.invoke(name, {"who": True})[0]["identity"]
    assert f":assumed-role/{new_role}/" not in before
    cloud.client("lambda").update_function_configuration(FunctionName=name, Role=new_arn)
    assert cloud.invoke(name, {"who": True})[0]["identity"] == before
    cloud.finish_update()
    assert f":assumed-role/{new_role}/{name}" in cloud.invoke(name, {"who": True})[0]["identity"]


def test_an_alias_of_latest_runs_the_previous_configuration_and_a_published_version_its_own(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function(greeting="old")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="$LATEST")
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    assert cloud.invoke(f"{name}:live")[0]["greeting"] == "old"
    assert cloud.invoke(f"{name}:{version}")[0]["greeting"] == "old"
    cloud.finish_update()
    assert cloud.invoke(f"{name}:live")[0]["greeting"] == "new"
    assert cloud.invoke(f"{name}:{version}")[0]["greeting"] == "old"  # versions never change


# -- the execute-api gateway ----------------------------------------------------------------------


def proxy_api(cloud: Cloud, function_name: str) -> str:
    """A deployed REST API whose GET / calls the function: its invoke URL."""
    apigateway, lam = cloud.client("apigateway"), cloud.client("lambda")
    cloud.clock.advance(31)  # API Gateway's management quotas (realism) are full again
    function_arn = lam.get_function_configuration(FunctionName=function_name)["FunctionArn"]
    api_id = apigateway.create_rest_api(name=cloud.name("api"), endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api_id, resourceId=root, httpMethod="GET", type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    lam.add_permission(
        FunctionName=function_name, StatementId="apigateway", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*",
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    return f"{cloud.server.gateway}/{api_id}/prod/"


def test_the_gateway_serves_the_previous_configuration_during_the_update(cloud):
    name = cloud.active_function(greeting="old")
    url = proxy_api(cloud, name)
    assert requests.get(url, timeout=60).json()["greeting"] == "old"
    cloud.client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    answer = requests.get(url, timeout=60)
    assert (answer.status_code, answer.json()["greeting"]) == (200, "old")
    cloud.finish_update()
    answer = requests.get(url, timeout=60)
    assert (answer.status_code, answer.json()["greeting"]) == (200, "new")


def test_the_gateway_serves_the_previous_code_during_a_code_update(cloud):
    name = cloud.active_function()
    url = proxy_api(cloud, name)
    cloud.client("lambda").update_function_code(FunctionName=name, ZipFile=code("v2"))
    assert requests.get(url, timeout=60).json()["version"] == "v1"
    cloud.finish_update()
    assert requests.get(url, timeout=60).json()["version"] == "v2"


# -- deletion, failure, the end of an update --------------------------------------------------------


def test_a_function_deleted_during_its_update_is_gone_and_its_previous_code_let_go(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    url = proxy_api(cloud, name)
    lam.update_function_code(FunctionName=name, ZipFile=code("v2"))
    assert previous_kept(name) is not None
    lam.delete_function(FunctionName=name)
    assert previous_kept(name) is None
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    answer = requests.get(url, timeout=60)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal server error"})


def test_a_function_recreated_during_the_old_ones_update_runs_its_own_code(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function(greeting="old")
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    lam.delete_function(FunctionName=name)
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=cloud.ready_role()[1], Handler="app.handler",
        Code={"ZipFile": code("v3")}, Environment={"Variables": {"GREETING": "recreated"}},
    )
    cloud.clock.advance(timings.FUNCTION_CREATE_S)
    seen = cloud.invoke(name)[0]
    assert (seen["version"], seen["greeting"]) == ("v3", "recreated")


FAILED_UPDATES = {
    # moto applies Environment, then refuses the unknown layer (AWS: 404 ResourceNotFoundException).
    "configuration": lambda lam, name: lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "new"}},
        Layers=[f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:no-such-layer:1"]),
    "code": lambda lam, name: lam.update_function_code(
        FunctionName=name, S3Bucket="no-such-bucket-anywhere", S3Key="x.zip"),
}


@pytest.mark.parametrize("update", sorted(FAILED_UPDATES))
def test_a_failed_update_changes_nothing_and_leaves_the_function_settled(cloud, update):
    lam = cloud.client("lambda")
    name = cloud.active_function(greeting="old")
    before = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(ClientError):
        FAILED_UPDATES[update](lam, name)
    after = lam.get_function_configuration(FunctionName=name)
    assert (after["Environment"], after["CodeSha256"], after["LastUpdateStatus"]) == (
        before["Environment"], before["CodeSha256"], "Successful")
    assert previous_kept(name) is None
    seen = cloud.invoke(name)[0]
    assert (seen["version"], seen["greeting"]) == ("v1", "old")
    # and the next update is not refused as "in progress"
    lam.update_function_code(FunctionName=name, ZipFile=code("v2"))
    assert cloud.invoke(name)[0]["version"] == "v1"
    cloud.finish_update()
    assert cloud.invoke(name)[0]["version"] == "v2"


def test_a_dry_run_code_update_starts_nothing(cloud):
    lam = cloud.client("lambda")
    name = cloud.active_function()
    lam.update_function_code(FunctionName=name, ZipFile=code("v2"), DryRun=True)
    assert previous_kept(name) is None
    assert cloud.invoke(name)[0]["version"] == "v1"


def test_the_health_answer_counts_invocations_served_by_the_previous_configuration(cloud):
    before = realism.observed().get("invoked during an update: previous code and configuration", 0)
    name = cloud.active_function()
    cloud.client("lambda").update_function_configuration(FunctionName=name, MemorySize=256)
    cloud.invoke(name)
    after = realism.observed().get("invoked during an update: previous code and configuration", 0)
    assert after == before + 1
    cloud.finish_update()


def test_a_snapshot_taken_during_an_update_keeps_the_updated_function(cloud):
    """Snapshots keep moto's backends, not realism's timelines: a local cloud restored from one
    starts every function Active and Successful, so the update is simply over (on AWS it would
    be over too after a restart's worth of seconds) and the new configuration runs."""
    from workshop.localcloud.snapshots import codec

    name = cloud.active_function(greeting="old")
    cloud.client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    key = ("moto.awslambda.models", "lambda_backends")
    state = codec.current_state([key])
    assert codec.unpicklable(state) == {}
    fn = codec.loads(codec.dumps(state))[key][ACCOUNT][REGION].get_function(name, None)
    assert fn.environment_vars == {"GREETING": "new"}
    assert cloud.invoke(name)[0]["greeting"] == "old"  # the running cloud: still in progress
    cloud.finish_update()


# -- the state machine on its own ---------------------------------------------------------------------


def test_the_previous_configuration_lives_exactly_as_long_as_the_update():
    clock = ManualClock(0.05)
    functions = FunctionStates(clock)
    previous = object()
    functions.update_started("f", previous)
    assert functions.previous("f") is previous
    clock.advance(timings.FUNCTION_UPDATE_S * 0.05 - 0.001)
    assert (functions.last_update_status("f"), functions.previous("f")) == ("InProgress", previous)
    clock.advance(0.002)
    assert (functions.last_update_status("f"), functions.previous("f")) == ("Successful", None)
    assert functions.kept_previous() == 0


def test_a_settled_update_lets_go_of_its_previous_configuration_when_any_function_is_asked_about():
    clock = ManualClock(1.0)
    functions = FunctionStates(clock)
    functions.update_started("f", object())
    clock.advance(timings.FUNCTION_UPDATE_S)
    functions.state("g")
    assert functions.kept_previous() == 0


def test_forget_created_and_undone_let_go_of_the_previous_configuration():
    clock = ManualClock(1.0)
    functions = FunctionStates(clock)
    for arn in ("deleted", "recreated", "failed"):
        functions.update_started(arn, object())
    functions.forget("deleted")
    functions.created("recreated")
    functions.update_undone("failed", None)
    assert [functions.previous(arn) for arn in ("deleted", "recreated", "failed")] == [None, None, None]
    assert functions.kept_previous() == 0


def test_racing_updates_keep_what_ran_before_the_first():
    clock = ManualClock(1.0)
    functions = FunctionStates(clock)
    first, second = object(), object()
    functions.update_started("f", first)
    deadline = functions.update_deadline("f")
    functions.update_started("f", second)
    assert functions.previous("f") is first
    functions.update_undone("f", deadline)  # the second one failed: the first goes on
    assert (functions.last_update_status("f"), functions.previous("f")) == ("InProgress", first)


def test_without_realism_there_is_never_a_previous_configuration(monkeypatch):
    monkeypatch.setattr(moto_patches, "_active", None)  # what uninstall() leaves
    fn = SimpleNamespace(version="$LATEST", account_id=ACCOUNT, region=REGION, function_name="f")
    assert realism.previous_configuration(fn) is None


def test_the_previous_configuration_is_a_frozen_copy_with_its_own_code():
    from workshop.localcloud.runtime import FunctionConfig

    fn = SimpleNamespace(
        environment_vars={"GREETING": "old"}, code_sha_256="abc", code={"UUID": "u1"},
        handler="app.handler", run_time="python3.12", memory_size=128, timeout=30,
        role="arn:aws:iam::123456789012:role/r1", layers=[], version="$LATEST", account_id=ACCOUNT,
        region=REGION, function_name="f", function_arn="arn", logs_group_name="/aws/lambda/f",
        code_bytes=b"zip-1",
    )
    kept = FunctionConfig.from_moto(fn, keep_code=True)
    live = FunctionConfig.from_moto(fn)
    fn.environment_vars["GREETING"] = "new"
    fn.code_bytes, fn.code["UUID"], fn.role = b"zip-2", "u2", "arn:aws:iam::123456789012:role/r2"
    assert (kept.environment, kept.code_bytes, kept.role) == ({"GREETING": "old"}, b"zip-1", fn_role(1))
    assert kept.fingerprint != FunctionConfig.from_moto(fn).fingerprint
    assert live.code is None and live.code_bytes == b"zip-2"  # the live one reads moto's bytes


def fn_role(index: int) -> str:
    return f"arn:aws:iam::123456789012:role/r{index}"

