"""Which requests change the local cloud, and the pause that makes a snapshot consistent.

A snapshot must not catch a table half-written or a dict mid-resize, and it must agree across
services (a function and the role it names). So requests that change moto's state take the shared
side of a readers-writer lock while moto handles them, and the snapshot takes the exclusive side
just long enough to pickle the backends into memory; the file is written after the pause.

- Reads (GET, ``Describe*``, ``Get*``, ``Scan``, ...) take no lock: they never wait.
- A ``lambda.invoke`` takes no lock either: its own moto work only reads the function, and what
  the function changes arrives as requests of its own (a DynamoDB ``PutItem`` through the endpoint)
  or as log lines (:mod:`workshop.localcloud.cloudwatch` takes the shared side). Holding the lock
  for a whole invocation would make a snapshot wait for the function, and the function's own
  requests wait for the snapshot.
- The snapshot gives up after :attr:`StateGuard.writer_patience_s` when changing requests do not
  drain (a request that waits on another request, e.g. a stream trigger), and tries again later:
  no request is held longer than that plus the pickling time.

Every changing request also marks the state dirty, which wakes the snapshot keeper.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

#: Operations whose name starts like this only read (AWS's naming convention, all services).
READ_ACTION_PREFIXES = (
    "Get", "Describe", "List", "Scan", "Query", "BatchGet", "TransactGet", "Filter", "Lookup",
    "Search", "Check", "Simulate", "Estimate", "Head", "Validate",
)  # fmt: skip
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Lambda's Invoke and InvokeAsync (REST paths of the 2015-03-31 and 2014-11-13 APIs).
LAMBDA_INVOKE_PATH = re.compile(
    r"^/\d{4}-\d{2}-\d{2}/functions/[^/]+/(invocations|invoke-async/?)$"
)
#: Query-protocol bodies (IAM, STS) are read to find the Action; larger ones are uploads.
MAX_FORM_BYTES = 1024 * 1024


class StateGuard:
    """A readers-writer lock (changing requests share, the snapshot excludes) plus a dirty flag.

    Writer-preferring: once a snapshot waits, new changing requests wait for it, so a stream of
    requests cannot starve it. Re-entrant on the shared side per thread (a log write inside a
    changing request).
    """

    def __init__(self, writer_patience_s: float = 0.05) -> None:
        self.writer_patience_s = writer_patience_s
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer_waiting = False
        self._writer_active = False
        self._local = threading.local()
        self.changed = threading.Event()
        self._dirty_since: float | None = None
        self._changes = 0
        # What the benchmark reports.
        self.max_wait_s = 0.0
        self.guarded_requests = 0

    # -- the shared side --------------------------------------------------------------------------

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the shared side while changing moto's state; mark the state dirty afterwards."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            started = time.perf_counter()
            with self._condition:
                while self._writer_waiting or self._writer_active:
                    self._condition.wait()
                self._readers += 1
                self.guarded_requests += 1
            waited = time.perf_counter() - started
            if waited > self.max_wait_s:
                self.max_wait_s = waited
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._condition:
                    self._readers -= 1
                    self._mark_dirty_locked()
                    if self._readers == 0:
                        self._condition.notify_all()

    def mark_dirty(self) -> None:
        with self._condition:
            self._mark_dirty_locked()

    def _mark_dirty_locked(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = time.monotonic()
        self._changes += 1
        self.changed.set()

    @property
    def dirty(self) -> bool:
        return self._dirty_since is not None

    @property
    def changes(self) -> int:
        return self._changes

    # -- the exclusive side -----------------------------------------------------------------------

    @contextlib.contextmanager
    def exclusive(self, patience_s: float | None = None) -> Iterator[bool]:
        """Yield True while no changing request runs (and none may start); False if changing
        requests did not drain within ``patience_s`` (the caller tries again later). Entering
        clears the dirty flag: changes from now on belong to the next snapshot."""
        patience = self.writer_patience_s if patience_s is None else patience_s
        deadline = time.monotonic() + patience
        acquired = False
        with self._condition:
            while self._writer_waiting or self._writer_active:  # one snapshot at a time
                self._condition.wait()
            self._writer_waiting = True
            while self._readers and (remaining := deadline - time.monotonic()) > 0:
                self._condition.wait(remaining)
            self._writer_waiting = False
            if self._readers:
                self._condition.notify_all()  # give way: the waiting requests go first
            else:
                acquired = self._writer_active = True
                self._dirty_since = None
                self.changed.clear()
        if not acquired:
            yield False
            return
        try:
            yield True
        finally:
            with self._condition:
                self._writer_active = False
                self._condition.notify_all()

    def dirty_for_s(self) -> float:
        since = self._dirty_since
        return 0.0 if since is None else time.monotonic() - since


#: The local cloud's one guard: the endpoint, the runtime's log writer and the keeper share it.
GUARD = StateGuard()


# -- classifying requests ---------------------------------------------------------------------------


def action_name(environ: dict[str, Any]) -> str | None:
    """The AWS operation of a JSON- or query-protocol request; None for REST protocols.

    JSON protocol (DynamoDB, CloudWatch Logs): ``X-Amz-Target: DynamoDB_20120810.PutItem``.
    Query protocol (IAM, STS): ``Action=CreateRole`` in the query string or the form body; the
    body is read here and put back for moto.
    """
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        body = _buffer_body(environ)
        if body is not None:
            form = parse_qs(body.decode("utf-8", errors="replace"))
            if "Action" in form:
                return form["Action"][0]
    return None


def _buffer_body(environ: dict[str, Any]) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_FORM_BYTES:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def is_changing(environ: dict[str, Any]) -> bool:
    """Whether a request to the AWS endpoint may change moto's state.

    When unsure it answers yes: a needless snapshot costs milliseconds, a missed one loses work.
    """
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_localcloud/"):
        return False
    action = action_name(environ)
    if action is not None:
        return not action.startswith(READ_ACTION_PREFIXES)
    if method in READ_METHODS:
        return False
    return not LAMBDA_INVOKE_PATH.match(path)


class RequestGuard:
    """WSGI middleware: changing requests run under the guard's shared side.

    ``/_localcloud/snapshot`` is answered by the snapshot keeper when one runs (its statistics,
    and a way to take a snapshot now, for the benchmark and the tests).
    """

    CONTROL_PATH = "/_localcloud/snapshot"

    def __init__(self, app: Callable[..., Any], guard: StateGuard = GUARD) -> None:
        self.app = app
        self.guard = guard

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == self.CONTROL_PATH:
            return _control(environ, start_response)
        if not is_changing(environ):
            return self.app(environ, start_response)
        with self.guard.changing():
            response = self.app(environ, start_response)
            # Drain the answer under the lock: a lazy iterable would run moto's code after it.
            try:
                return list(response)
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()


#: Set by the running snapshot keeper; the server only wraps its app with :func:`guard_requests`.
_control_app: Callable[..., Any] | None = None


def set_control_app(app: Callable[..., Any] | None) -> None:
    global _control_app
    _control_app = app


def guard_requests(app: Callable[..., Any]) -> RequestGuard:
    """Wrap the endpoint's WSGI app (the server calls this when it builds the endpoint)."""
    return RequestGuard(app)


_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _from_this_machine(environ: dict[str, Any]) -> bool:
    """No web page may drive the control route: no ``Origin`` header (a browser adds one to a
    page's POST), and a Host that is this machine (a re-bound DNS name is not)."""
    if environ.get("HTTP_ORIGIN"):
        return False
    host = environ.get("HTTP_HOST", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in _LOCAL_HOSTS


def _control(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    if not _from_this_machine(environ):
        start_response("403 Forbidden", [("Content-Type", "application/json")])
        return [b'{"message": "the snapshot route answers only programs on this machine"}']
    app = _control_app
    if app is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"message": "snapshots are off in this local cloud"}']
    return app(environ, start_response)
