"""DynamoDB answers as AWS answers: each test is one fact and names its source.

Sources:
- DOC_NUMBER: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
  (Number: "up to 38 digits of precision", "Positive range: 1E-130 to
  9.9999999999999999999999999999999999999E+125", "Leading and trailing zeroes are trimmed").
- DOC_ITEM_SIZE: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
  ("Item sizes and formats": names plus values, numbers 1 byte per two significant digits + 1,
  lists and maps 3 bytes + 1 byte per element).
- DOC_QUOTA: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
  ("The maximum item size in DynamoDB is 400 KB").
- DOC_TRANSACT: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
  (ValidationException reasons, verbatim: "Number overflow. Attempting to store a number with
  magnitude larger than supported range", "Item size to update has exceeded the maximum allowed
  size").
- The underflow and 38-digit messages are the ones AWS returns as recorded by dynalite's
  AWS-checked validation tests (mhart/dynalite test/putItem.js); localstack defers to DynamoDB
  Local for them.
- Table not found: "Requested resource not found: Table: NAME not found" as AWS logs it
  (CloudTrail errorMessage of a failed UpdateTable; hashicorp/terraform-provider-aws matches the
  prefix "Requested resource not found: Table: " for DeleteTable).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.localcloud

MAX_ITEM_BYTES = 409_600
KEY = "productId"


@pytest.fixture(scope="module")
def ddb(local_cloud) -> Any:
    return boto3.client("dynamodb", config=Config(retries={"max_attempts": 0}))


@pytest.fixture(scope="module")
def table(ddb) -> Iterator[str]:
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        yield name
    finally:
        ddb.delete_table(TableName=name)


@pytest.fixture(scope="module")
def numbered(ddb) -> Iterator[str]:
    """A table keyed by a number, for key conditions."""
    name = f"conformance-n-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        yield name
    finally:
        ddb.delete_table(TableName=name)


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response


def assert_validation(response: dict[str, Any], message: str) -> None:
    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == message


OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
DIGITS = "Attempting to store more than 38 significant digits in a Number"


def new_key() -> dict[str, Any]:
    return {KEY: {"S": f"p-{uuid.uuid4().hex[:10]}"}}


# -- numbers: limits (DOC_NUMBER, DOC_TRANSACT) --------------------------------------------------


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1" * 39, DIGITS),
        ("1E126", OVERFLOW),
        ("-1E126", OVERFLOW),
        ("1E-131", UNDERFLOW),
        ("-1E-131", UNDERFLOW),
    ],
)
def test_a_top_level_number_out_of_range_is_refused(ddb, table, number, message):
    key = new_key()
    assert_validation(refused(ddb.put_item, TableName=table, Item={**key, "n": {"N": number}}), message)
    assert "Item" not in ddb.get_item(TableName=table, Key=key)


@pytest.mark.parametrize("number", ["1" * 38, "1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125"])
def test_the_extremes_of_the_range_are_stored(ddb, table, number):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "n": {"N": number}})
    assert "Item" in ddb.get_item(TableName=table, Key=key)


@pytest.mark.parametrize(
    "value",
    [
        {"L": [{"S": "ok"}, {"N": "1E126"}]},
        {"M": {"inner": {"M": {"deep": {"N": "1E126"}}}}},
        {"NS": ["1", "1E126"]},
        {"L": [{"M": {"x": {"NS": ["1E126"]}}}]},
    ],
)
def test_numbers_inside_lists_maps_and_sets_are_checked(ddb, table, value):
    assert_validation(refused(ddb.put_item, TableName=table, Item={**new_key(), "v": value}), OVERFLOW)


def test_update_expression_values_are_checked(ddb, table):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "n": {"N": "1"}})
    response = refused(
        ddb.update_item, TableName=table, Key=key, UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {"L": [{"N": "1E-131"}]}},
    )
    assert_validation(response, UNDERFLOW)
    assert ddb.get_item(TableName=table, Key=key)["Item"]["n"] == {"N": "1"}


def test_an_addition_whose_result_overflows_changes_nothing(ddb, table):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "n": {"N": "9E125"}})
    response = refused(
        ddb.update_item, TableName=table, Key=key, UpdateExpression="ADD n :v",
        ExpressionAttributeValues={":v": {"N": "9E125"}},
    )
    assert_validation(response, OVERFLOW)
    assert ddb.get_item(TableName=table, Key=key)["Item"]["n"] == {"N": "9" + "0" * 125}


def test_condition_values_are_checked(ddb, table):
    response = refused(
        ddb.put_item, TableName=table, Item=new_key(), ConditionExpression="attribute_not_exists(n) OR n < :v",
        ExpressionAttributeValues={":v": {"N": "1" * 39}},
    )
    assert_validation(response, DIGITS)


def test_key_conditions_are_checked(ddb, numbered):
    response = refused(
        ddb.query, TableName=numbered, KeyConditionExpression="k = :k",
        ExpressionAttributeValues={":k": {"N": "1E126"}},
    )
    assert_validation(response, OVERFLOW)


def test_batch_writes_are_checked(ddb, table):
    response = refused(
        ddb.batch_write_item,
        RequestItems={table: [{"PutRequest": {"Item": {**new_key(), "n": {"N": "1E-131"}}}}]},
    )
    assert_validation(response, UNDERFLOW)


def test_transaction_writes_are_checked(ddb, table):
    response = refused(
        ddb.transact_write_items,
        TransactItems=[{"Put": {"TableName": table, "Item": {**new_key(), "n": {"N": "1" * 39}}}}],
    )
    assert_validation(response, DIGITS)


# -- numbers read back as stored (DOC_NUMBER: "Leading and trailing zeroes are trimmed") ---------


@pytest.mark.parametrize(("sent", "stored"), [("12.50", "12.5"), ("1E+2", "100"), ("007.0", "7"), ("-0.0", "0")])
def test_numbers_read_back_as_dynamodb_stores_them(ddb, table, sent, stored):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "n": {"N": sent}, "l": {"L": [{"N": sent}]}, "s": {"NS": [sent]}})
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert (item["n"], item["l"], item["s"]) == ({"N": stored}, {"L": [{"N": stored}]}, {"NS": [stored]})
    scanned = ddb.scan(
        TableName=table, FilterExpression="#k = :k", ExpressionAttributeNames={"#k": KEY},
        ExpressionAttributeValues={":k": key[KEY]},
    )["Items"]
    assert scanned[0]["n"] == {"N": stored}


def test_update_return_values_are_normalised(ddb, table):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "price": {"N": "12.5"}})
    answer = ddb.update_item(
        TableName=table, Key=key, UpdateExpression="SET price = price + :d",
        ExpressionAttributeValues={":d": {"N": "0.50"}}, ReturnValues="UPDATED_NEW",
    )
    assert answer["Attributes"]["price"] == {"N": "13"}


def test_the_old_item_of_a_failed_condition_is_normalised(ddb, table):
    # GIVEN a number computed by the store (12.5 + 0.5)
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "n": {"N": "12.5"}})
    ddb.update_item(
        TableName=table, Key=key, UpdateExpression="SET n = n + :d", ExpressionAttributeValues={":d": {"N": "0.5"}}
    )
    with pytest.raises(ClientError) as error:
        ddb.put_item(
            TableName=table, Item=key, ConditionExpression="attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": KEY}, ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert error.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert error.value.response["Item"]["n"] == {"N": "13"}


def test_query_on_a_numeric_key_finds_the_item_whatever_the_spelling(ddb, numbered):
    ddb.put_item(TableName=numbered, Item={"k": {"N": "1.50"}})
    items = ddb.query(
        TableName=numbered, KeyConditionExpression="k = :k", ExpressionAttributeValues={":k": {"N": "15E-1"}}
    )["Items"]
    assert items == [{"k": {"N": "1.5"}}]


# -- item size (DOC_ITEM_SIZE, DOC_QUOTA) -----------------------------------------------------------


def _padding_for(total: int, key: dict[str, Any], name: str = "data") -> str:
    overhead = len(KEY) + len(key[KEY]["S"]) + len(name)
    return "x" * (total - overhead)


def test_an_item_of_exactly_400_kb_is_stored(ddb, table):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "data": {"S": _padding_for(MAX_ITEM_BYTES, key)}})
    assert "Item" in ddb.get_item(TableName=table, Key=key)


def test_an_item_one_byte_over_400_kb_is_refused(ddb, table):
    key = new_key()
    response = refused(ddb.put_item, TableName=table, Item={**key, "data": {"S": _padding_for(MAX_ITEM_BYTES + 1, key)}})
    assert_validation(response, "Item size has exceeded the maximum allowed size")


def test_batch_writes_apply_the_same_size_limit(ddb, table):
    key = new_key()
    item = {**key, "data": {"S": _padding_for(MAX_ITEM_BYTES + 1, key)}}
    response = refused(ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": item}}]})
    assert_validation(response, "Item size has exceeded the maximum allowed size")


def test_list_overhead_counts_toward_the_item_size(ddb, table):
    # GIVEN 1,000 strings of 100 bytes: 100,000 bytes of text, plus 3 + 1,000 bytes of list overhead
    key = new_key()
    elements = [{"S": "y" * 100} for _ in range(1000)]
    fixed = len(KEY) + len(key[KEY]["S"]) + len("l") + 3 + 1000 * 101 + len("pad")
    room = MAX_ITEM_BYTES - fixed
    # WHEN the rest is filled up to exactly the limit THEN stored; one byte more is refused
    ddb.put_item(TableName=table, Item={**key, "l": {"L": elements}, "pad": {"S": "z" * room}})
    response = refused(
        ddb.put_item, TableName=table, Item={**new_key(), "l": {"L": elements}, "pad": {"S": "z" * (room + 1)}}
    )
    assert_validation(response, "Item size has exceeded the maximum allowed size")


def test_an_update_past_the_limit_is_refused_and_changes_nothing(ddb, table):
    key = new_key()
    ddb.put_item(TableName=table, Item={**key, "m": {"M": {"a": {"S": "small"}}}})
    response = refused(
        ddb.update_item, TableName=table, Key=key, UpdateExpression="SET m.big = :v",
        ExpressionAttributeValues={":v": {"S": "x" * MAX_ITEM_BYTES}},
    )
    assert_validation(response, "Item size to update has exceeded the maximum allowed size")
    assert ddb.get_item(TableName=table, Key=key)["Item"]["m"] == {"M": {"a": {"S": "small"}}}


# -- text that is not Unicode ---------------------------------------------------------------------


@pytest.mark.parametrize("item", [{"s": {"S": "\ud800"}}, {"l": {"L": [{"S": "a\udfff"}]}}, {"\udc00": {"S": "x"}}])
def test_a_lone_surrogate_is_refused(ddb, table, item):
    # AWS refuses text that is not valid UTF-8 (the wording of its message is not recorded; see
    # the README's local-versus-AWS list)
    response = refused(ddb.put_item, TableName=table, Item={**new_key(), **item})
    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- tables that do not exist -------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["delete_table", "describe_table"])
def test_an_unknown_table_is_named_in_the_error(ddb, operation):
    name = f"no-such-table-{uuid.uuid4().hex[:6]}"
    response = refused(getattr(ddb, operation), TableName=name)
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["Error"]["Message"] == f"Requested resource not found: Table: {name} not found"
