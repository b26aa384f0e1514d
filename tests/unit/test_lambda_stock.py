"""POST /product/stock: atomic stock changes (lab 08).

One conditional ``update_item`` adds ``change`` to ``quantity``: a change that would take the
quantity below zero is refused (409) and changes nothing, an unknown product is 404 and is never
created, a bad ``change`` is 400. What makes it safe is that a change is ONE DynamoDB request
(tested below by counting the calls); concurrency is tested here against moto in-process, with
the local cloud's per-request atomicity installed (``workshop.localcloud.dynamodb_atomic``), and
end to end through the gateway in tests/localcloud/test_stock_through_gateway.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from workshop.localcloud import dynamodb_atomic


def stored(table, product_id):
    return table.get_item(Key={"productId": product_id}, ConsistentRead=True).get("Item")


def adjust(api, **body):
    return api.request("POST", "/product/stock", json_body=body)


def success(product_id, quantity):
    return {"Operation": "ADJUST", "Message": "SUCCESS", "productId": product_id, "quantity": quantity}


# --- success -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "change", "end"), [(10, -3, 7), (10, 5, 15), (10, -10, 0), (0, 4, 4)])
def test_change_is_applied_and_the_new_quantity_returned(api, table, start, change, end):
    # GIVEN a product with a quantity and other attributes
    api.create({"productId": "p-1", "quantity": start, "name": "Lamp"})
    # WHEN its stock is changed
    reply = adjust(api, productId="p-1", change=change)
    # THEN 200 with the new quantity, and only the quantity changed
    assert (reply.status, reply.json) == (200, success("p-1", end))
    assert stored(table, "p-1") == {"productId": "p-1", "quantity": Decimal(end), "name": "Lamp"}


def test_a_fractional_quantity_stays_exact(api, table):
    api.create({"productId": "p-1", "quantity": 2.5})
    reply = adjust(api, productId="p-1", change=-2)
    assert reply.status == 200
    assert '"quantity": 0.5' in reply.raw["body"]
    assert stored(table, "p-1")["quantity"] == Decimal("0.5")


def test_a_product_without_quantity_counts_as_zero_when_adding(api, table):
    # GIVEN a product that has no quantity attribute
    api.create({"productId": "p-1", "name": "Lamp"})
    # WHEN stock is added
    reply = adjust(api, productId="p-1", change=6)
    # THEN the quantity starts from 0
    assert (reply.status, reply.json) == (200, success("p-1", 6))
    assert stored(table, "p-1") == {"productId": "p-1", "name": "Lamp", "quantity": Decimal(6)}


@pytest.mark.parametrize("written", ["1.0", "3E0", "-2.000", "1e1"])
def test_a_whole_number_written_with_a_fraction_or_exponent_counts(api, table, written):
    api.create({"productId": "p-1", "quantity": 100})
    reply = api.request("POST", "/product/stock", body=f'{{"productId": "p-1", "change": {written}}}')
    expected = 100 + int(Decimal(written))
    assert (reply.status, reply.json) == (200, success("p-1", expected))


def test_the_limit_itself_is_allowed(api, lambda_function):
    limit = lambda_function.MAX_STOCK_CHANGE
    api.create({"productId": "p-1", "quantity": 0})
    assert adjust(api, productId="p-1", change=limit).json == success("p-1", limit)
    assert adjust(api, productId="p-1", change=-limit).json == success("p-1", 0)


def test_product_id_with_reserved_word_attributes_and_spaces(api, table):
    api.create({"productId": "shelf 4 / bin 2", "size": "L", "quantity": 1})
    reply = adjust(api, productId="shelf 4 / bin 2", change=1)
    assert reply.json == success("shelf 4 / bin 2", 2)
    assert stored(table, "shelf 4 / bin 2")["size"] == "L"


# --- 409: not enough stock -----------------------------------------------------------------------


@pytest.mark.parametrize(("start", "change"), [(2, -3), (0, -1), (5, -1_000_000)])
def test_below_zero_is_409_naming_what_is_left_and_what_was_asked(api, table, start, change):
    api.create({"productId": "p-1", "quantity": start})
    reply = adjust(api, productId="p-1", change=change)
    assert (reply.status, reply.json) == (
        409,
        {"message": f'Not enough stock of "p-1": {start} left, {-change} asked for. Nothing was changed.'},
    )
    assert stored(table, "p-1") == {"productId": "p-1", "quantity": Decimal(start)}


def test_taking_from_a_product_without_quantity_is_409_and_creates_no_quantity(api, table):
    api.create({"productId": "p-1", "name": "Lamp"})
    reply = adjust(api, productId="p-1", change=-1)
    assert (reply.status, reply.json) == (
        409,
        {"message": 'Not enough stock of "p-1": 0 left, 1 asked for. Nothing was changed.'},
    )
    assert stored(table, "p-1") == {"productId": "p-1", "name": "Lamp"}


@pytest.mark.parametrize("change", [5, -1])
@pytest.mark.parametrize("quantity", ["five", True, ["1"], {"n": 1}])
def test_a_quantity_that_is_not_a_number_is_409_and_kept(api, table, quantity, change):
    # GIVEN a product whose quantity was set to something that is not a number (PATCH allows it)
    api.create({"productId": "p-1", "quantity": quantity})
    before = stored(table, "p-1")
    # WHEN stock is changed either way
    reply = adjust(api, productId="p-1", change=change)
    # THEN 409 that says so, and nothing changed (ADD on a string would be a DynamoDB error)
    assert reply.status == 409
    assert reply.json["message"].startswith('Product "p-1" has a quantity that is not a number')
    assert stored(table, "p-1") == before


# --- 404: unknown product ------------------------------------------------------------------------


@pytest.mark.parametrize("change", [3, -3])
def test_unknown_product_is_404_and_never_created(api, table, change):
    reply = adjust(api, productId="ghost", change=change)
    assert (reply.status, reply.json) == (
        404,
        {"message": 'No product with productId "ghost". Create it with POST first.'},
    )
    assert table.scan()["Items"] == []


# --- 400: bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"productId": "p-1"}, 'change is missing: send a whole number, for example "change": -3 to take 3 away or 5 to add 5.'),
        ({"productId": "p-1", "change": 0}, "change must not be 0: send how many to add (5) or take away (-3)."),
        ({"productId": "p-1", "change": "3"}, "change must be a whole number such as -3 or 5, not a string."),
        ({"productId": "p-1", "change": True}, "change must be a whole number such as -3 or 5, not true/false."),
        ({"productId": "p-1", "change": False}, "change must be a whole number such as -3 or 5, not true/false."),
        ({"productId": "p-1", "change": None}, "change must be a whole number such as -3 or 5, not null."),
        ({"productId": "p-1", "change": [1]}, "change must be a whole number such as -3 or 5, not an array."),
        ({"productId": "p-1", "change": {"n": 1}}, "change must be a whole number such as -3 or 5, not an object."),
        ({"productId": "p-1", "change": 1.5}, "change must be a whole number, not 1.5."),
        ({"productId": "p-1", "change": -0.25}, "change must be a whole number, not -0.25."),
        ({"productId": "p-1", "change": 1_000_001}, "change must be between -1000000 and 1000000."),
        ({"productId": "p-1", "change": -1_000_001}, "change must be between -1000000 and 1000000."),
        ({"productId": "p-1", "change": 10**40}, "change must be between -1000000 and 1000000."),
        ({"change": 1}, "productId is missing: add it to the request body."),
        ({"productId": 7, "change": 1}, 'productId must be a string, for example "p-1" (in quotes), not a number.'),
        ({"productId": "", "change": 1}, "productId must not be empty."),
        (
            {"productId": "p-1", "change": 1, "quantity": 5},
            "Unexpected fields ['quantity']: POST /product/stock takes productId and change.",
        ),
    ],
)
def test_bad_body_is_400_and_changes_nothing(api, table, body, message):
    api.create({"productId": "p-1", "quantity": 10})
    reply = adjust(api, **body)
    assert (reply.status, reply.json) == (400, {"message": message})
    assert stored(table, "p-1") == {"productId": "p-1", "quantity": Decimal(10)}


@pytest.mark.parametrize(
    "written", ["0.0", "-0", "1e-7", "1E+7", "1e400", "NaN", "Infinity", '"-3"', "0x10", "1_000"]
)
def test_numbers_as_written_that_are_not_a_sane_whole_change_are_400(api, table, written):
    api.create({"productId": "p-1", "quantity": 10})
    reply = api.request("POST", "/product/stock", body=f'{{"productId": "p-1", "change": {written}}}')
    assert reply.status == 400, reply.json
    assert stored(table, "p-1")["quantity"] == Decimal(10)


@pytest.mark.parametrize("body", [None, "", "{bad", "[]", "null", "3"])
def test_body_that_is_not_a_json_object_is_400(api, table, body):
    reply = api.request("POST", "/product/stock", body=body)
    assert reply.status == 400


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "PUT"])
def test_other_methods_on_stock_are_405(api, method):
    reply = api.request(method, "/product/stock")
    assert reply.status == 405
    assert reply.headers["Allow"] == "OPTIONS, POST"


# --- concurrency ---------------------------------------------------------------------------------


def dynamodb_calls(lambda_function, monkeypatch):
    """The DynamoDB operations the handler sends, recorded from its boto3 client."""
    calls: list[str] = []
    client = lambda_function.get_table().meta.client
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


@pytest.mark.parametrize(("start", "change"), [(10, -3), (10, 4), (1, -2)])
def test_a_stock_change_is_one_dynamodb_request(api, lambda_function, monkeypatch, start, change):
    # GIVEN a product, and the handler's DynamoDB calls recorded
    api.create({"productId": "p-1", "quantity": start})
    calls = dynamodb_calls(lambda_function, monkeypatch)
    # WHEN stock is changed (successfully or not)
    adjust(api, productId="p-1", change=change)
    # THEN exactly one request, an UpdateItem: no read first that another client could race
    assert calls == ["UpdateItem"]


def test_unknown_product_is_told_apart_without_a_second_read(api, lambda_function, monkeypatch):
    calls = dynamodb_calls(lambda_function, monkeypatch)
    assert adjust(api, productId="ghost", change=-1).status == 404
    assert calls == ["UpdateItem"]


@pytest.fixture
def atomic_dynamodb():
    """moto's DynamoDB made atomic per request, as the local cloud runs it."""
    was_installed = dynamodb_atomic.installed()
    dynamodb_atomic.install()
    yield
    if not was_installed:
        dynamodb_atomic.uninstall()


def test_concurrent_changes_are_never_lost_and_never_go_below_zero(api, table, atomic_dynamodb):
    # GIVEN 50 in stock, and 20 clients each taking 1 five times (100 asked for, only 50 there)
    api.create({"productId": "p-1", "quantity": 50})

    def client(_):
        return [adjust(api, productId="p-1", change=-1).status for _ in range(5)]

    # WHEN they run at the same time
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = [status for result in pool.map(client, range(20)) for status in result]

    # THEN exactly 50 succeeded, the other 50 were refused, and the stock is 0, never negative
    assert statuses.count(200) == 50
    assert statuses.count(409) == 50
    assert stored(table, "p-1")["quantity"] == 0
