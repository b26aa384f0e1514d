"""CustomEncoder: DynamoDB's types (Decimal, sets, Binary) as JSON."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary


def dumps(value, encoder):
    return json.dumps(value, cls=encoder)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (Decimal("500"), "500"),
        (Decimal("500.0"), "500"),  # a whole number, however DynamoDB spells it
        (Decimal("0"), "0"),
        (Decimal("-7"), "-7"),
        (Decimal("1E+2"), "100"),
        (Decimal("12345678901234567890123456789012345678"), "12345678901234567890123456789012345678"),
        (Decimal("19.99"), "19.99"),
        (Decimal("0.1"), "0.1"),
        (Decimal("-0.5"), "-0.5"),
        (Decimal("1E-130"), "1e-130"),
    ],
)
def test_decimal_whole_numbers_are_ints_and_fractions_keep_their_value(CustomEncoder, number, expected):
    # GIVEN a number as boto3 returns it from DynamoDB
    # WHEN it is written as JSON
    text = dumps(number, CustomEncoder)
    # THEN whole numbers have no ".0" and fractions read back as the same value
    assert text == expected
    assert Decimal(text) == number


def test_huge_whole_number_is_written_exactly(CustomEncoder):
    # GIVEN the largest magnitude DynamoDB stores ("value % 1" would raise InvalidOperation here)
    number = Decimal("9.9999999999999999999999999999999999999E+125")
    # WHEN / THEN every digit is kept
    assert dumps(number, CustomEncoder) == "99999999999999999999999999999999999999" + "0" * 88


def test_nested_item_is_encoded_throughout(CustomEncoder):
    # GIVEN an item with numbers at several depths, as boto3 returns it
    item = {
        "productId": "p-1",
        "price": Decimal("19.99"),
        "stock": Decimal("500"),
        "dimensions": {"width": Decimal("2.5"), "tags": ["a", Decimal("3")]},
        "history": [{"qty": Decimal("1")}, {"qty": Decimal("0.25")}],
        "active": True,
        "note": None,
    }
    # WHEN it is encoded
    text = dumps(item, CustomEncoder)
    # THEN it is exactly the JSON a client expects
    assert json.loads(text) == {
        "productId": "p-1",
        "price": 19.99,
        "stock": 500,
        "dimensions": {"width": 2.5, "tags": ["a", 3]},
        "history": [{"qty": 1}, {"qty": 0.25}],
        "active": True,
        "note": None,
    }
    assert '"stock": 500,' in text and "500.0" not in text


def test_round_trip_through_json_keeps_every_value(CustomEncoder):
    # GIVEN a request body parsed the way the Lambda parses it (floats as Decimal)
    body = '{"price": 19.99, "stock": 500, "weight": 0.125, "big": 12345678901234567890}'
    parsed = json.loads(body, parse_float=Decimal)
    # WHEN it is written back and read again
    again = json.loads(dumps(parsed, CustomEncoder), parse_float=Decimal)
    # THEN nothing changed
    assert again == parsed
    assert dumps(parsed, CustomEncoder) == body


def test_string_and_number_sets_become_sorted_lists(CustomEncoder):
    # GIVEN DynamoDB string and number sets (boto3 returns Python sets)
    value = {"colors": {"red", "blue", "green"}, "sizes": {Decimal("10"), Decimal("2.5"), Decimal("7")}}
    # WHEN / THEN they are JSON arrays, in a stable order, with their numbers encoded
    assert json.loads(dumps(value, CustomEncoder)) == {"colors": ["blue", "green", "red"], "sizes": [2.5, 7, 10]}


def test_frozenset_is_a_list_too(CustomEncoder):
    assert json.loads(dumps(frozenset({"b", "a"}), CustomEncoder)) == ["a", "b"]


def test_binary_and_bytes_become_base64_text(CustomEncoder):
    # GIVEN binary values as boto3 returns them (Binary) and as Python has them (bytes)
    value = {"blob": Binary(b"\x00\xffhi"), "raw": b"hello", "buffer": bytearray(b"\x01\x02")}
    # WHEN / THEN each is its base64 text
    assert json.loads(dumps(value, CustomEncoder)) == {"blob": "AP9oaQ==", "raw": "aGVsbG8=", "buffer": "AQI="}


def test_binary_set_becomes_a_list_of_base64_text(CustomEncoder):
    # GIVEN a DynamoDB binary set
    value = {Binary(b"a"), Binary(b"b")}
    # WHEN / THEN it is a list of the base64 texts (in any order)
    assert sorted(json.loads(dumps(value, CustomEncoder))) == ["YQ==", "Yg=="]


@pytest.mark.parametrize("unknown", [object(), datetime.date(2024, 1, 2), complex(1, 2)])
def test_unknown_types_still_raise_type_error(CustomEncoder, unknown):
    # GIVEN a value that is not a DynamoDB type
    # WHEN / THEN the encoder refuses it loudly instead of guessing
    with pytest.raises(TypeError):
        dumps({"value": unknown}, CustomEncoder)


def test_plain_json_types_are_untouched(CustomEncoder):
    value = {"s": "x", "i": 3, "f": 1.5, "b": False, "n": None, "l": [1, "a"]}
    assert dumps(value, CustomEncoder) == json.dumps(value)
