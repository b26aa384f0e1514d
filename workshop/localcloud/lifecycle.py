"""Start, find and stop the local cloud: one detached process per state folder.

The process (``python -m workshop.localcloud``) writes ``localcloud.json`` in the state folder
(``.workshop/`` by default, ``WORKSHOP_STATE_DIR`` to move it) once both its ports listen: pid,
ports and URLs. Everything else reads that file and confirms with the process's health URL, so
a state file left behind by a crash or a reboot (a "stale" file) is noticed and removed.

Only the standard library is imported here: ``target.connect()`` calls :func:`ensure_running`
at the top of every notebook and must return at once when the local cloud already runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workshop.localcloud import config
from workshop.localcloud.snapshots.ports import preferred_ports
from workshop.paths import REPO_ROOT
from workshop.paths import state_dir as default_state_dir

#: How long ``start`` waits for the process to listen (it needs about 1.5 s).
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
HEALTH_PATH = "/_localcloud/health"
HEALTH_TIMEOUTS_S = (2.0, 5.0, 10.0)

# Processes this Python process started: waited for on stop, so they leave no zombie behind.
_children: dict[int, subprocess.Popen[bytes]] = {}


class LocalCloudError(RuntimeError):
    """The local cloud could not be started or reached; the message says what to do."""


@dataclass(frozen=True)
class LocalCloudInfo:
    """A running local cloud."""

    endpoint: str  # the value for AWS_ENDPOINT_URL
    gateway: str  # the execute-api root: {gateway}/{api_id}/{stage}/...
    pid: int
    state_dir: str
    endpoint_port: int
    gateway_port: int
    log_file: str | None = None
    started_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def invoke_url(self, api_id: str, stage: str = "prod") -> str:
        return f"{self.gateway.rstrip('/')}/{api_id}/{stage}"


def _state_dir(state_dir: str | Path | None) -> Path:
    return Path(state_dir).resolve() if state_dir else default_state_dir()


def _state_file(directory: Path) -> Path:
    return directory / config.STATE_FILE_NAME


def _read_state(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_state_file(directory).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: treated as stale


def _pid_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    if pid <= 0:
        return False
    if os.name != "posix":  # pragma: no cover - Windows: trust the health check
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _health(endpoint: str, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + HEALTH_PATH, timeout=timeout) as answer:
            return json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _info(state: dict[str, Any], directory: Path) -> LocalCloudInfo:
    return LocalCloudInfo(
        endpoint=state["endpoint"],
        gateway=state["gateway"],
        pid=int(state["pid"]),
        state_dir=str(directory),
        endpoint_port=int(state["endpoint_port"]),
        gateway_port=int(state["gateway_port"]),
        log_file=state.get("log_file"),
        started_at=float(state.get("started_at") or 0.0),
    )


def status(state_dir: str | Path | None = None) -> LocalCloudInfo | None:
    """The local cloud running for ``state_dir``, or None (a stale state file is removed)."""
    directory = _state_dir(state_dir)
    state = _read_state(directory)
    if state is None:
        return None
    try:
        pid = int(state["pid"])
        endpoint = state["endpoint"]
    except (KeyError, TypeError, ValueError):
        pid, endpoint = 0, ""
    if pid and endpoint and _pid_alive(pid):
        # A busy machine can make the health answer slow: while the pid still looks like a
        # local cloud, ask again with more patience before calling the state stale (a wrong
        # "stale" would start a second local cloud).
        for timeout in HEALTH_TIMEOUTS_S:
            health = _health(endpoint, timeout=timeout)
            if health is not None:
                # The pid must match: after a reboot another program may own the old port.
                if health.get("pid") == pid:
                    return _info(state, directory)
                break
            if _looks_like_local_cloud(pid) is False:
                break
    _remove_stale_state(directory, state)
    return None


def _looks_like_local_cloud(pid: int) -> bool | None:
    """Whether ``pid`` runs ``workshop.localcloud``; None when the system cannot tell."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return b"workshop.localcloud" in command_line


def _remove_stale_state(directory: Path, state: dict[str, Any]) -> None:
    """Delete the state file, unless a new local cloud replaced it in the meantime."""
    with contextlib.suppress(FileNotFoundError):
        if _read_state(directory) == state:
            _state_file(directory).unlink()


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Serialise start/stop between processes (two notebooks opened at once start one cloud)."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, a second start just fails to bind
        yield
        return
    with open(directory / config.LOCK_FILE_NAME, "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def ensure_running(state_dir: str | Path | None = None) -> LocalCloudInfo:
    """The running local cloud, started (detached, default ports) if none runs."""
    running = status(state_dir)
    if running is not None:
        return running
    return start(state_dir=state_dir)


def start(
    endpoint_port: int | None = None,
    gateway_port: int | None = None,
    state_dir: str | Path | None = None,
) -> LocalCloudInfo:
    """Start the local cloud as a detached process and wait until it serves.

    Ports: ``None`` means the preferred port (``WORKSHOP_ENDPOINT_PORT`` / ``WORKSHOP_GATEWAY_PORT``,
    else the ones of the saved state, else 4566 / 4567), or a free port when that one is taken;
    ``0`` means any free port; any other number must be free. If a local cloud already runs for ``state_dir``, it is returned
    unchanged.
    """
    directory = _state_dir(state_dir)
    with _exclusive(directory):
        running = status(directory)
        if running is not None:
            return running
        fallback = endpoint_port is None or gateway_port is None
        # The ports of the saved state first, so restored APIs keep their URLs.
        endpoint, gateway = preferred_ports(directory, endpoint_port, gateway_port)
        return _spawn(directory, endpoint, gateway, fallback)


def _spawn(directory: Path, endpoint_port: int, gateway_port: int, fallback: bool) -> LocalCloudInfo:
    log_file = directory / config.LOG_FILE_NAME
    command = [
        sys.executable,
        "-m",
        "workshop.localcloud",
        "--endpoint-port",
        str(endpoint_port),
        "--gateway-port",
        str(gateway_port),
        "--state-dir",
        str(directory),
    ]
    if fallback:
        command.append("--fallback-ports")
    env = dict(os.environ)
    # The package must be importable even when the repository is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("AWS_ENDPOINT_URL", None)
    kwargs: dict[str, Any] = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True  # survives the terminal or notebook that started it
    else:  # pragma: no cover - Windows
        kwargs["creationflags"] = (
            subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        )
    with open(log_file, "ab") as log:
        log.write(f"\n--- starting local cloud at {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
        log.flush()
        process = subprocess.Popen(  # noqa: S603 - our own module, our own Python
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
            env=env,
            close_fds=True,
            **kwargs,
        )
    _children[process.pid] = process
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            state = _read_state(directory)
            if state and state.get("pid") == process.pid:
                # Written once both ports listen; ready means it answers, so ask it.
                health = _health(state["endpoint"], timeout=5)
                if health is not None and health.get("pid") == process.pid:
                    return _info(state, directory)
            if process.poll() is not None:
                _children.pop(process.pid, None)
                raise LocalCloudError(
                    f"The local cloud stopped while starting (exit code {process.returncode}). "
                    f"Its log, {log_file}, ends with:\n{_tail(log_file)}"
                )
            time.sleep(0.02)
    except BaseException:
        # Ctrl-C while waiting: a half-started local cloud has no state file yet, so no
        # later stop() could find it; end it now instead of leaving it running.
        if process.poll() is None:
            _terminate(process.pid)
        raise
    _terminate(process.pid)
    raise LocalCloudError(
        f"The local cloud did not become ready within {START_TIMEOUT_S:.0f} s; see {log_file}."
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(state_dir: str | Path | None = None) -> bool:
    """Stop the local cloud of ``state_dir``; True when one was running."""
    directory = _state_dir(state_dir)
    with _exclusive(directory):
        running = status(directory)
        if running is None:
            return False
        _terminate(running.pid)
        state = _read_state(directory)
        if state is not None and state.get("pid") == running.pid:
            _state_file(directory).unlink(missing_ok=True)
        return True


def _terminate(pid: int) -> None:
    """SIGTERM (the server then stops its Lambda workers), SIGKILL if it does not exit."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            break
        time.sleep(0.02)
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):
            os.kill(pid, signal.SIGKILL)  # type: ignore[attr-defined]
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
