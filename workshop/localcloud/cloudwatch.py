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

Memory stays bounded, whatever a function prints: one event holds at most 256 KB
(:func:`cap_log_event`; CloudWatch Logs' own event size quota, "Event size: 256 KB (maximum)",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html), and a log
group keeps at most ``LOG_GROUP_MEMORY_BYTES`` of events in memory; beyond that its oldest
events are dropped (:func:`trim_log_group`). AWS keeps them all, for as long as the group's
retention says: a local-versus-AWS difference that only a function logging megabytes notices.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from workshop.localcloud.snapshots.guard import GUARD

# moto's LogStream.put_log_events is not thread-safe ("to be thread safe this would need a
# lock"); every writer of the local cloud goes through this one. Re-entrant because a
# subscription filter can make moto invoke a function from inside put_log_events.
_LOGS_LOCK = threading.RLock()


#: CloudWatch Logs counts an event as its UTF-8 message plus 26 bytes, and Lambda's log
#: events stay within 256 KB: a longer line arrives as consecutive events of at most
#: 262,144 - 26 = 262,118 bytes (observed on AWS: a long line split at 2**18 - 26,
#: https://stackoverflow.com/questions/77175643).
MAX_LAMBDA_LOG_EVENT_BYTES = 256 * 1024 - 26


def split_log_message(message: str, limit: int = MAX_LAMBDA_LOG_EVENT_BYTES) -> list[str]:
    """``message`` as the log events Lambda writes for it: pieces of at most ``limit`` UTF-8
    bytes, cut between characters, in order."""
    data = message.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return [message]
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a character
            end -= 1
        pieces.append(data[start:end].decode("utf-8", "surrogatepass"))
        start = end
    return pieces
#: CloudWatch Logs' maximum event size (the message's UTF-8 bytes).
MAX_EVENT_BYTES = 256 * 1024
#: What a log group may hold in the local cloud's memory (``WORKSHOP_LOG_GROUP_MEMORY_MB``).
LOG_GROUP_MEMORY_BYTES = int(float(os.environ.get("WORKSHOP_LOG_GROUP_MEMORY_MB") or 8) * 1024 * 1024)
#: The memory one stored event costs beyond its message (moto's LogEvent object and its dict).
EVENT_OVERHEAD_BYTES = 500
#: A trimmed group is brought down to this share of its budget, so trimming is not per write.
TRIM_TO_FRACTION = 0.75

# Bytes (estimated) each log group holds; keyed by the moto LogGroup object's id.
_group_usage: dict[int, int] = {}


def cap_log_event(message: str) -> str:
    """``message`` cut to CloudWatch's 256 KB event size (UTF-8 bytes, whole characters).

    The memory bound of the local cloud: a function printing a 50 MB line must not keep 50 MB.
    """
    if len(message) * 4 <= MAX_EVENT_BYTES:  # cannot be too long: skip the encoding
        return message
    encoded = message.encode("utf-8")
    if len(encoded) <= MAX_EVENT_BYTES:
        return message
    return encoded[:MAX_EVENT_BYTES].decode("utf-8", "ignore")


def event_cost(message: str) -> int:
    """The memory one stored event is counted for."""
    return len(message) + EVENT_OVERHEAD_BYTES


def trim_log_group(group: Any, budget: int = LOG_GROUP_MEMORY_BYTES) -> int:
    """Drop the oldest events of moto's ``group`` (across its streams) until it holds at most
    ``TRIM_TO_FRACTION`` of ``budget``; returns how many events were dropped."""
    streams = [stream for stream in group.streams.values() if stream.events]
    usage = sum(event_cost(e.message) for stream in streams for e in stream.events)
    target = int(budget * TRIM_TO_FRACTION)
    dropped = 0
    cut = {id(stream): 0 for stream in streams}
    oldest = [(stream.events[0].timestamp, index, stream) for index, stream in enumerate(streams)]
    heapq.heapify(oldest)
    while usage > target and oldest:
        _, index, stream = heapq.heappop(oldest)
        position = cut[id(stream)]
        usage -= event_cost(stream.events[position].message)
        cut[id(stream)] = position + 1
        dropped += 1
        if position + 1 < len(stream.events):
            heapq.heappush(oldest, (stream.events[position + 1].timestamp, index, stream))
    for stream in streams:
        removed = stream.events[: cut[id(stream)]]
        if removed:
            stream.stored_bytes = max(0, stream.stored_bytes - sum(len(e.message) for e in removed))
            del stream.events[: cut[id(stream)]]
    _group_usage[id(group)] = usage
    return dropped


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

    def __init__(
        self,
        logs_backend: Any,
        group_name: str,
        version: str = "$LATEST",
        *,
        may_write: Callable[[bool, str, bool], bool] | None = None,
    ) -> None:
        self._backend = logs_backend
        self.group_name = group_name
        self.stream_name = new_stream_name(version)
        # Lambda writes with the execution role's permissions: may_write(group exists, stream
        # name, stream exists) says whether the role allows this write; False drops the events.
        self._may_write = may_write

    def write(self, events: list[tuple[int, str]]) -> None:
        """Append ``(epoch ms, message)`` events, re-creating group and stream if someone
        deleted them (Lambda does the same on its next write)."""
        if not events:
            return
        records = [
            {"timestamp": stamp, "message": cap_log_event(message)} for stamp, message in events
        ]
        added = sum(event_cost(record["message"]) for record in records)
        with GUARD.changing(), _LOGS_LOCK:  # a snapshot never sees half a write
            if self._may_write is not None:
                group = self._backend.groups.get(self.group_name)
                stream_exists = group is not None and self.stream_name in group.streams
                if not self._may_write(group is not None, self.stream_name, stream_exists):
                    return
            self._backend.ensure_log_group(self.group_name)
            self._backend.ensure_log_stream(self.group_name, self.stream_name)
            self._backend.put_log_events(self.group_name, self.stream_name, records)
            group = self._backend.groups.get(self.group_name)
            if group is not None:
                usage = _group_usage.get(id(group), 0) + added
                _group_usage[id(group)] = usage
                if usage > LOG_GROUP_MEMORY_BYTES:
                    # Counted from the events themselves: the learner may have deleted some.
                    trim_log_group(group)

    @staticmethod
    def start_line(request_id: str, version: str) -> str:
        return f"START RequestId: {request_id} Version: {version}"

    @staticmethod
    def end_line(request_id: str) -> str:
        return f"END RequestId: {request_id}"

    @staticmethod
    def timeout_line(request_id: str, timeout_s: float, epoch_ms: int | None = None) -> str:
        return f"{iso_timestamp(epoch_ms)} {request_id} Task timed out after {timeout_s:.2f} seconds"
