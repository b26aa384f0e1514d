"""Each DynamoDB request is applied atomically, as DynamoDB applies it.

DynamoDB applies a single-item write (PutItem, UpdateItem, DeleteItem, with its condition) as one
indivisible step, and a transaction all at once: "condition expressions ... are evaluated and
the write is performed atomically" (DynamoDB developer guide, "Condition expressions" and
"Atomic counters"). That is what makes ``ADD quantity :change`` with a condition safe under
concurrent clients (lab 08).

moto 5.2 serves requests on several threads and applies an update in plain Python (read the item,
check the condition, change the attributes, build the answer) without a lock, so two concurrent
updates of one item can interleave and one can be lost: a lost update the real service never
shows. The local cloud therefore runs each DynamoDB request under one lock. DynamoDB calls take
well under a millisecond in moto, so the cost is small, and a read never sees half a write.

Limit: moto delivers DynamoDB Streams to a Lambda event source mapping synchronously, inside the
write. A stream-triggered function that itself calls DynamoDB would then wait for this lock until
its timeout. The workshop uses no streams; a lock per table would be the next step if it does.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

#: Held while moto handles one DynamoDB request (also by the rules layer around the request).
REQUEST_LOCK = threading.RLock()
_request_lock = REQUEST_LOCK
_install_lock = threading.Lock()
_original_call_action: Any = None


def install() -> None:
    """Serialise moto's DynamoDB request handling (idempotent; for the local cloud's process)."""
    global _original_call_action
    from moto.dynamodb.responses import DynamoHandler

    with _install_lock:
        if _original_call_action is not None:
            return
        original = DynamoHandler.call_action
        _original_call_action = original

        @functools.wraps(original)
        def call_action(self: Any) -> Any:
            with _request_lock:
                return original(self)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto its own request handling back (tests that install it in-process)."""
    global _original_call_action
    from moto.dynamodb.responses import DynamoHandler

    with _install_lock:
        if _original_call_action is not None:
            DynamoHandler.call_action = _original_call_action  # type: ignore[method-assign]
            _original_call_action = None


def installed() -> bool:
    return _original_call_action is not None
