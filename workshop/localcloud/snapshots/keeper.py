"""The snapshot keeper: restores the last snapshot at start, then keeps the file up to date.

- At start (before the ports listen), :meth:`SnapshotKeeper.restore` loads ``snapshot.pickle``
  from the state folder, or sets it aside with one line saying why (never deletes it).
- While serving, a background thread writes a snapshot after changes, at most every
  ``WORKSHOP_SNAPSHOT_INTERVAL`` seconds (default 2): a crash or ``kill -9`` loses at most the
  changes of the last interval.
- On ``down`` (SIGTERM), :meth:`SnapshotKeeper.close` writes the last changes.

Each snapshot pauses changing requests only while moto's backends are pickled into memory (see
:mod:`.guard`); the file is written atomically afterwards (:func:`.fileformat.write_atomic`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workshop.localcloud.snapshots import codec, fileformat
from workshop.localcloud.snapshots.guard import GUARD, StateGuard, set_control_app
from workshop.localcloud.snapshots.wording import describe_age, describe_summary

#: How the start's notice begins when the saved state was restored (read by workshop.target).
RESTORED_NOTICE_PREFIX = "Restored your local cloud's saved state"

log = logging.getLogger("workshop.localcloud.snapshots")

INTERVAL_ENV = "WORKSHOP_SNAPSHOT_INTERVAL"
DEFAULT_INTERVAL_S = 2.0
#: On ``down`` the last snapshot may wait this long for changing requests to finish.
FINAL_PATIENCE_S = 2.0


def interval_from_environment() -> float:
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.05 <= value <= 3600:
        log.warning(
            "%s=%r is not a number of seconds (0.05-3600); using %s",
            INTERVAL_ENV,
            raw,
            DEFAULT_INTERVAL_S,
        )
        return DEFAULT_INTERVAL_S
    return value


@dataclass
class SnapshotStats:
    """What the benchmark and ``/_localcloud/snapshot`` report."""

    snapshots: int = 0
    deferred: int = 0  # gave way to changing requests that did not drain in time
    failures: int = 0
    last_at: float = 0.0
    last_size_bytes: int = 0
    last_pause_ms: float = 0.0  # changing requests held while pickling
    max_pause_ms: float = 0.0
    last_pickle_ms: float = 0.0
    last_write_ms: float = 0.0
    max_request_wait_ms: float = 0.0  # the longest a changing request waited for a snapshot
    guarded_requests: int = 0
    interval_s: float = DEFAULT_INTERVAL_S
    skipped_services: list[str] | None = None


class SnapshotKeeper:
    """Owns ``snapshot.pickle`` in one state folder for the life of one local-cloud process."""

    def __init__(
        self, state_dir: Path, *, interval_s: float | None = None, guard: StateGuard = GUARD
    ) -> None:
        self.state_dir = Path(state_dir)
        self.path = fileformat.snapshot_path(self.state_dir)
        self.interval_s = interval_from_environment() if interval_s is None else interval_s
        self.guard = guard
        self.ports: tuple[int | None, int | None] = (None, None)
        self.previous_ports: tuple[int | None, int | None] = (None, None)
        self.enabled = True
        self.notice: list[str] = []  # what restore() said, for whoever started the cloud
        self.stats = SnapshotStats(interval_s=self.interval_s)
        self._skipped: dict[codec.BackendKey, str] = {}
        self._moto_version = codec.moto_version()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._last_snapshot = 0.0  # monotonic
        self._failures_in_a_row = 0
        self._last_failure = ""

    # -- restore ------------------------------------------------------------------------------------

    def restore(self) -> list[str]:
        """Install the last snapshot's backends; the lines to show whoever started the cloud."""
        fileformat.remove_leftover_temporaries(self.state_dir)
        try:
            fileformat.check_folder_trusted(self.state_dir)
        except (fileformat.UntrustedFolder, OSError) as error:
            self.enabled = False
            return [f"Snapshots are off: {error}, so your work will not be kept after `down`."]
        if not self.path.exists() and not self.path.is_symlink():
            return []
        try:
            header, payload = fileformat.read_verified(self.path)
            self._check_versions(header)
            state = codec.loads(payload)
        except fileformat.UntrustedFolder as error:
            self.enabled = False
            return [f"Started empty and snapshots are off: {error}."]
        except FileNotFoundError:
            return []
        except fileformat.SnapshotError as error:
            return [self._set_aside(error.reason, str(error))]
        except Exception as error:  # noqa: BLE001 - unpickling can fail in any way
            log.warning("cannot load the snapshot %s", self.path, exc_info=True)
            return [
                self._set_aside("broken", f"it cannot be loaded ({type(error).__name__}: {error})")
            ]
        codec.install(state)
        self.previous_ports = (header.endpoint_port, header.gateway_port)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(header.created_at))
        age = describe_age(max(0.0, time.time() - header.created_at))
        return [
            f"{RESTORED_NOTICE_PREFIX} ({when}, {age}): "
            f"{describe_summary(header.summary)}."
        ]

    def _check_versions(self, header: fileformat.Header) -> None:
        if header.format != fileformat.FORMAT_VERSION:
            raise fileformat.IncompatibleSnapshot(
                f"it has format {header.format}, this local cloud reads format {fileformat.FORMAT_VERSION}"
            )
        if header.moto != self._moto_version:
            raise fileformat.IncompatibleSnapshot(
                f"it was made with moto {header.moto}, this local cloud runs moto {self._moto_version}"
            )

    def _set_aside(self, reason: str, why: str) -> str:
        kept = fileformat.set_aside(self.path, reason)
        where = f"it was kept as {kept}" if kept else f"it was left unread at {self.path}"
        line = f"Started empty, because the saved snapshot cannot be restored: {why}; {where}."
        log.warning("%s", line)
        return line

    def port_notice(self) -> list[str]:
        """Say so when the ports (and with them every saved URL) differ from the snapshot's."""
        lines = []
        for what, before, now in (
            ("AWS endpoint", self.previous_ports[0], self.ports[0]),
            ("API gateway", self.previous_ports[1], self.ports[1]),
        ):
            if before is not None and now is not None and before != now:
                lines.append(
                    f"The {what} listened on port {before} when your work was saved and listens "
                    f"on {now} now (port {before} is taken or another port was asked for): URLs "
                    "saved earlier (Postman environment, browser page, notes) need the new port."
                )
        return lines

    # -- snapshots ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Take snapshots in the background after changes (and serve ``/_localcloud/snapshot``)."""
        set_control_app(self.control_app)
        if not self.enabled:
            return
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.guard.changed.wait(timeout=1.0)
            if self._stop.is_set():
                return
            if not self.guard.dirty:
                continue
            due = self._last_snapshot + self.interval_s - time.monotonic()
            if due > 0 and self._stop.wait(due):
                return
            try:
                taken = self.snapshot()
            except Exception as error:  # noqa: BLE001 - keep serving; try again, less often
                self._failed(error)
                continue
            self._failures_in_a_row = 0
            if not taken:
                self._stop.wait(0.1)

    def _failed(self, error: Exception) -> None:
        """A full disk or a read-only folder: say it once (and again if it changes), then retry
        with growing pauses (up to a minute) instead of filling the log."""
        self.stats.failures += 1
        self._failures_in_a_row += 1
        message = f"{type(error).__name__}: {error}"
        if message != self._last_failure:
            log.error(
                "cannot write the snapshot %s (%s); your latest changes are not saved yet",
                self.path,
                message,
            )
            self._last_failure = message
        self.guard.mark_dirty()
        backoff = min(60.0, self.interval_s * 2 ** min(self._failures_in_a_row, 10))
        self._last_snapshot = time.monotonic() - self.interval_s + backoff

    def snapshot(self, patience_s: float | None = None) -> bool:
        """Take one snapshot now; False when changing requests kept it waiting (try later)."""
        if not self.enabled:
            return False
        with self._write_lock:
            started = time.perf_counter()
            with self.guard.exclusive(patience_s) as acquired:
                if not acquired:
                    self.stats.deferred += 1
                    return False
                try:
                    payload, summary = self._pickle()
                except RuntimeError as error:
                    self.guard.mark_dirty()
                    if "changed size during iteration" not in str(error):
                        raise
                    # A read request made moto create a backend lazily meanwhile: try again.
                    self.stats.deferred += 1
                    return False
                except BaseException:
                    self.guard.mark_dirty()
                    raise
                paused = time.perf_counter() - started
            header = fileformat.payload_header(
                payload,
                moto_version=self._moto_version,
                endpoint_port=self.ports[0],
                gateway_port=self.ports[1],
                summary=summary,
                skipped=sorted(f"{module}.{name}" for module, name in self._skipped),
            )
            write_started = time.perf_counter()
            try:
                fileformat.write_atomic(self.path, header, payload)
            except BaseException:
                self.guard.mark_dirty()
                raise
            self._last_snapshot = time.monotonic()
            self._record(payload, paused, time.perf_counter() - write_started)
        return True

    def _pickle(self) -> tuple[bytes, dict[str, int]]:
        pickling = time.perf_counter()
        state = codec.current_state()
        for key in self._skipped:
            state.pop(key, None)
        try:
            payload = codec.dumps(state)
        except Exception:  # noqa: BLE001 - find the service at fault, keep the others
            failures = codec.unpicklable(state)
            if not failures:
                raise
            for key, reason in failures.items():
                log.warning(
                    "%s.%s cannot be pickled, it is not kept in snapshots: %s", *key, reason
                )
                self._skipped[key] = reason
                state.pop(key, None)
            payload = codec.dumps(state)
        self.stats.last_pickle_ms = (time.perf_counter() - pickling) * 1000
        return payload, codec.summary(state)

    def _record(self, payload: bytes, paused_s: float, write_s: float) -> None:
        stats = self.stats
        stats.snapshots += 1
        stats.last_at = time.time()
        stats.last_size_bytes = len(payload)
        stats.last_pause_ms = paused_s * 1000
        stats.max_pause_ms = max(stats.max_pause_ms, stats.last_pause_ms)
        stats.last_write_ms = write_s * 1000
        stats.skipped_services = (
            sorted(f"{module}.{name}" for module, name in self._skipped) or None
        )

    def close(self) -> None:
        """Stop the background thread and write the last changes (``down``)."""
        self._stop.set()
        self.guard.changed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        set_control_app(None)
        if self.enabled and self.guard.dirty:
            try:
                if not self.snapshot(patience_s=FINAL_PATIENCE_S):
                    log.warning("the last snapshot gave way to requests still running")
            except Exception:  # noqa: BLE001 - stopping must go on
                log.exception("writing the last snapshot failed")

    # -- /_localcloud/snapshot ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        self.stats.max_request_wait_ms = self.guard.max_wait_s * 1000
        self.stats.guarded_requests = self.guard.guarded_requests
        document = asdict(self.stats)
        document.update(
            enabled=self.enabled,
            path=str(self.path),
            dirty=self.guard.dirty,
        )
        return document

    def control_app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """GET: statistics. POST: take a snapshot now (waiting up to 2 s for changing requests)."""
        status = "200 OK"
        if environ.get("REQUEST_METHOD") == "POST":
            try:
                if not self.snapshot(patience_s=FINAL_PATIENCE_S):
                    status = "409 Conflict"
            except Exception as error:  # noqa: BLE001 - reported to the caller
                log.exception("snapshot on request failed")
                body = json.dumps({"message": f"snapshot failed: {error}"}).encode()
                start_response("500 Internal Server Error", [("Content-Type", "application/json")])
                return [body]
        body = json.dumps(self.describe()).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
