"""BatchWriteItem takes at most 25 put or delete requests, across all its tables.

AWS API reference, BatchWriteItem: "up to 25 item put or delete operations", and among the
reasons for a ValidationException: "There are more than 25 requests in the batch." moto 5.2
accepts any number, so a notebook that batches 26 writes by hand passed locally and failed on
AWS (boto3's ``batch_writer`` sends 25 at a time and is unaffected). The wording is the one
DynamoDB emulators record for this refusal; AWS documents only the condition.

GIVEN a table, WHEN one BatchWriteItem call carries 26 requests (one table, or two tables
together), THEN ValidationException and nothing is written; 25 are accepted.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from localcloud_support import unique

pytestmark = pytest.mark.localcloud


@pytest.fixture(scope="module")
def tables(cloud):
    dynamodb = cloud.client("dynamodb")
    names = [unique("batch-limit"), unique("batch-limit")]
    for name in names:
        dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
    yield names
    for name in names:
        dynamodb.delete_table(TableName=name)


def _puts(prefix: str, count: int) -> list[dict]:
    return [{"PutRequest": {"Item": {"pk": {"S": f"{prefix}-{i}"}}}} for i in range(count)]


def _count(cloud, table: str) -> int:
    return cloud.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


@pytest.mark.parametrize("split", [(26, 0), (13, 13), (25, 1)], ids=["one-table", "two-tables", "25+1"])
def test_more_than_25_requests_are_refused_and_nothing_is_written(cloud, tables, split):
    first, second = tables
    before = (_count(cloud, first), _count(cloud, second))
    items = {first: _puts("over", split[0])}
    if split[1]:
        items[second] = _puts("over", split[1])

    with pytest.raises(ClientError) as refused:
        cloud.client("dynamodb").batch_write_item(RequestItems=items)

    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Too many items requested for the BatchWriteItem call"
    assert (_count(cloud, first), _count(cloud, second)) == before


def test_25_requests_are_accepted(cloud, tables):
    first, second = tables
    answer = cloud.client("dynamodb").batch_write_item(
        RequestItems={first: _puts("ok-a", 20), second: _puts("ok-b", 5)})
    assert answer["UnprocessedItems"] == {}
