"""Lambda's log output, written straight into moto's CloudWatch Logs backend.

On AWS every execution environment writes to its own stream in the group
``/aws/lambda/<function name>``, which Lambda creates on first use. The stream is named
``YYYY/MM/DD/[<version>]<32 hex digits>``. Each invocation is framed by the platform's lines::

    START RequestId: <id> Version: $LATEST
    ... whatever the function printed or logged ...
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t...

The local cloud runs in the same process as moto, so it appends events to moto's model objects
directly; ``boto3.client("logs").filter_log_events(...)`` then reads them like any other log.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from workshop.localcloud.snapshots.guard import GUARD

# moto's LogStream.put_log_events is not thread-safe ("to be thread safe this would need a
# lock"); every writer of the local cloud goes through this one. Re-entrant because a
# subscription filter can make moto invoke a function from inside put_log_events.
_LOGS_LOCK = threading.RLock()


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_timestamp(epoch_ms: int | None = None) -> str:
    """``2026-11-24T10:00:00.123Z``, the timestamp format of Lambda's own log lines."""
    moment = datetime.fromtimestamp((now_ms() if epoch_ms is None else epoch_ms) / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_stream_name(version: str) -> str:
    today = datetime.now(tz=timezone.utc)
    return f"{today:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


@dataclass(frozen=True)
class ReportLine:
    """The numbers of a REPORT line."""

    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str | None = None  # "timeout" or "error" when the invocation did not complete

    def render(self) -> str:
        # AWS bills Lambda per millisecond, rounded up.
        billed = max(1, math.ceil(self.duration_ms))
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            parts.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.status:
            parts.append(f"Status: {self.status}")
        return "\t".join(parts)


class LambdaLogStream:
    """One execution environment's stream in ``/aws/lambda/<name>``, in moto's logs backend."""

    def __init__(self, logs_backend: Any, group_name: str, version: str = "$LATEST") -> None:
        self._backend = logs_backend
        self.group_name = group_name
        self.stream_name = new_stream_name(version)

    def write(self, events: list[tuple[int, str]]) -> None:
        """Append ``(epoch ms, message)`` events, re-creating group and stream if someone
        deleted them (Lambda does the same on its next write)."""
        if not events:
            return
        records = [{"timestamp": stamp, "message": message} for stamp, message in events]
        with GUARD.changing(), _LOGS_LOCK:  # a snapshot never sees half a write
            self._backend.ensure_log_group(self.group_name)
            self._backend.ensure_log_stream(self.group_name, self.stream_name)
            self._backend.put_log_events(self.group_name, self.stream_name, records)

    @staticmethod
    def start_line(request_id: str, version: str) -> str:
        return f"START RequestId: {request_id} Version: {version}"

    @staticmethod
    def end_line(request_id: str) -> str:
        return f"END RequestId: {request_id}"

    @staticmethod
    def timeout_line(request_id: str, timeout_s: float, epoch_ms: int | None = None) -> str:
        return f"{iso_timestamp(epoch_ms)} {request_id} Task timed out after {timeout_s:.2f} seconds"
