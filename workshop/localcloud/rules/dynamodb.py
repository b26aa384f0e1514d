"""DynamoDB's own refusals and number forms, in front of moto's DynamoDB.

What AWS does and moto 5.2 does not (sources in ``tests/conformance/test_conformance_dynamodb.py``):

- **Numbers** (developer guide, "Supported data types and naming rules", Number): at most 38
  significant digits, magnitude between 1E-130 and 9.9999999999999999999999999999999999999E+125,
  wherever a number appears — item attributes, maps, lists, number sets, keys, update and
  condition values, batch and transaction writes. Anything else is a ``ValidationException``.
- **Numbers are stored normalised**: leading and trailing zeros trimmed, no exponent, so
  ``12.50`` reads back as ``12.5`` and ``1E+2`` as ``100``. moto's ``DynamoType`` normalises
  every number it is built with — stored, compared, or computed (moto's arithmetic writes
  ``13.0``) — so requests are never rewritten (their signature covers their bytes).
- **Item size** ("Item sizes and formats"): names plus values; a number takes one byte per two
  significant digits plus one; a list or map 3 bytes plus 1 byte per element; limit 400 KB =
  409,600 bytes, counted by :func:`item_size` (moto counts differently and stops at 405,000).
- **Text must be Unicode**: a lone surrogate (``"\\ud800"``) cannot be stored.
- **BatchWriteItem** takes at most 25 put or delete requests, all tables together.
- **Unknown tables** in table-level calls: ``Requested resource not found: Table: NAME not found``.
- **Thread safety**: moto's DynamoDB is not thread-safe (a Scan iterating a table while a Put
  adds to it raised "dictionary changed size during iteration"); every DynamoDB request is
  served under one lock, so concurrent writers and scanners each see a consistent table. Stream
  records reach their Lambda trigger asynchronously (as on AWS), never inside a locked write.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import re
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

from workshop.localcloud import dynamodb_atomic
from workshop.localcloud.rules.wsgi import Answer, WsgiApp, call, json10_error, read_body

log = logging.getLogger(__name__)

ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
TARGET_PREFIX = "DynamoDB_20120810."

#: 400 KB, "Item size" in "Service, account, and table quotas in Amazon DynamoDB".
MAX_ITEM_BYTES = 409_600
MAX_SIGNIFICANT_DIGITS = 38
#: Largest and smallest power of ten of a number's leading digit (9.99...E+125 and 1E-130).
MAX_ADJUSTED_EXPONENT = 125
MIN_ADJUSTED_EXPONENT = -130

NUMBER_OVERFLOW = (
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
)
NUMBER_UNDERFLOW = (
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
)
TOO_MANY_DIGITS = "Attempting to store more than 38 significant digits in a Number"
NOT_A_NUMBER = "The parameter cannot be converted to a numeric value"
ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
ITEM_TO_UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"
# AWS's wording for text that is not Unicode could not be recorded; see the README list.
NOT_UNICODE = (
    "One or more parameter values were invalid: a string contains characters that are not "
    "valid Unicode (an unpaired surrogate)"
)

#: BatchWriteItem: "up to 25 item put or delete operations" (API reference; its
#: ValidationException: "There are more than 25 requests in the batch"). moto takes any number.
MAX_BATCH_WRITE_REQUESTS = 25
TOO_MANY_BATCH_WRITES = "Too many items requested for the BatchWriteItem call"

_NUMBER_SYNTAX = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_TABLE_LEVEL_CALLS = {"DeleteTable", "DescribeTable", "UpdateTable"}

#: One lock for every DynamoDB request of the local cloud (moto's tables are plain dicts): the
#: same re-entrant lock that makes each request atomic inside moto (dynamodb_atomic).
DYNAMODB_LOCK = dynamodb_atomic.REQUEST_LOCK


class DynamoDBValidationError(ValueError):
    """A request DynamoDB refuses with ``ValidationException`` and this message."""


# -- numbers ------------------------------------------------------------------------------------


def _digits_and_exponent(text: str) -> tuple[int, str, int]:
    """(sign, significant digits without leading/trailing zeros, exponent of the last digit)."""
    if not isinstance(text, str) or not _NUMBER_SYNTAX.match(text):
        raise DynamoDBValidationError(f"{NOT_A_NUMBER}: {text}" if text else NOT_A_NUMBER)
    try:
        sign, digit_tuple, exponent = Decimal(text.strip()).as_tuple()
    except InvalidOperation:
        raise DynamoDBValidationError(f"{NOT_A_NUMBER}: {text}") from None
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return 0, "", 0
    stripped = digits.rstrip("0")
    exponent = int(exponent) + len(digits) - len(stripped)
    return sign, stripped, exponent


def check_number(text: str) -> str:
    """Validate a DynamoDB number and return it as DynamoDB stores it (``"12.50"`` -> ``"12.5"``).

    Raises :class:`DynamoDBValidationError` with AWS's message when it cannot be stored.
    """
    sign, digits, exponent = _digits_and_exponent(text)
    if not digits:
        return "0"
    adjusted = exponent + len(digits) - 1
    if adjusted > MAX_ADJUSTED_EXPONENT:
        raise DynamoDBValidationError(NUMBER_OVERFLOW)
    if adjusted < MIN_ADJUSTED_EXPONENT:
        raise DynamoDBValidationError(NUMBER_UNDERFLOW)
    if len(digits) > MAX_SIGNIFICANT_DIGITS:
        raise DynamoDBValidationError(TOO_MANY_DIGITS)
    return ("-" if sign else "") + _plain(digits, exponent)


def normalise_number(text: str) -> str:
    """The stored form of a number already known to be valid; the text itself if it is not."""
    try:
        sign, digits, exponent = _digits_and_exponent(text)
    except DynamoDBValidationError:
        return text
    if not digits:
        return "0"
    return ("-" if sign else "") + _plain(digits, exponent)


def _plain(digits: str, exponent: int) -> str:
    if exponent >= 0:
        return digits + "0" * exponent
    point = len(digits) + exponent
    if point > 0:
        return f"{digits[:point]}.{digits[point:]}"
    return "0." + "0" * -point + digits


def number_size(text: str) -> int:
    """Bytes a number takes: 1 byte per two significant digits, plus 1 ("Item sizes")."""
    try:
        _, digits, _ = _digits_and_exponent(text)
    except DynamoDBValidationError:
        digits = str(text)
    return (max(len(digits), 1) + 1) // 2 + 1


# -- request and answer walking -------------------------------------------------------------------


def _is_number_value(node: dict[str, Any]) -> bool:
    return len(node) == 1 and (
        isinstance(node.get("N"), str)
        or (isinstance(node.get("NS"), list) and all(isinstance(v, str) for v in node["NS"]))
    )


def check_request(document: Any) -> Any:
    """Validate every number and string of a DynamoDB request; return it with numbers normalised.

    Every ``{"N": ...}`` / ``{"NS": [...]}`` attribute value anywhere in the request is checked
    (items, keys, expression values, legacy ``Expected`` / ``AttributeUpdates``, batch and
    transaction writes); every string, names included, must be encodable as UTF-8.
    """
    if isinstance(document, dict):
        if _is_number_value(document):
            if "N" in document:
                return {"N": check_number(document["N"])}
            return {"NS": [check_number(value) for value in document["NS"]]}
        result = {}
        for key, value in document.items():
            _check_text(key)
            result[key] = check_request(value)
        return result
    if isinstance(document, list):
        return [check_request(value) for value in document]
    if isinstance(document, str):
        _check_text(document)
    return document


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DynamoDBValidationError(NOT_UNICODE) from None


# -- item size --------------------------------------------------------------------------------------


def _utf8_size(text: Any) -> int:
    if isinstance(text, bytes):
        return len(text)
    return len(str(text).encode("utf-8", "surrogatepass"))


def _binary_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return _utf8_size(value)


def attribute_value_size(value: Any) -> int:
    """Size of one attribute value in DynamoDB JSON (``{"S": "x"}``), by AWS's formula."""
    if hasattr(value, "type") and hasattr(value, "value"):  # moto's DynamoType
        return _typed_size(value.type, value.value)
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        return _typed_size(kind, inner)
    raise TypeError(f"not an attribute value: {value!r}")


def _typed_size(kind: str, inner: Any) -> int:
    if kind == "S":
        return _utf8_size(inner)
    if kind == "N":
        return number_size(str(inner))
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8_size(v) for v in inner)
    if kind == "NS":
        return sum(number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(_binary_size(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + _utf8_size(k) + attribute_value_size(v) for k, v in inner.items())
    return _utf8_size(inner)


def item_size(item: dict[str, Any]) -> int:
    """An item's size: each attribute's name (UTF-8 bytes) plus its value's size."""
    return sum(_utf8_size(name) + attribute_value_size(value) for name, value in item.items())


# -- moto patches -----------------------------------------------------------------------------------

_saved: dict[str, Any] = {}


def install() -> None:
    """Make moto size items by AWS's formula and limit, for puts and updates alike."""
    from moto.dynamodb.exceptions import (
        ItemSizeTooLarge,
        ItemSizeToUpdateTooLarge,
        MockValidationException,
    )
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    if _saved:
        return
    _saved["send_dynamodb_items"] = LambdaBackend.send_dynamodb_items
    original_send = LambdaBackend.send_dynamodb_items

    def send_dynamodb_items(backend: Any, function_arn: str, items: list[Any], source: str) -> str:
        """Stream records reach their function asynchronously, as on AWS. moto would invoke it
        inside the write, under the DynamoDB lock: a function reading the table would wait for
        its own trigger until it timed out."""

        def deliver() -> None:
            try:
                original_send(backend, function_arn, list(items), source)
            except Exception:  # noqa: BLE001 - nobody waits for a stream delivery but the log
                log.exception("delivering DynamoDB stream records to %s failed", function_arn)

        threading.Thread(target=deliver, name="dynamodb-stream", daemon=True).start()
        return "queued"

    LambdaBackend.send_dynamodb_items = send_dynamodb_items  # type: ignore[method-assign]
    _saved.update(
        init=DynamoType.__init__,
        size=DynamoType.size,
        setitem=LimitedSizeDict.__setitem__,
        update_item=DynamoDBBackend.update_item,
    )
    original_init = DynamoType.__init__

    def init(self: Any, type_as_dict: Any) -> None:
        """Every number moto holds (stored, compared or computed: ``13.0`` from ``12.5 + 0.5``)
        in the form DynamoDB stores it. The request itself is never rewritten: its signature
        covers its bytes."""
        original_init(self, type_as_dict)
        if self.type == "N" and isinstance(self.value, str):
            self.value = normalise_number(self.value)
        elif self.type == "NS" and isinstance(self.value, list):
            self.value = [normalise_number(v) if isinstance(v, str) else v for v in self.value]

    def size(self: Any) -> int:
        return _typed_size(self.type, self.value)

    def setitem(self: Any, key: str, value: Any) -> None:
        total = _utf8_size(key) + _any_size(value) + sum(
            _utf8_size(name) + _any_size(existing)
            for name, existing in self.items()
            if name != key
        )
        if total > MAX_ITEM_BYTES:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    original_update = DynamoDBBackend.update_item

    def update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """An update whose result DynamoDB could not store changes nothing: over the size
        limit (nested values included), or a number out of range (``ADD`` / ``SET a = a + :v``)."""
        table = backend.get_table(table_name)
        hash_value, range_value = backend.get_keys_value(table, key)
        before = table.get_item(hash_value, range_value)
        saved_attrs = copy.deepcopy(before).attrs if before is not None else None
        try:
            item = original_update(backend, table_name, key, *args, **kwargs)
            if item is not None and _item_attrs_size(item.attrs) > MAX_ITEM_BYTES:
                raise ItemSizeToUpdateTooLarge()
            if item is not None:
                try:
                    for value in item.attrs.values():
                        _check_stored_numbers(value)
                except DynamoDBValidationError as error:
                    raise MockValidationException(str(error)) from None
        except (ItemSizeToUpdateTooLarge, MockValidationException):
            current = table.get_item(hash_value, range_value)
            if saved_attrs is not None and current is not None:
                current.attrs = saved_attrs
            elif saved_attrs is None and current is not None:
                table.delete_item(hash_value, range_value)
            raise
        return item

    DynamoType.__init__ = init  # type: ignore[method-assign]
    DynamoType.size = size  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    if not _saved:
        return
    LambdaBackend.send_dynamodb_items = _saved["send_dynamodb_items"]  # type: ignore[method-assign]
    DynamoType.__init__ = _saved["init"]  # type: ignore[method-assign]
    DynamoType.size = _saved["size"]  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = _saved["setitem"]  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _saved["update_item"]  # type: ignore[method-assign]
    _saved.clear()


def _check_stored_numbers(value: Any) -> None:
    """Raise DynamoDBValidationError for a number in a stored value DynamoDB cannot hold."""
    if hasattr(value, "type") and hasattr(value, "value"):
        kind, inner = value.type, value.value
    elif isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
    else:
        return
    if kind == "N":
        check_number(str(inner))
    elif kind == "NS":
        for number in inner:
            check_number(str(number))
    elif kind == "L":
        for element in inner:
            _check_stored_numbers(element)
    elif kind == "M":
        for element in inner.values():
            _check_stored_numbers(element)


def _any_size(value: Any) -> int:
    if hasattr(value, "type") and hasattr(value, "value"):
        return attribute_value_size(value)
    return _utf8_size(value)


def _item_attrs_size(attrs: dict[str, Any]) -> int:
    return sum(_utf8_size(name) + _any_size(value) for name, value in attrs.items())


# -- the WSGI rule ----------------------------------------------------------------------------------


def handle(app: WsgiApp, environ: dict[str, Any], operation: str) -> Answer:
    """Serve one DynamoDB request through ``app`` (moto) with DynamoDB's rules applied."""
    body = read_body(environ)
    try:
        request = json.loads(body) if body else {}
    except ValueError:
        request = None
    if isinstance(request, dict):
        try:
            check_request(request)
            if operation == "BatchWriteItem":
                _check_batch_write_size(request)
        except DynamoDBValidationError as error:
            return json10_error("ValidationException", str(error), prefix=ERROR_PREFIX)
    with DYNAMODB_LOCK:
        answer = call(app, environ)
    if answer.status >= 400:
        return _table_not_found(answer, operation, request)
    return answer


def _check_batch_write_size(request: dict[str, Any]) -> None:
    """At most 25 put or delete requests in one BatchWriteItem, all tables together."""
    tables = request.get("RequestItems")
    if not isinstance(tables, dict):
        return
    count = sum(len(writes) for writes in tables.values() if isinstance(writes, list))
    if count > MAX_BATCH_WRITE_REQUESTS:
        raise DynamoDBValidationError(TOO_MANY_BATCH_WRITES)


def _table_not_found(answer: Answer, operation: str, request: Any) -> Answer:
    """Table-level calls name the table: "Requested resource not found: Table: NAME not found"."""
    if operation not in _TABLE_LEVEL_CALLS or not isinstance(request, dict):
        return answer
    error = answer.json()
    if not isinstance(error, dict) or not str(error.get("__type", "")).endswith(
        "ResourceNotFoundException"
    ):
        return answer
    name = request.get("TableName")
    message = f"Requested resource not found: Table: {name} not found"
    return json10_error("ResourceNotFoundException", message, prefix=ERROR_PREFIX)
