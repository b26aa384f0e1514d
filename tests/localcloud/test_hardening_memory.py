"""Fault injection on memory: functions that print far more than anyone reads.

The bounds (workshop/localcloud/cloudwatch.py): one log event holds at most 256 KB, CloudWatch
Logs' event size quota; a log group keeps at most WORKSHOP_LOG_GROUP_MEMORY_MB of events in
memory, dropping its oldest. The live tests run a local cloud of their own with a small group
budget, and read its resident memory from /proc.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from localcloud_support import REGION, TRUST_POLICY, make_zip, unique

from workshop.localcloud import cloudwatch, lifecycle

pytestmark = pytest.mark.localcloud

GROUP_BUDGET_MB = 2
MB = 1024 * 1024

PRINTER_SOURCE = r'''
import sys

def handler(event, context):
    kind = event["kind"]
    if kind == "one-line":  # one line of N MB, printed at once
        print("x" * (event["mb"] * 1024 * 1024))
    elif kind == "no-newline":  # N MB written in small pieces, never a newline
        piece = "y" * 4096
        for _ in range(event["mb"] * 256):
            sys.stdout.write(piece)
    elif kind == "many-lines":  # N lines of 100 characters, numbered
        for number in range(event["lines"]):
            print(f"line {number:09d} " + "z" * 85)
    return {"done": kind}
'''


# -- the rules on their own -----------------------------------------------------------------


def test_a_log_event_is_cut_to_256_kb_of_utf8_without_breaking_a_character():
    assert cloudwatch.cap_log_event("short") == "short"
    exact = "a" * cloudwatch.MAX_EVENT_BYTES
    assert cloudwatch.cap_log_event(exact) == exact
    long_ascii = cloudwatch.cap_log_event("a" * (cloudwatch.MAX_EVENT_BYTES + 10))
    assert len(long_ascii.encode()) == cloudwatch.MAX_EVENT_BYTES
    accented = cloudwatch.cap_log_event("é" * cloudwatch.MAX_EVENT_BYTES)  # 2 bytes each
    assert len(accented.encode()) <= cloudwatch.MAX_EVENT_BYTES
    assert accented == "é" * (cloudwatch.MAX_EVENT_BYTES // 2)
    emoji = cloudwatch.cap_log_event("a" + "😀" * cloudwatch.MAX_EVENT_BYTES)  # 4 bytes each
    assert len(emoji.encode()) <= cloudwatch.MAX_EVENT_BYTES
    assert emoji.endswith("😀") and len(emoji.encode()) > cloudwatch.MAX_EVENT_BYTES - 4


def test_a_log_group_over_budget_drops_its_oldest_events_across_streams():
    from moto.logs.models import LogGroup

    group = LogGroup("123456789012", "us-east-1", "/aws/lambda/trim-test")
    for name, start in (("a", 0), ("b", 1)):
        group.create_log_stream(name)
        group.put_log_events(name, [{"timestamp": start + 2 * i, "message": f"{name}{i:04d}" + "m" * 995}
                                    for i in range(100)])
    budget = 100 * (1000 + cloudwatch.EVENT_OVERHEAD_BYTES)  # room for 100 of the 200 events
    dropped = cloudwatch.trim_log_group(group, budget)
    kept = sorted((e.timestamp, e.message[:5]) for s in group.streams.values() for e in s.events)
    assert dropped == 200 - len(kept)
    assert len(kept) <= 75  # brought down to 3/4 of the budget
    # the newest events stay, from both streams, and nothing newer was dropped before older
    assert kept[-1] == (199, "b0099")
    assert kept[0][0] == 200 - len(kept)
    assert group.streams["a"].stored_bytes == sum(len(e.message) for e in group.streams["a"].events)


def test_a_log_group_under_budget_is_left_alone():
    from moto.logs.models import LogGroup

    group = LogGroup("123456789012", "us-east-1", "/aws/lambda/small")
    group.create_log_stream("s")
    group.put_log_events("s", [{"timestamp": i, "message": "hello"} for i in range(10)])
    assert cloudwatch.trim_log_group(group, 10 * MB) == 0
    assert len(group.streams["s"].events) == 10


# -- a live local cloud ----------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Printer:
    def __init__(self, info: lifecycle.LocalCloudInfo) -> None:
        self.info = info
        kwargs = dict(endpoint_url=info.endpoint, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing",
                      config=Config(read_timeout=120, retries={"max_attempts": 0}))
        self.lam = boto3.client("lambda", **kwargs)
        self.logs = boto3.client("logs", **kwargs)
        iam = boto3.client("iam", **kwargs)
        role_name = unique("role")
        role = iam.create_role(
            RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
        # IAM is enforced: without logs permissions a function writes no logs at all.
        iam.attach_role_policy(RoleName=role_name, PolicyArn="arn:aws:iam::aws:policy/"
                               "service-role/AWSLambdaBasicExecutionRole")
        self.name = unique("printer")
        self.lam.create_function(FunctionName=self.name, Runtime="python3.11", Role=role,
                                 Handler="app.handler", Timeout=120, MemorySize=1024,
                                 Code={"ZipFile": make_zip({"app.py": PRINTER_SOURCE})})

    def run(self, **event: object) -> dict:
        answer = self.lam.invoke(FunctionName=self.name, Payload=json.dumps(event))
        payload = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, payload
        return payload

    def events(self) -> list[str]:
        messages: list[str] = []
        for stream in self.logs.describe_log_streams(logGroupName=f"/aws/lambda/{self.name}")["logStreams"]:
            kwargs = {"logGroupName": f"/aws/lambda/{self.name}", "logStreamName": stream["logStreamName"],
                      "startFromHead": True}
            while True:
                page = self.logs.get_log_events(**kwargs)
                messages += [e["message"] for e in page["events"]]
                if not page["events"]:
                    break
                kwargs["nextToken"] = page["nextForwardToken"]
        return messages


@pytest.fixture(scope="module")
def printer() -> Iterator[Printer]:
    state_dir = tempfile.mkdtemp(prefix="workshop-memory-")
    saved = os.environ.get("WORKSHOP_LOG_GROUP_MEMORY_MB")
    os.environ["WORKSHOP_LOG_GROUP_MEMORY_MB"] = str(GROUP_BUDGET_MB)
    try:
        info = lifecycle.start(endpoint_port=0, gateway_port=0, state_dir=state_dir)
    finally:
        if saved is None:
            os.environ.pop("WORKSHOP_LOG_GROUP_MEMORY_MB", None)
        else:
            os.environ["WORKSHOP_LOG_GROUP_MEMORY_MB"] = saved
    try:
        yield Printer(info)
    finally:
        lifecycle.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status")
@pytest.mark.parametrize("kind", ["one-line", "no-newline"])
def test_a_function_printing_50_mb_does_not_grow_the_local_cloud_by_50_mb(printer, kind):
    printer.run(kind=kind, mb=1)  # warm: the environment, the code paths, the log group
    before = rss_mb(printer.info.pid)
    printer.run(kind=kind, mb=50)
    time.sleep(0.5)
    after = rss_mb(printer.info.pid)
    assert after - before < 20, f"{kind}: RSS {before:.0f} MB -> {after:.0f} MB"
    # the output is in the log, cut to one event's size per line
    sizes = [len(m.encode()) for m in printer.events() if m[:1] in ("x", "y")]
    assert sizes and max(sizes) <= cloudwatch.MAX_EVENT_BYTES


def test_a_log_group_keeps_its_newest_events_within_its_memory_budget(printer):
    lines = 60_000  # ~6 MB of output: three times the group's budget
    printer.run(kind="many-lines", lines=lines)
    messages = printer.events()
    numbered = [m for m in messages if m.startswith("line ")]
    held = sum(len(m) + cloudwatch.EVENT_OVERHEAD_BYTES for m in messages)
    assert held <= GROUP_BUDGET_MB * MB
    assert numbered[-1].startswith(f"line {lines - 1:09d}")  # the newest are kept
    assert len(numbered) < lines  # the oldest were dropped
    numbers = [int(m.split()[1]) for m in numbered]
    assert numbers == sorted(numbers) and numbers == list(range(numbers[0], lines))


@pytest.mark.parametrize("length", [0, 1, 65535, 65536, 65537, 3 * 65536, 2 * 65536 + 5])
def test_the_worker_sends_a_long_line_in_bounded_pieces_that_join_back(length):
    from workshop.localcloud import worker

    sent: list[dict] = []

    class Channel:
        def send(self, message: dict, *, now: bool = True) -> None:
            sent.append(message)

    writer = worker.LogLineWriter(Channel(), "<stdout>")  # type: ignore[arg-type]
    line = "".join(chr(ord("a") + i % 26) for i in range(length))
    writer.write(line[: length // 2])  # written in two parts, the newline last
    writer.write(line[length // 2 :] + "\n")
    assert "".join(m["message"] for m in sent) == line
    assert all(len(m["message"]) <= worker.LOG_PIECE_CHARS for m in sent)
    assert [bool(m.get("continued")) for m in sent] == [True] * (len(sent) - 1) + [False]


def test_moto_model_objects_are_freed_once_nothing_uses_them():
    # moto keeps every model object in a class-level list for its dashboard; the local cloud
    # turns that off, or a trimmed log event (or a deleted item) would never be freed
    import gc
    import weakref

    from moto.logs.models import LogEvent

    from workshop.localcloud.moto_memory import stop_tracking_model_instances

    stop_tracking_model_instances()
    event = LogEvent(0, {"timestamp": 1, "message": "bye"})
    watcher = weakref.ref(event)
    assert event.message == "bye" and event.timestamp == 1
    del event
    gc.collect()
    assert watcher() is None
    assert LogEvent.instances_tracked == []  # type: ignore[attr-defined]
