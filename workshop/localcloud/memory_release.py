"""Give the memory of large requests back soon after they are answered.

Why: a request with a large body (a Lambda code package of tens of MB, a 6 MB invoke payload)
leaves several large copies of it behind (the base64 text, the parsed JSON, the decoded bytes,
moto's own copies), and some of them stay reachable from reference cycles (exceptions and
frames, moto's response objects) until Python's cyclic garbage collector runs a full
collection. That collector is paced by the *number* of allocations, not their size, so a
handful of huge requests never triggers it: measured on 2026-11-30, creating and deleting three
functions with 30 MB packages, four times, left the local cloud at ~750 MB resident where a
collection brings it back to ~350 MB, and a detached local cloud grew past 1.1 GB. On a
learner's laptop that memory belongs to JupyterLab and the browser.

So the HTTP fronts call :func:`note_request` with a request's body size; after a large one
(at least :data:`LARGE_BODY_BYTES`), a single background thread waits for
:data:`QUIET_S` without further large requests, then runs one full collection and, on glibc,
``malloc_trim(0)`` so that freed memory returns to the operating system. Small requests (every
ordinary lab call) cost one comparison.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: A body at least this large schedules a collection (1 MiB: far above any lab's API call).
LARGE_BODY_BYTES = 1024 * 1024
#: The collection runs once no large request arrived for this long (a burst costs one).
QUIET_S = 0.5


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or None where there is no glibc (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


class MemoryReleaser:
    """Runs ``collect`` once, :data:`QUIET_S` after the last large request of a burst.

    ``collect`` defaults to a full garbage collection followed by ``malloc_trim``; tests pass
    their own. ``collections`` counts the runs (read by tests and the benchmark).
    """

    def __init__(
        self, collect: Callable[[], object] | None = None, *, quiet_s: float = QUIET_S
    ) -> None:
        self._collect = collect or self._collect_and_trim
        self._quiet_s = quiet_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._last_large = 0.0
        self._thread: threading.Thread | None = None
        self._trim = _malloc_trim()
        self.collections = 0

    def note_request(self, body_bytes: int) -> None:
        """Called by an HTTP front with the size of a request's (or response's) body in bytes."""
        if body_bytes < LARGE_BODY_BYTES:
            return
        with self._lock:
            self._last_large = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="memory-release", daemon=True
                )
                self._thread.start()
            self._wake.set()

    def _run(self) -> None:
        while True:
            if not self._wake.wait(timeout=60):
                with self._lock:  # nothing for a minute: end; the next large request restarts
                    if not self._wake.is_set():
                        self._thread = None
                        return
                continue
            while True:  # wait until the burst is over
                with self._lock:
                    left = self._last_large + self._quiet_s - time.monotonic()
                    if left <= 0:
                        self._wake.clear()
                        break
                time.sleep(left)
            started = time.perf_counter()
            try:
                self._collect()
            except Exception:  # noqa: BLE001 - releasing memory must never stop the server
                log.exception("releasing memory after a large request failed")
            self.collections += 1
            log.debug("memory released in %.0f ms", (time.perf_counter() - started) * 1000)

    def _collect_and_trim(self) -> None:
        gc.collect()
        if self._trim is not None:
            self._trim()


#: The local cloud's one releaser, shared by the AWS endpoint and the gateway.
RELEASER = MemoryReleaser()


def note_request(body_bytes: int) -> None:
    """See :meth:`MemoryReleaser.note_request`."""
    RELEASER.note_request(body_bytes)
