"""The HTTP server under the local cloud's AWS endpoint: waitress (the default) or werkzeug.

Both serve the same WSGI application (moto behind the endpoint's guards) and refuse the same
malformed requests (``http_guard``); :func:`make_endpoint_server` returns either behind the
four members :class:`~workshop.localcloud.server.LocalCloudServer` uses (:class:`EndpointServer`).

``WORKSHOP_ENDPOINT_SERVER=werkzeug|waitress`` chooses (see ``config.ENDPOINT_SERVER_ENV``).
waitress is the default because it measures faster: ``make bench`` prints raw boto3
``get_item`` p50 through both in one run (``scripts/bench.py``, ``endpoint_server_comparison``);
on 2 CPUs on 2026-11-30, waitress 1.97-2.25 ms against werkzeug 2.22-2.95 ms (0.76-0.90x).
Mostly because werkzeug's development server answers ``Connection: close`` every time, so
boto3 opens a connection (and the server a thread) per call, where waitress keeps it.
werkzeug's development server (moto's own ``moto_server``) stays one setting away, for a
suspected server difference.

What the werkzeug server did that waitress is made to do too (tests/localcloud/
test_endpoint_servers.py and test_hardening_http.py run against both):

- **framing** (RFC 9112 sections 3, 6.1, 6.3): the strict request line and
  :func:`~workshop.localcloud.http_guard.framing_error` run in :class:`_StrictParser`; every
  refusal is ``HTTP/1.1 400`` and the connection is closed.
- **a body that never completes**: a client that closes (or stops sending for
  ``socket_timeout`` seconds) before its announced body arrived gets ``400``, as werkzeug's
  server answered through ``EndpointGuard`` — never a request that reaches moto.
- **idle connections** are closed after ``socket_timeout`` seconds (werkzeug's socket timeout).
- **``x-amz-meta-*`` header names with underscores** (S3 metadata) reach moto under their own
  spelling, as moto's ``MotoRequestHandler`` keeps them; other underscore headers are dropped by
  both servers (``X_Foo`` could otherwise pose as ``X-Foo``).
- **no thread starvation**: see :class:`_ElasticDispatcher`.
- **no lock-out by idle connections**: werkzeug closed every connection after its answer;
  waitress keeps them, so near its connection limit the longest-idle ones are closed
  (``EndpointWSGIServer._make_room``).
- **response header names as moto wrote them** (waitress re-capitalises them, which changed
  S3 metadata keys), and no ``Via: waitress``.
- **absolute-form targets** (``GET http://host/ HTTP/1.1``): the Host check judges the target's
  host, as werkzeug did (RFC 9112 section 3.2.2).

Where they still differ: waitress answers ``501`` to a transfer coding other than ``chunked``
(``Transfer-Encoding: gzip, chunked``), which werkzeug passed on still gzip-coded; waitress
refuses a body over 1 GiB (413) and a header block over 256 KiB (431); and it answers an
HTTP/1.0 request as HTTP/1.0.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from workshop.localcloud import config
from workshop.localcloud.http_guard import framing_error, request_line_error

log = logging.getLogger(__name__)

WsgiApp = Callable[..., Iterable[bytes]]

#: waitress keeps this many threads at all times (its own default), and starts more on demand.
WAITRESS_MIN_THREADS = 4
#: At most this many connections are open at once, so at most this many requests run at once
#: (one per connection: waitress reads a connection's next request only after answering the
#: previous one). Near it, idle keep-alive connections are closed to make room; the listen
#: backlog holds what arrives beyond it. Far above a classroom
#: laptop's need (64 concurrent gateway clients use ~10 endpoint connections per function),
#: and below the usual 1024 open-files limit of a process.
WAITRESS_CONNECTION_LIMIT = 512
#: Threads started on demand above the minimum end after idling this long.
WAITRESS_SPARE_THREAD_IDLE_S = 30.0
#: waitress' own listen backlog (werkzeug's is 128): a burst of new connections waits in the
#: kernel's queue instead of being refused.
LISTEN_BACKLOG = 1024


class EndpointServer(Protocol):
    """What ``LocalCloudServer`` needs of the endpoint's server (socketserver's names)."""

    @property
    def server_port(self) -> int: ...

    @property
    def server_address(self) -> tuple[str, int]: ...

    def serve_forever(self, poll_interval: float = 0.5) -> None: ...

    def shutdown(self) -> None:
        """Stop ``serve_forever`` (from another thread); returns promptly, open connections or not."""

    def server_close(self) -> None:
        """Close the listening socket and every connection."""


def endpoint_server_name(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """The server ``WORKSHOP_ENDPOINT_SERVER`` names (default :data:`config.DEFAULT_ENDPOINT_SERVER`).

    An unknown name is an error, not a silent fallback: someone comparing servers must get the
    one they asked for.
    """
    environ = os.environ if environ is None else environ
    name = environ.get(config.ENDPOINT_SERVER_ENV, "").strip().lower() or config.DEFAULT_ENDPOINT_SERVER
    if name not in config.ENDPOINT_SERVERS:
        raise ValueError(
            f"{config.ENDPOINT_SERVER_ENV}={environ.get(config.ENDPOINT_SERVER_ENV)!r}: choose one "
            f"of {', '.join(config.ENDPOINT_SERVERS)}"
        )
    return name


def make_endpoint_server(
    host: str, port: int, app: WsgiApp, *, socket_timeout: float, kind: str | None = None
) -> EndpointServer:
    """Bind ``host:port`` (0: a free port) and return a server for ``app``, not yet serving.

    ``kind``: "waitress" or "werkzeug"; None reads ``WORKSHOP_ENDPOINT_SERVER``. A taken port
    raises OSError for both.
    """
    kind = kind or endpoint_server_name()
    if kind == "werkzeug":
        return _werkzeug_server(host, port, app, socket_timeout)
    if kind == "waitress":
        return WaitressEndpointServer(host, port, app, socket_timeout=socket_timeout)
    raise ValueError(f"unknown endpoint server {kind!r}: choose one of {', '.join(config.ENDPOINT_SERVERS)}")


# -- werkzeug (moto_server's own server) ----------------------------------------------------


def _werkzeug_server(host: str, port: int, app: WsgiApp, socket_timeout: float) -> EndpointServer:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from workshop.localcloud.http_guard import StrictRequestLine

    # One line per request from werkzeug would drown the useful messages (and cost time).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    class EndpointRequestHandler(StrictRequestLine, MotoRequestHandler):
        timeout = socket_timeout  # a body that never arrives frees its thread

    try:
        server = make_server(host, port, app, threaded=True, request_handler=EndpointRequestHandler)
    except SystemExit as exit_:
        # werkzeug prints "Port N is in use" and exits instead of raising OSError.
        raise OSError(f"port {port} is in use") from exit_
    server.daemon_threads = True
    return server  # type: ignore[return-value]


# -- waitress ---------------------------------------------------------------------------------


class _Fields:
    """Header fields as ``framing_error`` reads them (``get_all``, any case)."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    def get_all(self, name: str) -> list[str] | None:
        found = [value for key, value in self.fields if key.lower() == name.lower()]
        return found or None


def _waitress_classes() -> tuple[type, type, type]:
    """The parser, channel and server classes (waitress is imported only when it serves)."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser, ParsingError, get_header_lines
    from waitress.server import TcpWSGIServer
    from waitress.task import WSGITask
    from waitress.utilities import BadRequest

    class StrictParser(HTTPRequestParser):
        """waitress' parser with the endpoint's rules in front (``http_guard``)."""

        preserved: dict[str, tuple[str, list[str]]]

        def parse_header(self, header_plus: bytes) -> None:
            # Every refusal is answered as HTTP/1.1 (waitress would echo a 1.0 it assumed).
            self.version = "1.1"
            self.preserved = {}
            first_line, _, block = header_plus.partition(b"\r\n")
            line_problem = request_line_error(first_line.decode("latin-1"))
            if line_problem is not None:
                raise ParsingError(line_problem)
            lines = get_header_lines(block)
            fields = []
            for line in lines:
                name, colon, value = line.partition(b":")
                if not colon:
                    raise ParsingError("Invalid header")
                fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
            problem = framing_error(_Fields(fields))
            if problem is not None:
                raise ParsingError(problem)
            # Repeated identical Content-Length headers are one length (RFC 9112 section 6.3);
            # waitress would join them into "12, 12" and refuse it.
            kept, seen_length = [], False
            for line, (name, value) in zip(lines, fields, strict=True):
                if name.strip().lower() == "content-length":
                    if seen_length:
                        continue
                    seen_length = True
                kept.append(line)
                if "_" in name and should_preserve_original_header_name(name):
                    key = environ_key_for_header(name)
                    original, values = self.preserved.setdefault(key, (name, []))
                    values.append(value.replace("\r\n", ""))
            dashed = {environ_key_for_header(name) for name, _ in fields if "_" not in name}
            self.preserved = {k: v for k, v in self.preserved.items() if k not in dashed}
            try:
                super().parse_header(b"\r\n".join([first_line, *kept]) + b"\r\n")
            except ParsingError:
                self.version = "1.1"
                raise
            if self.proxy_netloc:
                # An absolute-form target names the host: "the origin server MUST ignore the
                # received Host header field" (RFC 9112 section 3.2.2), so the Host check judges
                # the target's authority, as on werkzeug's server (which sets HTTP_HOST from it).
                self.headers["HOST"] = self.proxy_netloc

    class MotoTask(WSGITask):
        """Adds the header names moto's own request handler keeps (``x-amz-meta-my_key``)."""

        def get_environment(self) -> dict[str, Any]:
            environ = super().get_environment()
            preserved = getattr(self.request, "preserved", {})
            if PRESERVED_HEADER_NAMES_ENVIRON_KEY not in environ:
                for key, (_name, values) in preserved.items():
                    environ[key] = ",".join(values)
                environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {k: n for k, (n, _) in preserved.items()}
            return environ

        def build_response_header(self) -> bytes:
            """waitress' header block with the names spelt as moto wrote them, and no ``Via``.

            waitress re-capitalises every name (``x-amz-meta-lower`` -> ``X-Amz-Meta-Lower``),
            and botocore keeps the text after ``x-amz-meta-`` as the S3 metadata key, so the
            learner's ``{"lower": ...}`` would come back as ``{"Lower": ...}``; werkzeug's
            server and AWS send names as written. waitress adds ``Via: waitress`` when the app
            sends a ``Server`` header; AWS names no server software (``ident=""``)."""
            written = {name.lower(): name for name, _ in self.response_headers}
            status, *lines = super().build_response_header().decode("latin-1").split("\r\n")
            kept = [status]
            for line in lines:
                name, colon, value = line.partition(":")
                if colon and name.lower() == "via" and "via" not in written:
                    continue
                kept.append(f"{written.get(name.lower(), name)}{colon}{value}" if colon else line)
            return "\r\n".join(kept).encode("latin-1")

    class StrictChannel(HTTPChannel):
        """A connection: a request cut short is answered 400 instead of dropped."""

        parser_class = StrictParser
        task_class = MotoTask

        def handle_read(self) -> None:
            if self.request is None:
                super().handle_read()
                return
            # Part of a request arrived: read without wasyncore's close-on-EOF, to answer it.
            try:
                data = self.socket.recv(self.adj.recv_bytes)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.handle_close()
                return
            if data:
                self.last_activity = time.time()
                self.received(data)
            else:
                self.refuse_incomplete("the connection closed before the request was complete")

        def refuse_incomplete(self, why: str) -> None:
            """Answer the partly received request 400 and close (the client may still read).

            Blank lines between requests are no request (RFC 9112 section 2.2): the connection
            then just closes."""
            with self.requests_lock:
                request = self.request
                if request is None or self.will_close or self.close_when_flushed:
                    return
                if not request.headers_finished and not request.header_plus.strip():
                    self.request = None
                    self.will_close = True
                    return
                self.request = None
                request.version = "1.1"
                request.error = BadRequest(why)
                request.completed = True
                request.connection_close = True
                self.requests.append(request)
                if len(self.requests) == 1:
                    self.server.add_task(self)

    class EndpointWSGIServer(TcpWSGIServer):
        channel_class = StrictChannel

        def maintenance(self, now: float) -> None:
            """Close connections idle for ``channel_timeout``; answer 400 to those whose
            request stopped arriving half-way (werkzeug's socket timeout did both)."""
            cutoff = now - self.adj.channel_timeout
            for channel in list(self.active_channels.values()):
                if channel.requests or channel.last_activity >= cutoff:
                    continue
                if channel.request is not None:  # (or closes it, when only blank lines came)
                    channel.refuse_incomplete(
                        f"the request did not arrive within {self.adj.channel_timeout} s"
                    )
                else:
                    channel.will_close = True
            self._make_room()

        def readable(self) -> bool:
            # Make room before waitress reaches the limit and stops accepting.
            if self.accepting:
                self._make_room()
            return bool(super().readable())

        def _make_room(self) -> None:
            """Near the connection limit, close the longest-idle keep-alive connections.

            waitress stops accepting at ``connection_limit``; connections kept open after their
            answer (one per boto3 client a notebook keeps, one per warm environment) could fill
            it and leave the next caller hanging until they time out. A server may close an
            idle persistent connection at any time (RFC 9112 section 9.5); the client
            reconnects on its next call. A connection whose request is still arriving or
            being answered is not idle and stays."""
            headroom = max(1, self.adj.connection_limit // 10)
            if len(self._map) < self.adj.connection_limit - headroom:
                return
            excess = len(self._map) - (self.adj.connection_limit - 2 * headroom)
            idle = sorted(
                (
                    channel
                    for channel in self.active_channels.values()
                    if not channel.requests and channel.request is None and not channel.will_close
                    and not channel.total_outbufs_len
                ),
                key=lambda channel: channel.last_activity,
            )
            for channel in idle[:excess]:
                channel.will_close = True

    return StrictParser, StrictChannel, EndpointWSGIServer


class WaitressEndpointServer:
    """waitress serving ``app`` on ``host:port``, with socketserver's four members."""

    def __init__(self, host: str, port: int, app: WsgiApp, *, socket_timeout: float) -> None:
        from waitress.adjustments import Adjustments

        _parser, _channel, server_class = _waitress_classes()
        adjustments = Adjustments(
            host=host,
            port=port,
            ipv6=False,  # "localhost" is 127.0.0.1, as with werkzeug
            backlog=LISTEN_BACKLOG,
            connection_limit=WAITRESS_CONNECTION_LIMIT,
            channel_timeout=int(socket_timeout),
            cleanup_interval=1,  # how often idle and stalled connections are looked for
            asyncore_use_poll=True,  # select() stops at file descriptor 1024
            clear_untrusted_proxy_headers=False,  # pass every header on, as werkzeug does
            ident="",  # no Server header (werkzeug's said "Werkzeug"; AWS names neither)
        )
        self._map: dict[int, Any] = {}
        self._dispatcher = _ElasticDispatcher(
            WAITRESS_MIN_THREADS, WAITRESS_CONNECTION_LIMIT, WAITRESS_SPARE_THREAD_IDLE_S
        )
        self._stop = threading.Event()
        self._loop_done = threading.Event()
        self._loop_done.set()
        try:
            self._server = server_class(app, map=self._map, dispatcher=self._dispatcher, adj=adjustments)
        except BaseException:
            self._close_map()
            self._dispatcher.shutdown()
            raise

    @property
    def server_port(self) -> int:
        return int(self._server.effective_port)

    @property
    def server_address(self) -> tuple[str, int]:
        return str(self._server.effective_host), self.server_port

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        from waitress import wasyncore

        self._loop_done.clear()
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=poll_interval, map=self._map, use_poll=True, count=1)
        finally:
            self._loop_done.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._server.pull_trigger()  # wakes the loop at once
        self._loop_done.wait(5)

    def server_close(self) -> None:
        self._stop.set()
        if not self._loop_done.wait(5):
            log.warning("the endpoint's waitress loop did not stop; closing its sockets anyway")
        self._close_map()
        self._dispatcher.shutdown()

    def _close_map(self) -> None:
        for dispatcher in list(self._map.values()):
            try:
                dispatcher.close()
            except OSError:
                pass


class _ElasticDispatcher:
    """waitress' task dispatcher, made unable to starve: a thread for every running request.

    waitress runs requests on a fixed pool (4 threads by default). The endpoint cannot live with
    that: a direct ``lambda.invoke`` holds its thread while the function runs, and the function
    calls DynamoDB back on the *same* endpoint. Four concurrent invokes would hold all four
    threads, their functions' DynamoDB calls would queue behind them, and everything would wait
    for the function timeout. No fixed size is safe: the runtime allows 10 environments *per
    function* (``runtime.MAX_ENVIRONMENTS_PER_FUNCTION``) with no limit across functions, and an
    invoke waiting for a free environment holds its thread too.

    So the pool grows: whenever a request arrives and no thread is idle, one more thread starts
    (werkzeug's thread-per-connection, without its cost for idle keep-alive connections, which
    waitress watches from one thread). It never needs more threads than open connections, which
    ``WAITRESS_CONNECTION_LIMIT`` bounds. ``floor`` threads stay; the rest end after
    ``idle_s`` without work.
    """

    def __init__(self, floor: int, ceiling: int, idle_s: float) -> None:
        self.floor, self.ceiling, self.idle_s = floor, ceiling, idle_s
        self._cv = threading.Condition()
        self._queue: deque[Any] = deque()
        self._threads = 0
        self._idle = 0
        self._closing = False
        self._started = 0
        with self._cv:
            for _ in range(floor):
                self._start_thread(permanent=True)

    @property
    def thread_count(self) -> int:
        with self._cv:
            return self._threads

    def _start_thread(self, *, permanent: bool) -> None:
        self._threads += 1
        self._started += 1
        threading.Thread(
            target=self._work, args=(permanent,), name=f"endpoint-{self._started}", daemon=True
        ).start()

    def add_task(self, task: Any) -> None:
        with self._cv:
            if self._closing:
                task.cancel()
                return
            self._queue.append(task)
            if len(self._queue) > self._idle and self._threads < self.ceiling:
                self._start_thread(permanent=False)
            else:
                self._cv.notify()

    def _work(self, permanent: bool) -> None:
        while True:
            with self._cv:
                self._idle += 1
                while not self._queue and not self._closing:
                    woken = self._cv.wait(None if permanent else self.idle_s)
                    if not woken and not self._queue and not permanent:
                        self._idle -= 1
                        self._threads -= 1
                        return
                self._idle -= 1
                if self._closing:
                    self._threads -= 1
                    self._cv.notify_all()
                    return
                task = self._queue.popleft()
            try:
                task.service()
            except BaseException:  # noqa: BLE001 - one request's failure must not end the thread
                log.exception("the endpoint failed to serve a request")

    def shutdown(self, cancel_pending: bool = True, timeout: float = 0.5) -> bool:
        """Tell every thread to end; idle ones do at once. Busy ones (a running invoke) are
        daemon threads and are not waited for beyond ``timeout``."""
        with self._cv:
            self._closing = True
            pending, self._queue = list(self._queue), deque()
            self._cv.notify_all()
            deadline = time.monotonic() + timeout
            while self._idle and time.monotonic() < deadline:
                self._cv.wait(0.05)
        for task in pending if cancel_pending else ():
            task.cancel()
        return True
