"""GET /products: pages with limit and nextToken, never lost or repeated items, never over 6 MB."""

from __future__ import annotations

import base64
import json
import re

import pytest

SIX_MB = 6 * 1024 * 1024


def fill(table, items):
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)


def walk_pages(api, limit=None, max_pages=1000):
    """Every page of GET /products, following nextToken until there is none."""
    pages = []
    query = {} if limit is None else {"limit": str(limit)}
    while True:
        reply = api.request("GET", "/products", query=query)
        assert reply.status == 200, reply.json
        pages.append(reply)
        token = reply.json.get("nextToken")
        if token is None:
            return pages
        assert len(pages) < max_pages, "paging does not end"
        query = {**query, "nextToken": token}


def ids(pages):
    return [product["productId"] for page in pages for product in page.json["products"]]


def test_empty_table_is_an_empty_page_without_token(api):
    reply = api.request("GET", "/products")
    assert (reply.status, reply.json) == (200, {"products": [], "count": 0})


def test_small_table_is_one_page(api, table):
    # GIVEN three products
    items = [{"productId": f"p-{i}", "price": 1.5, "stock": i} for i in range(3)]
    for item in items:
        api.create(item)
    # WHEN listed without a limit
    reply = api.request("GET", "/products")
    # THEN all of them, exactly, with count and no nextToken
    assert set(reply.json) == {"products", "count"}
    assert reply.json["count"] == 3
    assert sorted(reply.json["products"], key=lambda p: p["productId"]) == items


def test_default_page_size_is_100(api, table):
    fill(table, [{"productId": f"p-{i:03}"} for i in range(150)])
    first = api.request("GET", "/products")
    assert first.json["count"] == 100 and len(first.json["products"]) == 100
    assert "nextToken" in first.json
    second = api.request("GET", "/products", query={"nextToken": first.json["nextToken"]})
    assert second.json["count"] == 50 and "nextToken" not in second.json


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 7, 10, 22, 23, 24, 100, 1000])
def test_paging_returns_every_item_exactly_once(api, table, limit):
    # GIVEN 23 products
    all_ids = [f"item-{i:02}" for i in range(23)]
    fill(table, [{"productId": pid, "n": i} for i, pid in enumerate(all_ids)])
    # WHEN every page is read with this limit
    pages = walk_pages(api, limit)
    # THEN no product is lost or repeated
    seen = ids(pages)
    assert sorted(seen) == all_ids
    assert len(seen) == len(set(seen))
    # AND every page is full except the last, count matches, only the last lacks a nextToken
    for page in pages:
        assert page.json["count"] == len(page.json["products"])
    assert [page.json["count"] for page in pages[:-1]] == [limit] * (len(pages) - 1)
    assert 1 <= pages[-1].json["count"] <= limit
    assert len(pages) == -(-23 // limit)


def test_next_token_is_url_safe_text(api, table):
    fill(table, [{"productId": f"ü/+?&={i}"} for i in range(3)])
    token = api.request("GET", "/products", query={"limit": "1"}).json["nextToken"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_deleting_the_last_item_of_a_page_loses_nothing_else(api, table):
    # GIVEN 10 products and a first page of 4
    all_ids = sorted(f"p-{i}" for i in range(10))
    fill(table, [{"productId": pid} for pid in all_ids])
    first = api.request("GET", "/products", query={"limit": "4"})
    first_ids = [p["productId"] for p in first.json["products"]]
    # WHEN the page's last product is deleted before the next page is read
    api.request("DELETE", "/product", query={"productId": first_ids[-1]})
    rest = walk_pages_from(api, first.json["nextToken"], limit=4)
    # THEN the remaining products all arrive, once
    assert sorted(first_ids + rest) == all_ids


def walk_pages_from(api, token, limit):
    seen = []
    while token:
        reply = api.request("GET", "/products", query={"limit": str(limit), "nextToken": token})
        seen += [p["productId"] for p in reply.json["products"]]
        token = reply.json.get("nextToken")
    return seen


@pytest.mark.parametrize("limit", ["1", "1000", "007"])
def test_limit_bounds_are_accepted(api, table, limit):
    fill(table, [{"productId": "p-1"}, {"productId": "p-2"}])
    reply = api.request("GET", "/products", query={"limit": limit})
    assert reply.status == 200
    assert reply.json["count"] == min(int(limit), 2)


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-1", "1.5", "", " 5", "5 ", "1e2", "10000", "0x10", "１０", "+5"])
def test_bad_limit_is_400(api, table, limit):
    reply = api.request("GET", "/products", query={"limit": limit})
    assert (reply.status, reply.json) == (400, {"message": "limit must be a whole number from 1 to 1000 (default 100)."})


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!!",
        "abc",
        "é",
        "a" * 10,
        b64("not json"),
        b64("[]"),
        b64("null"),
        b64("{}"),
        b64('{"productId": 5}'),
        b64('{"productId": ""}'),
        b64('{"productId": null}'),
        b64('{"productId": "p-1", "extra": "x"}'),
        b64('{"id": "p-1"}'),
        b64('{"productId": "' + "x" * 3000 + '"}'),
        base64.b64encode(b'{"productId": "p-1"}').decode() + "!",
    ],
)
def test_garbage_or_tampered_next_token_is_400(api, table, token):
    fill(table, [{"productId": "p-1"}, {"productId": "p-2"}])
    reply = api.request("GET", "/products", query={"nextToken": token})
    assert (reply.status, reply.json) == (
        400,
        {"message": "nextToken is not valid: pass the nextToken of the previous page unchanged."},
    )


def test_token_with_padding_or_without_is_accepted(api, table):
    fill(table, [{"productId": f"p-{i}"} for i in range(3)])
    token = api.request("GET", "/products", query={"limit": "1"}).json["nextToken"]
    padded = token + "=" * (-len(token) % 4)
    assert api.request("GET", "/products", query={"nextToken": padded}).status == 200


def test_empty_next_token_means_first_page(api, table):
    fill(table, [{"productId": "p-1"}])
    assert api.request("GET", "/products", query={"nextToken": ""}).json["count"] == 1


def payload_size(reply) -> int:
    """Bytes of the whole proxy response, as the Lambda runtime serialises it (6 MB limit)."""
    return len(json.dumps(reply.raw).encode("utf-8"))


@pytest.mark.parametrize(
    ("filler", "item_chars"),
    [
        ("x", 350_000),  # plain text: ~350 KB per item
        ('"', 350_000),  # quotes: escaped in the body, escaped again in the payload (4x)
        ("\u00e9", 175_000),  # non-ASCII: \\u00e9 in the payload (7 bytes per 2-byte character)
    ],
)
def test_pages_of_large_items_stay_under_6_mb_and_lose_nothing(api, table, filler, item_chars):
    # GIVEN 20 products of about 350 KB each, far more than 6 MB together
    all_ids = [f"big-{i:02}" for i in range(20)]
    fill(table, [{"productId": pid, "blob": filler * item_chars} for pid in all_ids])
    # WHEN every page is read with the largest limit
    pages = walk_pages(api, limit=1000)
    # THEN the first page was cut by size, not by limit
    assert len(pages) > 1
    # AND every page's whole Lambda response is under 6 MB, yet not cut needlessly small
    sizes = [payload_size(page) for page in pages]
    assert max(sizes) <= SIX_MB
    assert min(sizes[:-1]) > SIX_MB - 2 * payload_size_of_one(pages)
    # AND no product is lost or repeated
    seen = ids(pages)
    assert sorted(seen) == all_ids and len(seen) == len(set(seen))


def payload_size_of_one(pages) -> int:
    """The payload bytes one product adds (all items in the size tests are the same size)."""
    product = pages[0].json["products"][0]
    return len(json.dumps(json.dumps(product)))


def test_mixed_item_sizes_page_without_loss(api, table):
    # GIVEN big and small products mixed
    items = [{"productId": f"m-{i:02}", "blob": "y" * (300_000 if i % 3 == 0 else 10)} for i in range(40)]
    fill(table, items)
    # WHEN paged with limit 1000 and with limit 7
    for limit in (1000, 7):
        pages = walk_pages(api, limit=limit)
        # THEN every product arrives once and every page is within the limits
        assert sorted(ids(pages)) == sorted(item["productId"] for item in items)
        assert all(payload_size(page) <= SIX_MB and page.json["count"] <= limit for page in pages)


def test_page_size_is_capped_in_the_handler_not_by_luck(lambda_function):
    # The size budget keeps room for headers, count and nextToken below Lambda's 6 MB.
    assert lambda_function.MAX_RESPONSE_BYTES == SIX_MB
    assert 0 < lambda_function.RESPONSE_OVERHEAD_BYTES < 256 * 1024


@pytest.mark.parametrize("product_id", ["  ", "p-1", "ü/+?&=", "x" * 2048])
def test_token_for_any_valid_product_id_is_accepted(api, table, product_id):
    # Products saved by other tools may have odd ids; a page may end on any of them.
    fill(table, [{"productId": "p-1"}, {"productId": "p-2"}])
    token = b64(json.dumps({"productId": product_id}))
    assert api.request("GET", "/products", query={"nextToken": token}).status == 200
