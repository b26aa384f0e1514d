"""Correct under load: concurrent writes and scans never fail and never return a wrong page.

moto's DynamoDB keeps tables in plain dicts; a Scan iterating a table while a PutItem adds to it
raised "dictionary changed size during iteration" (a 500 that boto3's retries hid). The local
cloud serves DynamoDB requests one at a time (workshop.localcloud.rules.dynamodb.DYNAMODB_LOCK),
so every request sees a consistent table. Retries are off here: a single failure fails the test.

A lock must not deadlock what AWS runs concurrently: a DynamoDB stream trigger runs after the
write has answered (moto ran it inside the write, so a trigger reading its table would wait for
itself until it timed out).

The local cloud runs in this process, and the interpreter switches threads every microsecond
while the load runs: without the lock the race shows within seconds (several 500s per run),
with it none.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.localcloud

SEEDED = 150
WRITERS = 4
SCANNERS = 3
WRITES_PER_WRITER = 50
PAGE = 50
#: Thread switch interval while the load runs (the default is 5 ms).
SWITCH_INTERVAL_S = 1e-6


def client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, max_pool_connections=4),
    )


@pytest.fixture
def table(cloud) -> Iterator[str]:
    ddb = client(cloud.endpoint)
    name = f"load-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, SEEDED, 25):
        ddb.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"id": {"S": f"seed-{index:04d}"}, "n": {"N": str(index)}}}}
            for index in range(start, min(start + 25, SEEDED))
        ]})
    yield name
    ddb.delete_table(TableName=name)


def full_scan(ddb: Any, table: str) -> list[str]:
    """Every id of one paginated scan, in the order the pages returned them."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {"TableName": table, "Limit": PAGE}
    while True:
        page = ddb.scan(**kwargs)
        assert len(page["Items"]) <= PAGE
        ids += [item["id"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_concurrent_writers_and_scanners_never_fail_or_page_wrongly(cloud, table):
    stop = threading.Event()
    scans: list[list[str]] = []

    def writer(number: int) -> int:
        ddb = client(cloud.endpoint)
        for index in range(WRITES_PER_WRITER):
            ddb.put_item(TableName=table, Item={"id": {"S": f"w{number}-{index:04d}"}, "n": {"N": "1.50"}})
            if index % 10 == 0:
                ddb.update_item(
                    TableName=table, Key={"id": {"S": f"seed-{index:04d}"}},
                    UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}},
                )
        return WRITES_PER_WRITER

    def scanner() -> int:
        ddb = client(cloud.endpoint)
        done = 0
        while not stop.is_set() or done == 0:
            scans.append(full_scan(ddb, table))
            done += 1
        return done

    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        with ThreadPoolExecutor(WRITERS + SCANNERS) as pool:
            scanning = [pool.submit(scanner) for _ in range(SCANNERS)]
            writing = [pool.submit(writer, number) for number in range(WRITERS)]
            try:
                written = sum(future.result(timeout=90) for future in writing)  # raises on any error
            finally:
                stop.set()
            assert all(future.result(timeout=90) > 0 for future in scanning)
    finally:
        sys.setswitchinterval(interval)

    seeded = {f"seed-{index:04d}" for index in range(SEEDED)}
    for ids in scans:
        # no page repeats an item, and no item that existed before the scan is skipped
        assert len(ids) == len(set(ids))
        assert seeded <= set(ids)
    final = full_scan(client(cloud.endpoint), table)
    assert len(final) == len(set(final)) == SEEDED + written


STREAM_HANDLER = '''
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]["id"]["S"]
        if key.startswith("copy-"):
            continue
        item = table.get_item(Key={"id": key})["Item"]  # reads the table that triggered it
        table.put_item(Item={"id": "copy-" + key, "seen": item["id"]})
'''


def test_a_stream_trigger_that_reads_its_table_does_not_block_the_write(cloud):
    # GIVEN a table with a stream, and a function triggered by it that reads and writes the table
    # (on AWS the trigger runs after the write has answered; moto ran it inside the write)
    import json
    import time

    from localcloud_support import make_zip, unique

    ddb = client(cloud.endpoint)
    name = unique("streamed")
    stream_arn = ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    lam = cloud.client("lambda")
    function = unique("stream-fn")
    lam.create_function(
        FunctionName=function, Runtime="python3.11", Role=cloud.role_arn, Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": STREAM_HANDLER})}, Timeout=20,
        Environment={"Variables": {"TABLE_NAME": name}},
    )
    lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=function, StartingPosition="LATEST")
    try:
        # WHEN an item is written
        started = time.monotonic()
        ddb.put_item(TableName=name, Item={"id": {"S": "p-1"}})
        # THEN the write answers at once (not after the function's 20 s timeout) ...
        assert time.monotonic() - started < 10
        # ... and the function runs afterwards and can use the table
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            copy = ddb.get_item(TableName=name, Key={"id": {"S": "copy-p-1"}}).get("Item")
            if copy:
                break
            time.sleep(0.2)
        assert copy == {"id": {"S": "copy-p-1"}, "seen": {"S": "p-1"}}, json.dumps(cloud.log_messages(function))[:2000]
    finally:
        lam.delete_function(FunctionName=function)
        ddb.delete_table(TableName=name)
