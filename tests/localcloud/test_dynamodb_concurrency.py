"""Correct under load: concurrent writes and scans never fail and never return a wrong page.

moto's DynamoDB keeps tables in plain dicts; a Scan iterating a table while a PutItem adds to it
raised "dictionary changed size during iteration" (a 500 that boto3's retries hid). The local
cloud serves DynamoDB requests one at a time (workshop.localcloud.rules.dynamodb.DYNAMODB_LOCK),
so every request sees a consistent table. Retries are off here: a single failure fails the test.

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
