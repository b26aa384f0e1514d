"""The snapshot file: where it lives, how it is written, and what is checked before it is read.

A snapshot is one file, ``snapshot.pickle`` in the state folder::

    WORKSHOP-LOCALCLOUD-SNAPSHOT\\n
    {"format": 1, "moto": "5.2.5", "created_at": ..., "payload_sha256": ..., ...}\\n
    <pickle of moto's backends>

The header is JSON, so ``status``, the port memory and the version check read it without
unpickling anything (loading a pickle runs code: that happens only after every check passed).

Only the standard library is imported here: :mod:`workshop.localcloud.lifecycle` (imported at the
top of every notebook) reads the remembered ports through this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SNAPSHOT_FILE_NAME = "snapshot.pickle"
NOTICE_FILE_NAME = "snapshot-notice.txt"
MAGIC = b"WORKSHOP-LOCALCLOUD-SNAPSHOT\n"
#: Raised whenever the payload's layout changes; a snapshot of another format is set aside.
FORMAT_VERSION = 1
#: A header is a few hundred bytes; more means the file is not a snapshot.
MAX_HEADER_BYTES = 64 * 1024


class SnapshotError(Exception):
    """A snapshot that must not be restored. ``reason`` names the kind, for the set-aside name."""

    reason = "broken"


class BrokenSnapshot(SnapshotError):
    """Truncated, corrupt or not a snapshot at all."""

    reason = "broken"


class IncompatibleSnapshot(SnapshotError):
    """Written by another moto version or another snapshot format."""

    reason = "incompatible"


class UntrustedSnapshot(SnapshotError):
    """Not provably the learner's own file (owner, permissions, file type)."""

    reason = "refused"


class UntrustedFolder(UntrustedSnapshot):
    """The state folder itself is not the learner's own: snapshots are neither read nor written."""


@dataclass(frozen=True)
class Header:
    """What a snapshot says about itself (JSON, readable without unpickling)."""

    format: int
    moto: str
    created_at: float
    payload_bytes: int
    payload_sha256: str
    endpoint_port: int | None = None
    gateway_port: int | None = None
    python: str = ""
    summary: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Header:
        try:
            document = json.loads(raw)
            return cls(
                format=int(document["format"]),
                moto=str(document["moto"]),
                created_at=float(document["created_at"]),
                payload_bytes=int(document["payload_bytes"]),
                payload_sha256=str(document["payload_sha256"]),
                endpoint_port=_port_or_none(document.get("endpoint_port")),
                gateway_port=_port_or_none(document.get("gateway_port")),
                python=str(document.get("python", "")),
                summary={str(k): int(v) for k, v in dict(document.get("summary") or {}).items()},
                skipped=[str(name) for name in document.get("skipped") or []],
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise BrokenSnapshot(f"its header cannot be read ({error})") from None


def _port_or_none(value: Any) -> int | None:
    if value is None:
        return None
    port = int(value)
    if not 0 < port <= 65535:
        raise ValueError(f"{value!r} is not a port")
    return port


def snapshot_path(state_dir: Path) -> Path:
    return Path(state_dir) / SNAPSHOT_FILE_NAME


# -- writing --------------------------------------------------------------------------------------


def write_atomic(path: Path, header: Header, payload: bytes) -> None:
    """Write the snapshot so that ``path`` is always either the old file or the new one, whole.

    A temporary file in the same folder (so the rename never crosses file systems) is written,
    flushed to disk (``fsync``: a power cut after the rename must not leave an empty file), then
    renamed over the old one (``os.replace`` is atomic on POSIX and Windows); the folder is synced
    so the rename itself survives a crash. ``mkstemp`` creates the file readable by its owner only.
    """
    folder = path.parent
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(MAGIC)
            stream.write(header.to_json() + b"\n")
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - Windows cannot open a folder
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def remove_leftover_temporaries(folder: Path) -> None:
    """A process killed while writing leaves its temporary file: it is never read, only removed."""
    for leftover in Path(folder).glob(f".{SNAPSHOT_FILE_NAME}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


# -- reading --------------------------------------------------------------------------------------


def check_trusted(path: Path) -> None:
    """Refuse a snapshot that is not provably the learner's own (loading a pickle runs code).

    The folder must belong to the user and not be writable by others; the file must be a regular
    file (not a symbolic link), belong to the user and be writable by nobody else. The local cloud
    writes it with mode 0600, so anything looser means someone else changed it.
    """
    if os.name != "posix":  # pragma: no cover - no owner ids to compare on Windows
        return
    uid = os.getuid()
    folder = path.parent
    try:
        folder_stat = os.stat(folder)
    except OSError as error:
        raise UntrustedFolder(f"its folder {folder} cannot be examined ({error})") from None
    if folder_stat.st_uid != uid:
        raise UntrustedFolder(f"the folder {folder} belongs to another user")
    if folder_stat.st_mode & stat.S_IWOTH:
        raise UntrustedFolder(f"anyone can write to the folder {folder}")
    file_stat = os.lstat(path)
    if not stat.S_ISREG(file_stat.st_mode):
        raise UntrustedSnapshot("it is not a regular file (a link or a device)")
    if file_stat.st_uid != uid:
        raise UntrustedSnapshot("it belongs to another user")
    if file_stat.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedSnapshot("other users can write to it")


def check_folder_trusted(folder: Path) -> None:
    """The same checks for the folder alone: where snapshots will be written."""
    if os.name != "posix":  # pragma: no cover
        return
    folder_stat = os.stat(folder)
    if folder_stat.st_uid != os.getuid():
        raise UntrustedFolder(f"the folder {folder} belongs to another user")
    if folder_stat.st_mode & stat.S_IWOTH:
        raise UntrustedFolder(f"anyone can write to the folder {folder}")


def read_header(path: Path) -> Header:
    """The header alone (no unpickling). Raises FileNotFoundError or BrokenSnapshot."""
    with open(path, "rb") as stream:
        return _read_header(stream)


def _read_header(stream: Any) -> Header:
    if stream.read(len(MAGIC)) != MAGIC:
        raise BrokenSnapshot("it is not a local-cloud snapshot (unknown first line)")
    line = stream.readline(MAX_HEADER_BYTES)
    if not line.endswith(b"\n"):
        raise BrokenSnapshot("its header is cut short or too long")
    return Header.from_json(line)


def read_verified(path: Path) -> tuple[Header, bytes]:
    """Header and payload of a snapshot that passed the ownership and integrity checks.

    The payload's length and SHA-256 must match the header: a file cut short by a full disk or
    changed by hand is reported, never half-restored. Versions are the caller's to compare.
    """
    check_trusted(path)
    with open(path, "rb") as stream:
        header = _read_header(stream)
        payload = stream.read()
    if len(payload) != header.payload_bytes:
        raise BrokenSnapshot(
            f"it is cut short ({len(payload)} of {header.payload_bytes} bytes of data)"
        )
    if hashlib.sha256(payload).hexdigest() != header.payload_sha256:
        raise BrokenSnapshot("its data does not match its checksum (changed or damaged)")
    return header, payload


def payload_header(
    payload: bytes,
    *,
    moto_version: str,
    endpoint_port: int | None,
    gateway_port: int | None,
    summary: dict[str, int] | None = None,
    skipped: list[str] | None = None,
) -> Header:
    import platform

    return Header(
        format=FORMAT_VERSION,
        moto=moto_version,
        created_at=time.time(),
        payload_bytes=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        endpoint_port=endpoint_port,
        gateway_port=gateway_port,
        python=platform.python_version(),
        summary=dict(summary or {}),
        skipped=list(skipped or []),
    )


# -- setting aside ----------------------------------------------------------------------------------


def set_aside(path: Path, reason: str) -> Path | None:
    """Rename ``path`` to ``<name>.<reason>-<UTC time>`` beside it (never delete a learner's work).

    Returns the new path, or None when it could not be renamed (it then stays, unread).
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.{reason}-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.{reason}-{stamp}-{counter}")
    try:
        os.replace(path, target)
    except OSError:
        return None
    return target


def set_aside_files(state_dir: Path) -> list[Path]:
    """Snapshots set aside earlier (broken, incompatible, refused, or before a fresh start)."""
    return sorted(Path(state_dir).glob(f"{SNAPSHOT_FILE_NAME}.*-*"))


# -- what status and lifecycle read ---------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotFileInfo:
    path: Path
    size_bytes: int
    created_at: float
    moto: str
    summary: dict[str, int]

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.created_at)


def file_info(state_dir: Path) -> SnapshotFileInfo | None:
    """Size, age and content summary of the current snapshot, from its header; None if none."""
    path = snapshot_path(state_dir)
    try:
        size = path.stat().st_size
        header = read_header(path)
    except FileNotFoundError:
        return None
    except (OSError, SnapshotError):
        return SnapshotFileInfo(path, _size_or_zero(path), 0.0, "?", {})
    return SnapshotFileInfo(path, size, header.created_at, header.moto, header.summary)


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def remembered_ports(state_dir: Path) -> tuple[int | None, int | None]:
    """The ports the local cloud had when it wrote its snapshot: (endpoint, gateway).

    A restored REST API keeps its id, so its URL stays the same only if the gateway gets its old
    port back. No snapshot (or an unreadable one): (None, None).
    """
    try:
        header = read_header(snapshot_path(state_dir))
    except (OSError, SnapshotError):
        return None, None
    return header.endpoint_port, header.gateway_port


# -- the one-time notice for whoever started the local cloud ----------------------------------------


def write_notice(state_dir: Path, lines: list[str]) -> None:
    """Leave what the start did with the snapshot for ``up``, ``make lab`` or ``connect()``."""
    path = Path(state_dir) / NOTICE_FILE_NAME
    if not lines:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def take_notice(state_dir: Path) -> list[str]:
    """The start's notice, once: the first reader gets it (renamed away atomically, so two
    notebooks opened together do not both print it)."""
    path = Path(state_dir) / NOTICE_FILE_NAME
    claimed = path.with_name(f"{NOTICE_FILE_NAME}.{os.getpid()}.taken")
    try:
        os.replace(path, claimed)
    except OSError:
        return []
    try:
        return [line for line in claimed.read_text(encoding="utf-8").splitlines() if line]
    except OSError:
        return []
    finally:
        with contextlib.suppress(OSError):
            claimed.unlink()
