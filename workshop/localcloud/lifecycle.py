"""Start, find and stop the local cloud: one detached process per state folder.

The process (``python -m workshop.localcloud``) writes ``localcloud.json`` in the state folder
(``.workshop/`` by default, ``WORKSHOP_STATE_DIR`` to move it) once both its ports listen: pid,
ports and URLs. Everything else reads that file and confirms with the process's health URL, so
a state file left behind by a crash or a reboot (a "stale" file) is noticed and removed.

The local cloud keeps everything (tables, functions, APIs, logs) in memory: ``down``, a crash or
a reboot loses it. ``localcloud.last.json`` remembers the last local cloud of the folder, so a
new one started in its place says that it is new and empty (``LocalCloudInfo.replaced``).

A local cloud that runs but does not answer (stopped with Ctrl-Z or SIGSTOP, or hung) is
reported as not responding — :class:`LocalCloudNotResponding` — within a few seconds; its state
file is kept and no second local cloud is started over it. ``stop()`` ends it.

Only the standard library is imported here: ``target.connect()`` calls :func:`ensure_running`
at the top of every notebook and must return at once when the local cloud already runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from workshop.paths import state_dir as default_state_dir

#: How long ``start`` waits for the process to listen (it needs about 1.5 s).
START_TIMEOUT_S = 30.0
#: ``stop`` waits this long after SIGTERM, then SIGKILLs: everything ends within 5 s.
STOP_TIMEOUT_S = 3.5
HEALTH_PATH = "/_localcloud/health"
#: How long ``status`` waits for a live local cloud to answer before calling it not responding.
STATUS_PATIENCE_S = 2.5
#: ``ensure_running`` (every notebook's first cell) is more patient with a busy machine.
ENSURE_PATIENCE_S = 10.0
LAST_CLOUD_FILE_NAME = "localcloud.last.json"

# Processes this Python process started: waited for on stop, so they leave no zombie behind.
_children: dict[int, subprocess.Popen[bytes]] = {}


class LocalCloudError(RuntimeError):
    """The local cloud could not be started or reached; the message says what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


class LocalCloudNotResponding(LocalCloudError):
    """The local cloud's process runs but does not answer; its state file is kept."""

    def __init__(self, pid: int, state_file: Path) -> None:
        super().__init__(
            f"The local cloud is not responding (pid {pid}): the process runs but does not "
            f"answer (stopped with Ctrl-Z or SIGSTOP, or hung). Resume it with `kill -CONT "
            f"{pid}`, or end it with `python scripts/local_cloud.py down`; {state_file} is kept "
            "until then, so no second local cloud starts over it."
        )
        self.pid = pid


class StateDirError(LocalCloudError):
    """The state folder cannot be written."""


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
    #: Set when this local cloud was just started in place of an earlier one, which is gone
    #: with everything it held: says what happened to it.
    replaced: str | None = None
    #: Realism mode as the process started with it: {"mode": "off" | "aws", "scale": float}.
    realism: dict[str, Any] | None = None
    #: The AWS endpoint's HTTP server ("waitress" or "werkzeug"); None from an older state file.
    endpoint_server: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def invoke_url(self, api_id: str, stage: str = "prod") -> str:
        return f"{self.gateway.rstrip('/')}/{api_id}/{stage}"


def _state_dir(state_dir: str | Path | None) -> Path:
    return Path(state_dir).resolve() if state_dir else default_state_dir()


def _writable_state_dir(state_dir: str | Path | None) -> Path:
    """The state folder, created if needed; StateDirError (one line) when it cannot be written."""
    directory = _state_dir(state_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise StateDirError(
            f"Cannot write the local cloud's state folder {directory} ({reason}): make it "
            "writable, or set WORKSHOP_STATE_DIR to a folder you can write."
        ) from None
    return directory


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
    # A local cloud that ended but was not yet reaped by whoever started it is a zombie.
    return _process_state(pid) != "Z"


def _process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (R, S, T for stopped, Z...), None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        pass
    try:  # pragma: no cover - systems without /proc (macOS)
        answer = subprocess.run(  # noqa: S603 - the arguments are this repository's own, not user input
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, timeout=2
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return None
    return answer[:1] or None  # pragma: no cover


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
        realism=state.get("realism") or {"mode": "off", "scale": 1.0},
        endpoint_server=state.get("endpoint_server"),
    )


def status(
    state_dir: str | Path | None = None, *, patience_s: float = STATUS_PATIENCE_S
) -> LocalCloudInfo | None:
    """The local cloud running for ``state_dir``, or None (a stale state file is removed).

    Raises LocalCloudNotResponding when its process lives but has not answered within
    ``patience_s`` seconds (at once when the process is stopped), and StateDirError when the
    state folder cannot be written.
    """
    directory = _writable_state_dir(state_dir)
    state = _read_state(directory)
    if state is None:
        return None
    try:
        pid = int(state["pid"])
        endpoint = state["endpoint"]
    except (KeyError, TypeError, ValueError):
        pid, endpoint = 0, ""
    if pid and endpoint and _pid_alive(pid):
        verdict = _probe(pid, endpoint, patience_s)
        if verdict == "running":
            return _info(state, directory)
        if verdict == "not responding":
            raise LocalCloudNotResponding(pid, _state_file(directory))
    _remove_stale_state(directory, state)
    return None


def _probe(pid: int, endpoint: str, patience_s: float) -> str:
    """"running", "not responding" or "stale" (the state file names no live local cloud)."""
    deadline = time.monotonic() + patience_s
    while True:
        if _process_state(pid) in ("T", "t"):  # stopped: it cannot answer until resumed
            return "not responding"
        remaining = deadline - time.monotonic()
        health = _health(endpoint, timeout=min(max(remaining, 0.2), 1.0))
        if health is not None:
            # The pid must match: after a reboot another program may own the old port.
            return "running" if health.get("pid") == pid else "stale"
        if not _pid_alive(pid) or _looks_like_local_cloud(pid) is False:
            return "stale"
        if time.monotonic() >= deadline:
            # A live local cloud that does not answer: a wrong "stale" would start a second
            # local cloud over it, so it is reported instead.
            return "not responding"
        time.sleep(0.05)


def _looks_like_local_cloud(pid: int) -> bool | None:
    """Whether ``pid`` runs ``workshop.localcloud``; None when the system cannot tell."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:  # pragma: no cover - systems without /proc (macOS)
            answer = subprocess.run(  # noqa: S603 - the arguments are this repository's own, not user input
                ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, timeout=2
            )
        except (OSError, subprocess.SubprocessError):  # pragma: no cover
            return None
        if answer.returncode != 0:  # pragma: no cover
            return None
        command_line = answer.stdout  # pragma: no cover
    return b"workshop.localcloud" in command_line


def _remove_stale_state(directory: Path, state: dict[str, Any]) -> None:
    """Delete the state file, unless a new local cloud replaced it in the meantime."""
    with contextlib.suppress(FileNotFoundError):
        if _read_state(directory) == state:
            _state_file(directory).unlink()


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Serialise start/stop between processes (two notebooks opened at once start one cloud)."""
    _writable_state_dir(directory)
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
    """The running local cloud, started (detached, default ports) if none runs.

    ``replaced`` of the answer says when it is a new, empty local cloud in place of an earlier
    one. Raises LocalCloudNotResponding rather than start a second local cloud over a hung one.
    """
    running = status(state_dir, patience_s=ENSURE_PATIENCE_S)
    if running is not None:
        warn_if_settings_differ(running)
        return running
    return start(state_dir=state_dir)


def _realism_requested() -> dict[str, Any]:
    """``WORKSHOP_REALISM`` / ``WORKSHOP_REALISM_SCALE`` as a new local cloud would read them."""
    from workshop.localcloud.realism.settings import RealismSettingError, from_environment

    try:
        return from_environment().describe()
    except RealismSettingError as error:
        raise LocalCloudError(str(error)) from None


def check_settings() -> None:
    """Raise LocalCloudError for a local-cloud setting in the environment that a new local
    cloud would refuse at start (``WORKSHOP_REALISM(_SCALE)``, ``WORKSHOP_ENDPOINT_SERVER``,
    ``WORKSHOP_ENDPOINT_PORT`` / ``WORKSHOP_GATEWAY_PORT``): the learner reads the reason in
    one line, before any process starts, not at the end of the local cloud's log."""
    from workshop.localcloud.http_servers import endpoint_server_name

    _realism_requested()
    try:
        endpoint_server_name()
        config.default_endpoint_port()
        config.default_gateway_port()
    except ValueError as error:
        raise LocalCloudError(str(error)) from None


def warn_if_settings_differ(running: LocalCloudInfo) -> None:
    """Say when the environment asks for settings the running local cloud did not start with
    (realism, the endpoint's server): both are read at start only."""
    warn_if_realism_differs(running)
    from workshop.localcloud.http_servers import endpoint_server_name

    try:
        requested = endpoint_server_name()
    except ValueError as error:
        raise LocalCloudError(str(error)) from None
    if running.endpoint_server and running.endpoint_server != requested:
        print(
            f"Note: the running local cloud's AWS endpoint is served by {running.endpoint_server}, "
            f"but {config.ENDPOINT_SERVER_ENV} asks for {requested}. It is read at start: run "
            "`python scripts/local_cloud.py down` and start it again to change it.",
            file=sys.stderr,
        )


def warn_if_realism_differs(running: LocalCloudInfo) -> None:
    """Realism is read when the local cloud starts: say so when the environment now asks for
    another one, rather than let a learner believe it is on."""
    requested = _realism_requested()
    both_off = requested["mode"] == "off" and (running.realism or {}).get("mode") == "off"
    if running.realism and running.realism != requested and not both_off:
        print(
            f"Note: the running local cloud has realism {running.realism['mode']} "
            f"(scale {running.realism['scale']:g}), but WORKSHOP_REALISM asks for "
            f"{requested['mode']} (scale {requested['scale']:g}). Realism is read at start: "
            "run `python scripts/local_cloud.py down` and start it again to change it.",
            file=sys.stderr,
        )


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
    directory = _writable_state_dir(state_dir)
    check_settings()  # a bad setting is reported here, not at the end of a log file
    with _exclusive(directory):
        running = status(directory, patience_s=ENSURE_PATIENCE_S)
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
    env = config.local_cloud_environment(os.environ)
    replaced = _what_became_of_the_last_cloud(directory)
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
                    info = _info(state, directory)
                    _remember_last_cloud(directory, info)
                    return dataclasses.replace(info, replaced=replaced)
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
    """Stop the local cloud of ``state_dir`` (a not-responding one too); True when one ran.

    Its Lambda workers and everything they started end with it, within 5 seconds.
    """
    directory = _writable_state_dir(state_dir)
    with _exclusive(directory):
        try:
            running = status(directory)
            pid = running.pid if running else None
        except LocalCloudNotResponding as hung:
            pid = hung.pid
        if pid is None:
            return False
        _terminate(pid)
        state = _read_state(directory)
        if state is not None and state.get("pid") == pid:
            _state_file(directory).unlink(missing_ok=True)
        _remember_stopped(directory, pid)
        return True


def _terminate(pid: int) -> None:
    """SIGTERM (the server then stops its Lambda workers), SIGKILL if it does not exit.

    SIGCONT follows SIGTERM so that a stopped (Ctrl-Z) local cloud can act on it; one that
    was SIGKILLed leaves its workers to their supervisors, which end when it is gone.
    """
    for sig in (signal.SIGTERM, getattr(signal, "SIGCONT", None)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
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
    else:
        deadline = time.monotonic() + 1.0
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


# -- what became of the last local cloud ------------------------------------------------------


def _remember_last_cloud(directory: Path, info: LocalCloudInfo) -> None:
    record = {"pid": info.pid, "started_at": info.started_at, "stopped": False}
    with contextlib.suppress(OSError):
        (directory / LAST_CLOUD_FILE_NAME).write_text(json.dumps(record))


def _remember_stopped(directory: Path, pid: int) -> None:
    path = directory / LAST_CLOUD_FILE_NAME
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(path.read_text())
        if record.get("pid") == pid:
            record["stopped"] = True
            path.write_text(json.dumps(record))


def _what_became_of_the_last_cloud(directory: Path) -> str | None:
    """None for the first local cloud of the folder; else what ended the previous one."""
    try:
        record = json.loads((directory / LAST_CLOUD_FILE_NAME).read_text())
        pid = int(record["pid"])
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(record["started_at"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if record.get("stopped"):
        how = "was stopped (local_cloud.py down)"
    else:
        how = "is gone (it crashed, was killed, or the computer restarted)"
    return f"the local cloud started {started} (pid {pid}) {how}"
