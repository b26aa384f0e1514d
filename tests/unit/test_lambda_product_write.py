"""POST /product and GET /product: saving and reading one product."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from lambda_test_support import proxy_event

PRODUCT = {"productId": "p-1", "name": "Desk lamp", "price": 19.99, "stock": 500, "status": "active", "size": "M"}


def stored(table, product_id):
    """The item as DynamoDB holds it (None if absent)."""
    return table.get_item(Key={"productId": product_id}, ConsistentRead=True).get("Item")


# --- POST /product -------------------------------------------------------------------------------


def test_post_saves_the_product_and_echoes_it(api, table):
    # GIVEN an empty table
    # WHEN a product with reserved-word attributes (name, status, size) is posted
    reply = api.request("POST", "/product", json_body=PRODUCT)
    # THEN 201 with the seed's answer shape
    assert reply.status == 201
    assert reply.json == {"Operation": "SAVE", "Message": "SUCCESS", "Item": PRODUCT}
    # AND DynamoDB holds exact numbers (Decimal, not float)
    assert stored(table, "p-1") == {
        "productId": "p-1",
        "name": "Desk lamp",
        "price": Decimal("19.99"),
        "stock": Decimal("500"),
        "status": "active",
        "size": "M",
    }


def test_numbers_are_written_back_exactly(api):
    # GIVEN a body with a price, a whole number and a nested fraction, as a client types it
    body = '{"productId": "n-1", "price": 19.99, "stock": 500, "ratio": 0.1, "dims": {"w": 2.50, "h": 10}}'
    # WHEN it is posted and read back
    api.request("POST", "/product", body=body)
    reply = api.request("GET", "/product", query={"productId": "n-1"})
    # THEN 19.99 stays 19.99 and 500 stays 500 (never 500.0) in the JSON text itself
    text = reply.raw["body"]
    assert '"price": 19.99' in text and '"stock": 500' in text and '"ratio": 0.1' in text
    assert "500.0" not in text and "19.989" not in text
    assert reply.json == {"productId": "n-1", "price": 19.99, "stock": 500, "ratio": 0.1, "dims": {"w": 2.5, "h": 10}}


def test_post_keeps_every_json_type(api, table):
    # GIVEN an item with lists, maps, booleans, null and an empty string
    item = {"productId": "t-1", "tags": ["a", 1, True], "meta": {"x": None, "y": ""}, "ok": False}
    # WHEN / THEN it is saved and read back unchanged
    api.create(item)
    assert api.request("GET", "/product", query={"productId": "t-1"}).json == item


def test_post_existing_product_is_409_and_never_overwrites(api, table):
    # GIVEN a saved product
    api.create(PRODUCT)
    # WHEN another product with the same productId is posted
    reply = api.request("POST", "/product", json_body={"productId": "p-1", "price": 0})
    # THEN 409 and the original is untouched
    assert reply.status == 409
    assert reply.json == {"message": 'A product with productId "p-1" already exists. Use PATCH to change it.'}
    assert stored(table, "p-1")["price"] == Decimal("19.99")


def test_post_base64_encoded_body(api, table):
    # GIVEN a body API Gateway passed base64-encoded (isBase64Encoded: true)
    reply = api.request("POST", "/product", json_body={"productId": "b-1", "price": 2.5}, as_base64=True)
    # THEN it is decoded like any other body
    assert reply.status == 201
    assert stored(table, "b-1") == {"productId": "b-1", "price": Decimal("2.5")}


def test_post_non_ascii_text(api, table):
    item = {"productId": "café-☕", "name": "Crème brûlée 🍮"}
    api.create(item)
    assert api.request("GET", "/product", query={"productId": "café-☕"}).json == item


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ("{not json", "not valid JSON"),
        ('{"productId": "p-1",}', "not valid JSON"),
        ("{'productId': 'p-1'}", "not valid JSON"),
        ('[{"productId": "p-1"}]', "not an array"),
        ("null", "not null"),
        ('"p-1"', "not a string"),
        ("42", "not a number"),
        ("true", "not true/false"),
        ("", "Send a JSON object"),
        ("   ", "Send a JSON object"),
        (None, "Send a JSON object"),
        ('{"productId": "x", "price": NaN}', "NaN"),
        ('{"productId": "x", "price": Infinity}', "Infinity"),
    ],
)
def test_post_body_that_is_not_a_json_object_is_400(api, table, body, message_part):
    # GIVEN a body that is not a JSON object
    reply = api.request("POST", "/product", body=body)
    # THEN 400 says what is wrong, and nothing is stored
    assert reply.status == 400
    assert set(reply.json) == {"message"}
    assert message_part in reply.json["message"]
    assert table.scan()["Items"] == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"name": "no id"}, "productId is missing: add it to the request body."),
        ({"productId": None}, "productId is missing: add it to the request body."),
        ({"productId": 123}, 'productId must be a string, for example "p-1" (in quotes), not a number.'),
        ({"productId": 1.5}, 'productId must be a string, for example "p-1" (in quotes), not a number.'),
        ({"productId": True}, 'productId must be a string, for example "p-1" (in quotes), not true/false.'),
        ({"productId": ["p-1"]}, 'productId must be a string, for example "p-1" (in quotes), not an array.'),
        ({"productId": {"id": "p"}}, 'productId must be a string, for example "p-1" (in quotes), not an object.'),
        ({"productId": ""}, "productId must not be empty."),
        ({"productId": "   "}, "productId must not be blank."),
        ({"productId": "\t\n"}, "productId must not be blank."),
        ({"productId": "x" * 2049}, "productId is too long: at most 2048 bytes (DynamoDB's key limit)."),
        ({"productId": "é" * 1025}, "productId is too long: at most 2048 bytes (DynamoDB's key limit)."),
    ],
)
def test_post_bad_product_id_is_400(api, table, item, message):
    reply = api.request("POST", "/product", json_body=item)
    assert (reply.status, reply.json) == (400, {"message": message})
    assert table.scan()["Items"] == []


def test_product_id_of_exactly_2048_bytes_is_accepted(api, table):
    api.create({"productId": "k" * 2048})
    assert stored(table, "k" * 2048) == {"productId": "k" * 2048}


NOT_UNICODE = (
    "The request body contains text that is not valid Unicode "
    "(a lone surrogate such as \\ud800); DynamoDB cannot store it."
)


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("POST", '{"productId": "\\ud800"}'),
        ("POST", '{"productId": "p-1", "name": "lamp \\udfff"}'),
        ("POST", '{"productId": "p-1", "tags": ["ok", ["\\ud800x"]]}'),
        ("POST", '{"productId": "p-1", "dims": {"\\ud800": 1}}'),
        ("POST", '{"productId": "p-1", "\\udc00name": "x"}'),
        ("PATCH", '{"productId": "p-1", "updateKey": "name", "updateValue": "\\ud800"}'),
        ("PATCH", '{"productId": "p-1", "updateKey": "name", "updateValue": {"a": ["\\ud800"]}}'),
        ("DELETE", '{"productId": "\\ud83d"}'),
    ],
)
def test_lone_surrogate_anywhere_in_a_body_is_400(api, table, method, body):
    # GIVEN JSON text that escapes half of a UTF-16 pair (valid JSON, not valid Unicode)
    # WHEN it is sent anywhere in a body THEN 400, as DynamoDB refuses such text, and nothing is saved
    reply = api.request(method, "/product", body=body)
    assert (reply.status, reply.json) == (400, {"message": NOT_UNICODE})
    assert table.scan()["Items"] == []


def test_a_paired_surrogate_escape_is_ordinary_text(api, table):
    # "\ud83d\ude00" is one character (😀) written as a UTF-16 pair: valid Unicode.
    reply = api.request("POST", "/product", body='{"productId": "p-\\ud83d\\ude00"}')
    assert reply.status == 201
    assert stored(table, "p-😀") == {"productId": "p-😀"}


def test_post_body_as_object_instead_of_string_is_400_with_a_hint(api, table):
    # GIVEN a console test event whose body is a JSON object instead of a string
    event = {"httpMethod": "POST", "path": "/product", "body": {"productId": "p-1"}}
    # WHEN / THEN 400 explains how API Gateway sends bodies
    reply = api.invoke(event)
    assert reply.status == 400
    assert "must be a string of JSON" in reply.json["message"]


def test_post_body_marked_base64_but_not_base64_is_400(api, table):
    # GIVEN plain JSON text flagged as base64
    event = proxy_event("POST", "/product", body='{"productId": "p-1"}', is_base64=True)
    reply = api.invoke(event)
    assert (reply.status, reply.json) == (
        400,
        {"message": "The body is marked isBase64Encoded but is not base64-encoded UTF-8 text."},
    )


def test_post_base64_of_invalid_utf8_is_400(api, table):
    event = proxy_event("POST", "/product", body=base64.b64encode(b"\xff\xfe{").decode(), is_base64=True)
    reply = api.invoke(event)
    assert (reply.status, reply.json) == (
        400,
        {"message": "The body is not UTF-8 text: send JSON encoded as UTF-8, "
                    "with Content-Type: application/json."},
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"productId": "x", "n": 1e400}',
        '{"productId": "x", "n": 1e-400}',
        '{"productId": "x", "n": 123456789012345678901234567890123456789012}',
        '{"productId": "x", "n": 0.123456789012345678901234567890123456789012}',
    ],
)
def test_numbers_dynamodb_cannot_store_are_400(api, table, body):
    reply = api.request("POST", "/product", body=body)
    assert reply.status == 400
    assert "38 significant digits" in reply.json["message"]
    assert table.scan()["Items"] == []


def test_huge_integer_literal_is_400_not_500(api, table):
    # Python refuses to parse integers over 4300 digits; that is the caller's input, not our bug.
    reply = api.request("POST", "/product", body='{"productId": "x", "n": ' + "9" * 5000 + "}")
    assert reply.status == 400


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"productId": "x", "": 1}, "Attribute names must not be empty."),
        ({"productId": "x", "m": {"": 1}}, "Attribute names must not be empty."),
        ({"productId": "x", "l": [{"": 1}]}, "Attribute names must not be empty."),
        ({"productId": "x", "n" * 65536: 1}, "Attribute name too long: at most 65535 bytes."),
    ],
)
def test_attribute_names_dynamodb_refuses_are_400(api, table, item, message):
    reply = api.request("POST", "/product", json_body=item)
    assert (reply.status, reply.json) == (400, {"message": message})
    assert table.scan()["Items"] == []


def nested(depth):
    value = "leaf"
    for _ in range(depth):
        value = {"d": value}
    return value


def test_nesting_up_to_32_levels_is_accepted(api, table):
    # GIVEN an attribute whose value sits 32 levels deep (the item itself is level 0)
    item = {"productId": "deep", "a": nested(31)}
    # WHEN / THEN it is saved
    assert api.request("POST", "/product", json_body=item).status == 201


@pytest.mark.parametrize("depth", [33, 5000])
def test_nesting_deeper_than_dynamodb_allows_is_400(api, table, depth):
    body = '{"productId": "deep", "a": ' + '{"d": ' * depth + "1" + "}" * depth + "}"
    reply = api.request("POST", "/product", body=body)
    assert reply.status == 400
    assert "nested too deeply" in reply.json["message"]


def test_item_over_400_kb_is_400_and_not_stored(api, table):
    # GIVEN an item bigger than DynamoDB's 400 KB item limit
    reply = api.request("POST", "/product", json_body={"productId": "big", "blob": "x" * 410_000})
    # THEN DynamoDB's refusal is a 400 that says why
    assert reply.status == 400
    assert "DynamoDB rejected the request" in reply.json["message"]
    assert "size" in reply.json["message"]
    assert stored(table, "big") is None


# --- GET /product --------------------------------------------------------------------------------


def test_get_returns_the_item(api):
    api.create(PRODUCT)
    reply = api.request("GET", "/product", query={"productId": "p-1"})
    assert (reply.status, reply.json) == (200, PRODUCT)


def test_get_unknown_product_is_404(api):
    reply = api.request("GET", "/product", query={"productId": "nope"})
    assert (reply.status, reply.json) == (404, {"message": 'No product with productId "nope".'})


@pytest.mark.parametrize("query", [None, {}, {"id": "p-1"}])
def test_get_without_product_id_is_400(api, query):
    reply = api.request("GET", "/product", query=query)
    assert (reply.status, reply.json) == (
        400,
        {"message": "productId is missing: add it to the query string (?productId=...)."},
    )


def test_get_empty_product_id_is_400(api):
    reply = api.request("GET", "/product", query={"productId": ""})
    assert (reply.status, reply.json) == (400, {"message": "productId must not be empty."})


def test_products_saved_by_other_tools_with_odd_ids_stay_reachable(api, table):
    # GIVEN a product whose productId is only spaces, saved with boto3 directly
    table.put_item(Item={"productId": "  ", "name": "odd"})
    # WHEN / THEN the API can read, change, list and delete it
    assert api.request("GET", "/product", query={"productId": "  "}).json == {"productId": "  ", "name": "odd"}
    body = {"productId": "  ", "updateKey": "name", "updateValue": "fixed"}
    assert api.request("PATCH", "/product", json_body=body).status == 200
    page = api.request("GET", "/products", query={"limit": "1"})
    assert page.json["products"] == [{"productId": "  ", "name": "fixed"}]
    assert api.request("DELETE", "/product", query={"productId": "  "}).status == 200


def test_get_ignores_a_body(api):
    api.create(PRODUCT)
    reply = api.request("GET", "/product", query={"productId": "p-1"}, body="not json")
    assert reply.status == 200


def test_binary_and_set_attributes_are_served_as_json(api, table):
    # GIVEN an item written by another program with a binary value and sets
    table.put_item(
        Item={"productId": "bin", "blob": b"\x00\x01", "tags": {"b", "a"}, "sizes": {Decimal("2"), Decimal("1.5")}}
    )
    # WHEN it is read through the API
    reply = api.request("GET", "/product", query={"productId": "bin"})
    # THEN binary is base64 text and sets are sorted lists
    assert reply.json == {"productId": "bin", "blob": "AAE=", "tags": ["a", "b"], "sizes": [1.5, 2]}
    assert json.loads(reply.raw["body"]) == reply.json
