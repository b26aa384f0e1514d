"""Product inventory REST API: one Lambda function behind API Gateway.

API Gateway (REST API, Lambda proxy integration) turns every HTTP request into
an *event* dict and calls ``lambda_handler(event, context)``. We read
``httpMethod``, ``path``, ``queryStringParameters`` and ``body`` from it, talk
to DynamoDB, and return a *proxy response* dict that API Gateway turns back
into an HTTP response.

    GET    /                   -> 200 {"message": "API is working"}
    GET    /health             -> 200 {"status": "healthy"}
    POST   /product            -> 201, save a new product (409 if it exists)
    GET    /product?productId= -> 200, one product (404 if unknown)
    PATCH  /product            -> 200, change one attribute (404 if unknown)
    DELETE /product            -> 200, delete a product (404 if unknown)
    GET    /products           -> 200, a page of products (?limit=&nextToken=)
    POST   /product/stock      -> 200, add to or take from a product's quantity
                                  in one atomic step (lab 08; 409 if too few)

Configuration: the environment variable TABLE_NAME names the DynamoDB table
(partition key ``productId``, type String).
"""

import base64
import json
import logging
import os
import re
import time
from decimal import Decimal, DecimalException

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from custom_encoder import CustomEncoder

# Lambda sends everything a function logs to CloudWatch Logs, log group
# /aws/lambda/<function name>. Look there first when the API answers 500/502.
logger = logging.getLogger("inventory-api")
logger.setLevel(logging.INFO)

# Every response carries these headers. With the Lambda *proxy* integration,
# API Gateway passes our response through unchanged: its "Enable CORS" button
# only sets up the OPTIONS (preflight) method. The Access-Control-Allow-Origin
# header a browser checks on the real GET/POST/... answer must come from us.
RESPONSE_HEADERS = {
    "Content-Type": "application/json",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": (
        "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token"
    ),
    "Access-Control-Allow-Methods": "DELETE,GET,OPTIONS,PATCH,POST",
}

# DynamoDB's limits: a partition key value up to 2048 bytes, attribute names
# (and map keys) of 1 byte to 64 KB, values nested at most 32 levels deep.
MAX_PRODUCT_ID_BYTES = 2048
MAX_NAME_BYTES = 65535
MAX_NESTING = 32

# GET /products pages.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# A synchronous Lambda response may be at most 6 MB; a bigger one fails the
# request (API Gateway answers 502). One DynamoDB item can be 400 KB, so a
# page of 1000 items could be far too big: we stop adding items before that.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
# Room kept for the status code, the headers, "count" and "nextToken".
RESPONSE_OVERHEAD_BYTES = 64 * 1024

# POST /product/stock: the attribute it changes, and the largest change one
# request may make (a typo such as 1000000000 should not empty a warehouse).
QUANTITY = "quantity"
MAX_STOCK_CHANGE = 1_000_000

# The boto3 resource and Table, created on first use. Lambda keeps module-level
# values while the container stays warm, so later requests reuse them instead
# of building new ones. (And importing this file needs no TABLE_NAME.)
_dynamodb = None
_table = None


class ApiError(Exception):
    """A problem the caller can fix: becomes a 4xx answer {"message": ...}."""

    def __init__(self, status_code, message, headers=None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------


def lambda_handler(event, context):
    """Called by Lambda once per HTTP request; always returns a proxy response."""
    started = time.perf_counter()
    method, path = request_line(event)
    try:
        response = dispatch(event, method, path)
    except ApiError as error:
        body = {"message": error.message}
        response = build_response(error.status_code, body, error.headers)
    except Exception:
        # The full traceback goes to CloudWatch Logs; the caller only learns
        # that it was not their fault. Internals (table names, stack traces)
        # never go into a response body.
        logger.exception("Unhandled error while answering %s %s", method, path)
        response = build_response(500, {"message": "Internal server error"})
    log_request(event, context, method, path, response["statusCode"], started)
    return response


def request_line(event):
    """The method and path of a proxy event as clean strings ("" if absent)."""
    if not isinstance(event, dict):
        return "", ""
    method = event.get("httpMethod")
    path = event.get("path")
    method = method.upper() if isinstance(method, str) else ""
    path = path if isinstance(path, str) else ""
    if len(path) > 1:
        # "/product/" is the same resource as "/product".
        path = path.rstrip("/") or "/"
    return method, path


def dispatch(event, method, path):
    """Run the function for this method and path (404, 405 or OPTIONS else)."""
    if not method or not path:
        raise ApiError(
            400,
            "This function expects an API Gateway proxy event with httpMethod "
            'and path, for example {"httpMethod": "GET", "path": "/"}.',
        )
    methods = ROUTES.get(path)
    if methods is None:
        raise ApiError(
            404,
            f"No such path: {path[:100]}. "
            "The API serves /, /health, /product, /product/stock and /products.",
        )
    allowed = ", ".join(sorted([*methods, "OPTIONS"]))
    if method == "OPTIONS":
        # A browser's CORS preflight: the headers are the answer.
        return build_response(200, {}, {"Allow": allowed})
    if method not in methods:
        raise ApiError(
            405,
            f"{method[:20]} is not allowed on {path}. Use one of: {allowed}.",
            {"Allow": allowed},
        )
    try:
        return methods[method](event)
    except ClientError as error:
        if error_code(error) != "ValidationException":
            raise
        # DynamoDB refused what the caller sent, for example an item over its
        # 400 KB limit. Its message says what is wrong.
        reason = error.response["Error"].get("Message")
        logger.warning("DynamoDB rejected the request: %s", reason)
        raise ApiError(400, f"DynamoDB rejected the request: {reason}") from None
    except DecimalException:
        # boto3 refuses numbers DynamoDB cannot store exactly.
        raise ApiError(
            400,
            "A number cannot be stored: DynamoDB keeps at most 38 significant "
            "digits, between 1E-130 and 9.99E+125 in size.",
        ) from None


# ---------------------------------------------------------------------------
# Responses and logs
# ---------------------------------------------------------------------------


def build_response(status_code, body, headers=None):
    """Wrap ``body`` in the dict API Gateway's proxy integration expects.

    API Gateway copies "body" into the HTTP response as it is, so it must be
    a *string*: a dict there (or a key it does not know) is a "Malformed
    Lambda proxy response", and the caller gets 502 {"message": "Internal
    server error"}. A missing statusCode quietly becomes 200, so always set
    it. json.dumps makes the string; CustomEncoder lets it write DynamoDB's
    Decimal numbers (and sets and bytes).

    TODO: return {"statusCode": <int>, "headers": <RESPONSE_HEADERS plus
    ``headers``>, "body": <body as a JSON string, written with CustomEncoder>}.
    """
    ### BEGIN SOLUTION
    return {
        "statusCode": status_code,
        "headers": {**RESPONSE_HEADERS, **(headers or {})},
        "body": json.dumps(body, cls=CustomEncoder),
    }
    ### END SOLUTION


def log_request(event, context, method, path, status_code, started):
    """Log one JSON line per request, easy to query in CloudWatch Logs Insights.

    Only these fields: never the headers (Authorization, cookies) or the body.
    """
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(request_context, dict):
        request_context = {}
    line = {
        "message": "request",
        "method": method[:20],
        "path": path[:200],
        "status": status_code,
        "durationMs": round((time.perf_counter() - started) * 1000, 1),
        "requestId": getattr(context, "aws_request_id", None),
        "apiRequestId": request_context.get("requestId"),
    }
    logger.info(json.dumps(line))


# ---------------------------------------------------------------------------
# Reading the request
# ---------------------------------------------------------------------------


def query_params(event):
    """The query string as a dict. API Gateway sends null when there is none."""
    params = event.get("queryStringParameters")
    return params if isinstance(params, dict) else {}


def body_text(event):
    """The request body as text, or None when there is none.

    API Gateway base64-encodes a body it treats as binary and then sets
    ``isBase64Encoded`` to true.
    """
    body = event.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise ApiError(
            400,
            "The body must be a string of JSON, as API Gateway sends it. In a "
            'console test event write "body": "{\\"productId\\": \\"p-1\\"}".',
        )
    if event.get("isBase64Encoded"):
        # API Gateway base64-encodes a body it cannot pass as text (binary media
        # types, bytes that are not UTF-8): tell the two failures apart.
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise ApiError(
                400,
                "The body is marked isBase64Encoded but is not "
                "base64-encoded UTF-8 text.",
            ) from None
        try:
            body = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(
                400,
                "The body is not UTF-8 text: send JSON encoded as UTF-8, "
                "with Content-Type: application/json.",
            ) from None
    return body if body.strip() else None


def read_json_object(event):
    """The request body parsed as a JSON object (a dict).

    ``parse_float=Decimal`` reads 19.99 as Decimal("19.99"): boto3 refuses
    Python floats ("Float types are not supported. Use Decimal types
    instead"), because a float cannot hold 19.99 exactly. Whole numbers such
    as 500 stay ints, which boto3 accepts.
    """
    text = body_text(event)
    if text is None:
        raise ApiError(
            400,
            'Send a JSON object in the request body, for example {"productId": "p-1"}.',
        )
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=reject_constant)
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise ApiError(
            400,
            f"The request body is not valid JSON ({error}). "
            "Check quotes, commas and brackets.",
        ) from None
    except RecursionError:
        raise too_deep() from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            'The request body must be a JSON object such as {"productId": "p-1"}, '
            f"not {json_type(data)}.",
        )
    check_names_and_nesting(data)
    return data


def reject_constant(name):
    """json.loads calls this for NaN and Infinity, which DynamoDB cannot store."""
    raise ValueError(f"{name} is not a number DynamoDB can store")


def json_type(value):
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def check_names_and_nesting(value, depth=0):
    """Refuse what DynamoDB refuses but boto3 does not check before sending:
    empty or over-long attribute names and map keys, deep nesting, and text
    that is not valid Unicode (JSON can carry a lone surrogate, "\\ud800")."""
    if depth > MAX_NESTING:
        raise too_deep()
    if isinstance(value, dict):
        for name, inner in value.items():
            check_attribute_name(name)
            check_names_and_nesting(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            check_names_and_nesting(inner, depth + 1)
    elif isinstance(value, str):
        check_unicode(value)


def check_unicode(text):
    """Text DynamoDB stores must be valid Unicode (UTF-8 encodable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400,
            "The request body contains text that is not valid Unicode "
            "(a lone surrogate such as \\ud800); DynamoDB cannot store it.",
        ) from None


def too_deep():
    """The error for JSON nested deeper than DynamoDB stores."""
    return ApiError(
        400, f"The request body is nested too deeply: DynamoDB allows {MAX_NESTING} levels."
    )


def check_attribute_name(name):
    """An attribute name (or a map key) must be 1 byte to 64 KB long."""
    if not name:
        raise ApiError(400, "Attribute names must not be empty.")
    check_unicode(name)
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ApiError(400, f"Attribute name too long: at most {MAX_NAME_BYTES} bytes.")


def require_product_id(value, where):
    """Check a productId: a non-empty string of at most 2048 bytes."""
    if value is None:
        raise ApiError(400, f"productId is missing: add it to the {where}.")
    if not isinstance(value, str):
        raise ApiError(
            400,
            'productId must be a string, for example "p-1" (in quotes), '
            f"not {json_type(value)}.",
        )
    if value == "":
        raise ApiError(400, "productId must not be empty.")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ApiError(400, "productId must be valid Unicode text.") from None
    if size > MAX_PRODUCT_ID_BYTES:
        raise ApiError(
            400,
            f"productId is too long: at most {MAX_PRODUCT_ID_BYTES} bytes "
            "(DynamoDB's key limit).",
        )
    return value


def require_new_product_id(value):
    """A productId for a new product: also not just spaces, which nobody can
    tell apart (products saved by other tools stay reachable, though)."""
    product_id = require_product_id(value, "request body")
    if not product_id.strip():
        raise ApiError(400, "productId must not be blank.")
    return product_id


# ---------------------------------------------------------------------------
# DynamoDB
# ---------------------------------------------------------------------------


def get_table():
    """The DynamoDB table named by the TABLE_NAME environment variable.

    TODO: read TABLE_NAME (raise RuntimeError with a clear message when it is
    not set), create ``boto3.resource("dynamodb")`` only if ``_dynamodb`` is
    still None, and return ``_dynamodb.Table(table_name)`` (kept in ``_table``
    so a warm container builds it once).
    """
    global _dynamodb, _table
    ### BEGIN SOLUTION
    table_name = os.environ.get("TABLE_NAME")
    if not table_name:
        raise RuntimeError(
            "TABLE_NAME is not set: add it to the function's environment variables."
        )
    if _dynamodb is None:
        _dynamodb = boto3.resource("dynamodb")
        _table = None  # a Table belongs to the resource that made it
    # Building a Table costs about half a millisecond (boto3 makes a Python
    # class from its JSON model), so keep the one we made.
    if _table is None or _table.name != table_name:
        _table = _dynamodb.Table(table_name)
    return _table
    ### END SOLUTION


def error_code(error):
    """The AWS error code of a ClientError, e.g. "ConditionalCheckFailedException"."""
    return error.response.get("Error", {}).get("Code")


def product_key(product_id):
    """The primary key of a product, as DynamoDB wants it."""
    return {"productId": product_id}


# Attribute names go into expressions only as placeholders ("#pk", "#attr").
# DynamoDB substitutes them as plain names, so reserved words (name, status,
# size) work, and text sent by a caller can never become part of an expression.
KEY_NAME = {"#pk": "productId"}


# ---------------------------------------------------------------------------
# The routes
# ---------------------------------------------------------------------------


def api_root(event):
    """GET / : a sign of life, no DynamoDB needed."""
    ### BEGIN SOLUTION
    return build_response(200, {"message": "API is working"})
    ### END SOLUTION


def health(event):
    """GET /health : the function runs. No DynamoDB call: fast and free."""
    ### BEGIN SOLUTION
    return build_response(200, {"status": "healthy"})
    ### END SOLUTION


def create_product(event):
    """POST /product : save a new product; 409 when the productId is taken.

    TODO: read the JSON object from the body, check its productId, and
    put_item it with ConditionExpression "attribute_not_exists(#pk)" so an
    existing product is never overwritten. Answer 201 with
    {"Operation": "SAVE", "Message": "SUCCESS", "Item": item}.
    """
    ### BEGIN SOLUTION
    item = read_json_object(event)
    product_id = require_new_product_id(item.get("productId"))
    try:
        # A plain put_item silently replaces an existing item. With this
        # condition DynamoDB refuses (ConditionalCheckFailedException) instead.
        get_table().put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames=KEY_NAME,
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            raise ApiError(
                409,
                f'A product with productId "{product_id}" already exists. '
                "Use PATCH to change it.",
            ) from None
        raise
    body = {"Operation": "SAVE", "Message": "SUCCESS", "Item": item}
    return build_response(201, body)
    ### END SOLUTION


def get_product(event):
    """GET /product?productId=X : one product; 404 when there is none.

    TODO: take productId from the query string, get_item it, and answer 200
    with the item, or 404 when the response has no "Item".
    """
    ### BEGIN SOLUTION
    product_id = require_product_id(
        query_params(event).get("productId"), "query string (?productId=...)"
    )
    # ConsistentRead: a product saved a moment ago is always found.
    response = get_table().get_item(Key=product_key(product_id), ConsistentRead=True)
    if "Item" not in response:
        raise ApiError(404, f'No product with productId "{product_id}".')
    return build_response(200, response["Item"])
    ### END SOLUTION


PATCH_FIELDS = {"productId", "updateKey", "updateValue"}


def update_product(event):
    """PATCH /product {"productId", "updateKey", "updateValue"} : set one attribute.

    TODO: check the body (check_patch_body), then update_item with
    UpdateExpression "SET #attr = :value", ExpressionAttributeNames
    {"#attr": updateKey, ...} and ConditionExpression "attribute_exists(#pk)"
    so a missing product is never created (404), and ReturnValues
    "UPDATED_NEW" so the response's "Attributes" hold only what changed
    (ALL_NEW would return the whole item). Answer 200 with
    {"Operation": "UPDATE", "Message": "SUCCESS",
    "UpdatedAttributes": <the response's "Attributes">}.
    """
    ### BEGIN SOLUTION
    data = read_json_object(event)
    product_id, update_key, value = check_patch_body(data)
    try:
        response = get_table().update_item(
            Key=product_key(product_id),
            UpdateExpression="SET #attr = :value",
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={**KEY_NAME, "#attr": update_key},
            ExpressionAttributeValues={":value": value},
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            raise ApiError(
                404,
                f'No product with productId "{product_id}". Create it with POST first.',
            ) from None
        raise
    body = {
        "Operation": "UPDATE",
        "Message": "SUCCESS",
        "UpdatedAttributes": response["Attributes"],
    }
    return build_response(200, body)
    ### END SOLUTION


def check_patch_body(data):
    """(productId, updateKey, updateValue) from a PATCH body, or ApiError 400."""
    product_id = require_product_id(data.get("productId"), "request body")
    update_key = data.get("updateKey")
    if not isinstance(update_key, str) or not update_key:
        raise ApiError(
            400, 'updateKey must name the attribute to change, for example "price".'
        )
    check_attribute_name(update_key)
    if update_key == "productId":
        raise ApiError(
            400,
            "productId cannot be changed: it is the key. "
            "Create a new product and delete the old one.",
        )
    if "updateValue" not in data:
        raise ApiError(
            400,
            'updateValue is missing: send the new value, for example "updateValue": 24.99.',
        )
    unknown = sorted(set(data) - PATCH_FIELDS)
    if unknown:
        # Refuse rather than silently ignore what the caller meant to save.
        raise ApiError(
            400,
            f"Unexpected fields {unknown}: PATCH takes productId, updateKey and updateValue.",
        )
    return product_id, update_key, data["updateValue"]


def delete_product(event):
    """DELETE /product, body {"productId": X} or ?productId=X : delete a product.

    TODO: find the productId (product_id_to_delete), delete_item it with
    ConditionExpression "attribute_exists(#pk)" and ReturnValues "ALL_OLD",
    and answer 200 with {"Operation": "DELETE", "Message": "SUCCESS",
    "deletedItem": <the response's "Attributes">}; 404 when there is none.
    """
    ### BEGIN SOLUTION
    product_id = product_id_to_delete(event)
    try:
        response = get_table().delete_item(
            Key=product_key(product_id),
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames=KEY_NAME,
            ReturnValues="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            raise ApiError(404, f'No product with productId "{product_id}".') from None
        raise
    body = {"Operation": "DELETE", "Message": "SUCCESS", "deletedItem": response["Attributes"]}
    return build_response(200, body)
    ### END SOLUTION


def product_id_to_delete(event):
    """The productId from the JSON body or the query string (equal if both)."""
    from_body = None
    if body_text(event) is not None:
        from_body = read_json_object(event).get("productId")
    from_query = query_params(event).get("productId")
    if from_body is not None and from_query is not None and from_body != from_query:
        raise ApiError(
            400, "The body and the query string name different productIds; send only one."
        )
    if from_body is not None:
        return require_product_id(from_body, "request body")
    return require_product_id(
        from_query,
        'request body ({"productId": "..."}) or the query string (?productId=...)',
    )


def list_products(event):
    """GET /products?limit=N&nextToken=T : one page of products.

    TODO: read limit and nextToken (parse_limit, decode_next_token), get a
    page with read_page, and answer 200 with {"products": [...], "count": n}
    plus "nextToken" (encode_next_token) when more products remain.
    """
    ### BEGIN SOLUTION
    params = query_params(event)
    limit = parse_limit(params.get("limit"))
    start_key = decode_next_token(params.get("nextToken"))
    products, next_key = read_page(limit, start_key)
    body = {"products": products, "count": len(products)}
    if next_key is not None:
        body["nextToken"] = encode_next_token(next_key)
    return build_response(200, body)
    ### END SOLUTION


STOCK_FIELDS = {"productId", "change"}


def adjust_stock(event):
    """POST /product/stock {"productId": "p-1", "change": -3} : add to or take
    from a product's quantity, never losing a concurrent change.

    Reading the quantity, adding in Python and writing it back (what PATCH
    offers) loses updates: two clients read 10, both write 9, one sale is
    gone. Here DynamoDB does the arithmetic itself in ONE update_item
    ("ADD quantity :change"), and a condition refuses, in the same step, a
    change that would take the quantity below zero. A product without a
    quantity counts as 0.

    TODO: check the body (check_stock_body), then update_item with
    UpdateExpression "ADD #q :change", ConditionExpression
    stock_condition(change), ReturnValues "UPDATED_NEW" and
    ReturnValuesOnConditionCheckFailure "ALL_OLD". Answer 200 with
    {"Operation": "ADJUST", "Message": "SUCCESS", "productId": ...,
    "quantity": <the new quantity>}. When the condition fails, raise
    stock_refusal(product_id, change, error): 404 or 409.
    """
    ### BEGIN SOLUTION: lab 08 exercise, leave it until then (the docstring above says what to write)
    data = read_json_object(event)
    product_id, change = check_stock_body(data)
    try:
        response = get_table().update_item(
            Key=product_key(product_id),
            UpdateExpression="ADD #q :change",
            ConditionExpression=stock_condition(change),
            ExpressionAttributeNames={**KEY_NAME, "#q": QUANTITY},
            ExpressionAttributeValues=stock_values(change),
            ReturnValues="UPDATED_NEW",
            # When the condition fails, DynamoDB sends the item as it was at
            # that moment: no second read (which could race) to tell 404
            # from 409.
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            raise stock_refusal(product_id, change, error) from None
        raise
    body = {
        "Operation": "ADJUST",
        "Message": "SUCCESS",
        "productId": product_id,
        "quantity": response["Attributes"][QUANTITY],
    }
    return build_response(200, body)
    ### END SOLUTION


def stock_condition(change):
    """The condition that makes a stock change safe, checked by DynamoDB
    atomically with the ADD.

    The product must exist (ADD would otherwise create it). Taking stock
    away (change < 0) needs a quantity that is a number of at least -change;
    a missing quantity fails that test, as 0 would. Adding stock needs a
    quantity that is a number or missing (ADD then starts from 0). The
    attribute_type test comes first so a quantity that is text is never
    compared with a number.
    """
    if change < 0:
        return "attribute_exists(#pk) AND attribute_type(#q, :number) AND #q >= :needed"
    return "attribute_exists(#pk) AND (attribute_not_exists(#q) OR attribute_type(#q, :number))"


def stock_values(change):
    """ExpressionAttributeValues for the ADD and for stock_condition(change)."""
    values = {":change": change, ":number": "N"}
    if change < 0:
        values[":needed"] = -change
    return values


def stock_refusal(product_id, change, error):
    """The ApiError for a stock change whose condition failed: 404 when the
    product does not exist, 409 when it has too little (or no number as)
    quantity. ``error`` carries the item as it was (ALL_OLD), in DynamoDB's
    low-level form ({"N": "5"}), or no "Item" when there was none."""
    old = error.response.get("Item")
    if not old:
        return ApiError(
            404, f'No product with productId "{product_id}". Create it with POST first.'
        )
    deserializer = TypeDeserializer()
    item = {name: deserializer.deserialize(value) for name, value in old.items()}
    left = item.get(QUANTITY, 0)
    if isinstance(left, bool) or not isinstance(left, (int, Decimal)):
        return ApiError(
            409,
            f'Product "{product_id}" has a {QUANTITY} that is not a number '
            f"({json.dumps(left, cls=CustomEncoder)[:100]}). Set a number with "
            "PATCH first. Nothing was changed.",
        )
    return ApiError(
        409,
        f'Not enough stock of "{product_id}": {left} left, {-change} asked for. '
        "Nothing was changed.",
    )


def check_stock_body(data):
    """(productId, change) from a POST /product/stock body, or ApiError 400.

    ``change`` must be a JSON number with a whole value, not 0, at most
    MAX_STOCK_CHANGE either way. 3 and 3.0 and 3E0 are the same number in
    JSON, so all mean 3; 2.5 is refused. A string "3" and true/false are
    refused rather than guessed at: a client that sends them has a bug it
    should hear about.
    """
    product_id = require_product_id(data.get("productId"), "request body")
    if "change" not in data:
        raise ApiError(
            400,
            'change is missing: send a whole number, for example "change": -3 '
            "to take 3 away or 5 to add 5.",
        )
    change = data["change"]
    if isinstance(change, bool) or not isinstance(change, (int, Decimal)):
        raise ApiError(
            400, f"change must be a whole number such as -3 or 5, not {json_type(change)}."
        )
    if change == 0:
        raise ApiError(400, "change must not be 0: send how many to add (5) or take away (-3).")
    if abs(change) > MAX_STOCK_CHANGE:
        raise ApiError(
            400, f"change must be between -{MAX_STOCK_CHANGE} and {MAX_STOCK_CHANGE}."
        )
    if isinstance(change, Decimal):
        if change != change.to_integral_value():
            raise ApiError(400, f"change must be a whole number, not {change}.")
        change = int(change)
    unknown = sorted(set(data) - STOCK_FIELDS)
    if unknown:
        raise ApiError(
            400, f"Unexpected fields {unknown}: POST /product/stock takes productId and change."
        )
    return product_id, change


# The API: path -> {method: function}. Anything else is 404 (unknown path)
# or 405 (known path, other method).
ROUTES = {
    "/": {"GET": api_root},
    "/health": {"GET": health},
    "/product": {
        "GET": get_product,
        "POST": create_product,
        "PATCH": update_product,
        "DELETE": delete_product,
    },
    "/products": {"GET": list_products},
    "/product/stock": {"POST": adjust_stock},
}


# ---------------------------------------------------------------------------
# Paging GET /products
# ---------------------------------------------------------------------------


def parse_limit(text):
    """The page size from ?limit=, 1..1000 (100 when absent)."""
    if text is None:
        return DEFAULT_PAGE_SIZE
    if (
        not isinstance(text, str)
        or not re.fullmatch(r"[0-9]{1,4}", text)
        or not 1 <= int(text) <= MAX_PAGE_SIZE
    ):
        raise ApiError(
            400,
            f"limit must be a whole number from 1 to {MAX_PAGE_SIZE} "
            f"(default {DEFAULT_PAGE_SIZE}).",
        )
    return int(text)


def encode_next_token(key):
    """Turn a DynamoDB key into an opaque, URL-safe nextToken."""
    text = json.dumps(key, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_next_token(token):
    """The DynamoDB key a nextToken stands for (None for the first page)."""
    if token is None or token == "":
        return None
    bad_token = ApiError(
        400, "nextToken is not valid: pass the nextToken of the previous page unchanged."
    )
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        raise bad_token from None
    if not isinstance(key, dict) or set(key) != {"productId"}:
        raise bad_token
    try:
        require_product_id(key["productId"], "nextToken")
    except ApiError:
        raise bad_token from None
    return key


def read_page(limit, start_key):
    """Up to ``limit`` products after ``start_key``, cut before 6 MB.

    Returns ``(products, next_key)``; ``next_key`` is None when no product
    remains after this page.
    """
    products = []
    size = RESPONSE_OVERHEAD_BYTES
    for item in scan_products(start_key, batch_size=limit + 1):
        item_size = encoded_size(item)
        full = len(products) == limit
        too_big = bool(products) and size + item_size > MAX_RESPONSE_BYTES
        if full or too_big:
            # `item` proves that more products remain. The next page starts
            # right after the last product on this one, so none is skipped.
            return products, product_key(products[-1]["productId"])
        products.append(item)
        size += item_size
    return products, None


def scan_products(start_key, batch_size):
    """Yield the products after ``start_key``, in DynamoDB's scan order.

    One Scan call returns at most 1 MB of items (or ``Limit`` items) and a
    LastEvaluatedKey to continue from, so we call it until that key is gone.
    """
    kwargs = {"Limit": batch_size, "ConsistentRead": True}
    if start_key is not None:
        kwargs["ExclusiveStartKey"] = start_key
    while True:
        response = get_table().scan(**kwargs)
        yield from response["Items"]
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def encoded_size(item):
    """The bytes one item adds to the Lambda response.

    The body is JSON text *inside* the JSON document Lambda returns, so its
    quotes and backslashes are escaped a second time: measure it encoded twice.
    """
    return len(json.dumps(json.dumps(item, cls=CustomEncoder)))
