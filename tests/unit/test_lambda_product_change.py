"""PATCH /product and DELETE /product: changing and deleting an existing product only."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

PRODUCT = {"productId": "p-1", "name": "Desk lamp", "price": 19.99, "stock": 500}
STORED = {"productId": "p-1", "name": "Desk lamp", "price": Decimal("19.99"), "stock": Decimal("500")}


def stored(table, product_id):
    return table.get_item(Key={"productId": product_id}, ConsistentRead=True).get("Item")


def patch(api, **body):
    return api.request("PATCH", "/product", json_body=body)


# --- PATCH /product ------------------------------------------------------------------------------


def test_patch_sets_one_attribute(api, table):
    # GIVEN a saved product
    api.create(PRODUCT)
    # WHEN its price is changed
    reply = patch(api, productId="p-1", updateKey="price", updateValue=24.99)
    # THEN 200 with the new value, and only that attribute changed
    assert reply.status == 200
    assert reply.json == {"Operation": "UPDATE", "Message": "SUCCESS", "UpdatedAttributes": {"price": 24.99}}
    assert stored(table, "p-1") == {**STORED, "price": Decimal("24.99")}


def test_patch_adds_a_new_attribute_with_a_structured_value(api, table):
    api.create(PRODUCT)
    reply = patch(api, productId="p-1", updateKey="dims", updateValue={"w": 2.5, "h": 10, "tags": ["x"]})
    assert reply.json["UpdatedAttributes"] == {"dims": {"w": 2.5, "h": 10, "tags": ["x"]}}
    assert stored(table, "p-1")["dims"] == {"w": Decimal("2.5"), "h": Decimal("10"), "tags": ["x"]}


def test_patch_whole_number_stays_whole(api):
    api.create(PRODUCT)
    reply = patch(api, productId="p-1", updateKey="stock", updateValue=499)
    assert '"stock": 499}' in reply.raw["body"]


@pytest.mark.parametrize("reserved", ["name", "status", "size", "count", "date", "year", "order"])
def test_patch_reserved_word_attribute(api, table, reserved):
    # GIVEN a product, and an attribute named with a DynamoDB reserved word
    api.create(PRODUCT)
    # WHEN it is set
    reply = patch(api, productId="p-1", updateKey=reserved, updateValue="v")
    # THEN it works (the name travels as an ExpressionAttributeNames value)
    assert reply.json == {"Operation": "UPDATE", "Message": "SUCCESS", "UpdatedAttributes": {reserved: "v"}}
    assert stored(table, "p-1") == {**STORED, reserved: "v"}


@pytest.mark.parametrize(
    "update_key",
    [
        "price = :value, #pk",
        "price = :value REMOVE stock",
        "x REMOVE y",
        "stock, name = :value",
        "a.b",
        "dims.w",
        "tags[0]",
        "#pk",
        ":value",
        "#attr",
        "price) OR (attribute_not_exists(productId)",
        "productId ",
        "ProductId",
        "'; DROP TABLE products; --",
    ],
)
def test_update_key_injection_touches_only_a_literally_named_attribute(api, table, update_key):
    # GIVEN a product with several attributes
    api.create({**PRODUCT, "y": "keep", "dims": {"w": 1}, "tags": ["t"]})
    before = stored(table, "p-1")
    # WHEN updateKey carries expression syntax
    reply = patch(api, productId="p-1", updateKey=update_key, updateValue="injected")
    # THEN either it is refused, or exactly one attribute with that literal name is set
    after = stored(table, "p-1")
    if reply.status == 400:
        assert after == before
    else:
        assert reply.status == 200
        assert reply.json["UpdatedAttributes"] == {update_key: "injected"}
        assert after == {**before, update_key: "injected"}


def test_patch_never_creates_a_product(api, table):
    # GIVEN an empty table
    # WHEN an unknown product is patched
    reply = patch(api, productId="ghost", updateKey="price", updateValue=1)
    # THEN 404 and still nothing stored
    assert (reply.status, reply.json) == (
        404,
        {"message": 'No product with productId "ghost". Create it with POST first.'},
    )
    assert table.scan()["Items"] == []


def test_patch_product_id_is_400(api, table):
    api.create(PRODUCT)
    reply = patch(api, productId="p-1", updateKey="productId", updateValue="p-2")
    assert (reply.status, reply.json) == (
        400,
        {"message": "productId cannot be changed: it is the key. Create a new product and delete the old one."},
    )
    assert stored(table, "p-1") == STORED and stored(table, "p-2") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"updateKey": "price", "updateValue": 1}, "productId is missing: add it to the request body."),
        ({"productId": 7, "updateKey": "price", "updateValue": 1}, None),
        ({"productId": "", "updateKey": "price", "updateValue": 1}, "productId must not be empty."),
        ({"productId": "p-1", "updateValue": 1}, 'updateKey must name the attribute to change, for example "price".'),
        ({"productId": "p-1", "updateKey": "", "updateValue": 1}, None),
        ({"productId": "p-1", "updateKey": 5, "updateValue": 1}, None),
        ({"productId": "p-1", "updateKey": ["price"], "updateValue": 1}, None),
        ({"productId": "p-1", "updateKey": None, "updateValue": 1}, None),
        (
            {"productId": "p-1", "updateKey": "price"},
            'updateValue is missing: send the new value, for example "updateValue": 24.99.',
        ),
        (
            {"productId": "p-1", "updateKey": "price", "updateValue": 1, "stock": 3},
            "Unexpected fields ['stock']: PATCH takes productId, updateKey and updateValue.",
        ),
        ({"productId": "p-1", "updateKey": "price", "updateValue": {"": 1}}, "Attribute names must not be empty."),
    ],
)
def test_patch_bad_body_is_400_and_changes_nothing(api, table, body, message):
    api.create(PRODUCT)
    reply = patch(api, **body)
    assert reply.status == 400
    if message is not None:
        assert reply.json == {"message": message}
    assert stored(table, "p-1") == STORED


@pytest.mark.parametrize("body", [None, "", "{bad", "[]", "null", '"text"'])
def test_patch_body_that_is_not_a_json_object_is_400(api, table, body):
    api.create(PRODUCT)
    reply = api.request("PATCH", "/product", body=body)
    assert reply.status == 400
    assert stored(table, "p-1") == STORED


def test_patch_null_value_is_stored_as_null(api, table):
    api.create(PRODUCT)
    reply = patch(api, productId="p-1", updateKey="discontinued", updateValue=None)
    assert reply.json["UpdatedAttributes"] == {"discontinued": None}
    assert stored(table, "p-1") == {**STORED, "discontinued": None}


# --- DELETE /product -----------------------------------------------------------------------------


def test_delete_with_body_returns_the_deleted_item(api, table):
    # GIVEN a saved product
    api.create(PRODUCT)
    # WHEN it is deleted by body
    reply = api.request("DELETE", "/product", json_body={"productId": "p-1"})
    # THEN 200 with the item as it was, and it is gone
    assert reply.status == 200
    assert reply.json == {"Operation": "DELETE", "Message": "SUCCESS", "deletedItem": PRODUCT}
    assert stored(table, "p-1") is None


def test_delete_with_query_string(api, table):
    api.create(PRODUCT)
    reply = api.request("DELETE", "/product", query={"productId": "p-1"})
    assert reply.json == {"Operation": "DELETE", "Message": "SUCCESS", "deletedItem": PRODUCT}
    assert stored(table, "p-1") is None


def test_delete_with_body_and_matching_query(api, table):
    api.create(PRODUCT)
    reply = api.request("DELETE", "/product", json_body={"productId": "p-1"}, query={"productId": "p-1"})
    assert reply.status == 200


def test_delete_with_conflicting_body_and_query_is_400_and_deletes_nothing(api, table):
    api.create(PRODUCT)
    api.create({"productId": "p-2"})
    reply = api.request("DELETE", "/product", json_body={"productId": "p-1"}, query={"productId": "p-2"})
    assert (reply.status, reply.json) == (
        400,
        {"message": "The body and the query string name different productIds; send only one."},
    )
    assert stored(table, "p-1") is not None and stored(table, "p-2") is not None


def test_delete_base64_body(api, table):
    api.create(PRODUCT)
    reply = api.request("DELETE", "/product", json_body={"productId": "p-1"}, as_base64=True)
    assert reply.status == 200
    assert stored(table, "p-1") is None


def test_delete_unknown_product_is_404(api, table):
    api.create(PRODUCT)
    reply = api.request("DELETE", "/product", json_body={"productId": "ghost"})
    assert (reply.status, reply.json) == (404, {"message": 'No product with productId "ghost".'})
    assert stored(table, "p-1") == STORED
    assert table.scan()["Count"] == 1


def test_delete_twice_is_404_the_second_time(api):
    api.create(PRODUCT)
    assert api.request("DELETE", "/product", query={"productId": "p-1"}).status == 200
    assert api.request("DELETE", "/product", query={"productId": "p-1"}).status == 404


@pytest.mark.parametrize(
    ("kwargs", "message_part"),
    [
        ({}, "productId is missing"),
        ({"body": ""}, "productId is missing"),
        ({"json_body": {}}, "productId is missing"),
        ({"json_body": {"productId": None}}, "productId is missing"),
        ({"json_body": {"productId": 1}}, "must be a string"),
        ({"json_body": {"productId": ""}}, "must not be empty"),
        ({"query": {"productId": ""}}, "must not be empty"),
        ({"body": "{oops"}, "not valid JSON"),
        ({"body": "[]"}, "JSON object"),
        ({"body": "null"}, "JSON object"),
    ],
)
def test_delete_bad_input_is_400_and_deletes_nothing(api, table, kwargs, message_part):
    api.create(PRODUCT)
    reply = api.request("DELETE", "/product", **kwargs)
    assert reply.status == 400
    assert message_part in reply.json["message"]
    assert stored(table, "p-1") == STORED


def test_delete_message_names_both_ways_to_send_the_id(api):
    reply = api.request("DELETE", "/product")
    assert reply.json == {
        "message": 'productId is missing: add it to the request body ({"productId": "..."}) '
        "or the query string (?productId=...)."
    }


def test_full_lifecycle(api, table):
    # POST -> GET -> PATCH -> GET -> DELETE -> GET
    assert api.request("POST", "/product", json_body=PRODUCT).status == 201
    assert api.request("GET", "/product", query={"productId": "p-1"}).json == PRODUCT
    assert patch(api, productId="p-1", updateKey="stock", updateValue=450).status == 200
    assert api.request("GET", "/product", query={"productId": "p-1"}).json == {**PRODUCT, "stock": 450}
    assert api.request("DELETE", "/product", query={"productId": "p-1"}).status == 200
    assert api.request("GET", "/product", query={"productId": "p-1"}).status == 404
    assert json.loads(api.request("GET", "/products").raw["body"]) == {"products": [], "count": 0}
