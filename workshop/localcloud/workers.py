"""One warm worker process: a Lambda execution environment the runtime can reuse.

The process runs :mod:`workshop.localcloud.worker` (the bootstrap), which changes into the
function's code when it receives the function's variables. It is either spawned for the
function (:meth:`WorkerProcess.spawn`) or was started earlier knowing no function and is given
one (:meth:`WorkerProcess.start`, :meth:`WorkerProcess.assign`: a spare, see
:mod:`workshop.localcloud.spare_workers`).

The thread that runs an invocation reads the worker's messages itself (``select`` with the
function's deadline as timeout), so a result reaches the caller with no hand-over between
threads, and a function past its deadline is killed (what Lambda does to a function that times
out). Output the worker writes to stderr is read by a helper thread.

Isolation between environments (what a function can see of another one):

- the process starts from a minimal environment (:func:`bootstrap_environment`); the function's
  variables (its own, the reserved ones, credentials) travel over the request pipe as the first
  message, so ``/proc/<pid>/environ`` of a worker never holds them;
- the worker makes itself non-dumpable, so other processes of the same user cannot read its
  ``/proc/<pid>/environ`` or memory, nor ptrace it (see worker.py);
- the worker's whole process tree ends with the environment (:mod:`process_tree`), and the
  caller learns at once that the worker died, even when a child it left behind still holds the
  worker's output pipes.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workshop.localcloud import process_tree

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
#: While a function runs, the worker's liveness is checked this often (a worker that died while
#: a child of it keeps its pipes open would otherwise look alive until the deadline).
EXIT_CHECK_INTERVAL_S = 0.1
#: The variables a worker process starts with; everything else arrives over the pipe.
BOOTSTRAP_VARIABLES = ("PATH", "LANG", "TZ", "PYTHONIOENCODING", "SYSTEMROOT", "WINDIR")
#: Output below Python (stderr) longer than this without a newline is cut into several events.
STDERR_LINE_LIMIT = 256 * 1024
#: pids of the workers alive in this process (the local cloud's sweep must not end them).
live_workers: set[int] = set()


def bootstrap_environment(environment: dict[str, str]) -> dict[str, str]:
    """The environment a worker *process* starts with: only what Python needs to start.

    ``/proc/<pid>/environ`` shows a process's initial environment for as long as it lives, so
    the function's variables are not put there (see the module docstring).
    """
    return {name: environment[name] for name in BOOTSTRAP_VARIABLES if name in environment}


class WorkerExited(Exception):
    """The worker process ended without answering (a crash, ``sys.exit``, ``os._exit``)."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"worker exited with {returncode}")
        self.returncode = returncode


class WorkerTimedOut(Exception):
    """No answer before the deadline."""


@dataclass
class WorkerSpec:
    """Everything that decides how an execution environment is started."""

    task_root: Path
    environment: dict[str, str]
    fingerprint: str  # changes when code or configuration change: a new environment is needed


@dataclass
class WorkerProcess:
    """A worker and its two output channels.

    Only one thread at a time may call :meth:`next_message` (the runtime lends a worker to one
    invocation at a time).
    """

    spec: WorkerSpec | None  # None: a spare, not yet given to a function
    process: subprocess.Popen[bytes]
    started_at: float
    last_used: float = field(default_factory=time.monotonic)
    invocations: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _eof: bool = False
    _stderr_lines: queue.Queue[str] = field(default_factory=queue.Queue)
    _stderr_reader: threading.Thread | None = None

    @classmethod
    def spawn(cls, spec: WorkerSpec) -> WorkerProcess:
        """Start a new process for ``spec`` (its Python start-up counts in the Init Duration)."""
        worker = cls.start(bootstrap_environment(spec.environment), spec.task_root)
        worker.assign(spec, started_at=worker.started_at)
        return worker

    @classmethod
    def start(cls, environment: dict[str, str], cwd: Path) -> WorkerProcess:
        """Start the bootstrap with ``environment`` as its process environment, knowing no
        function yet: it waits for :meth:`assign` (see :mod:`spare_workers`)."""
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            # Its own process group: a Ctrl-C in the terminal of a foreground local cloud must
            # reach the server, which then stops the workers in order.
            kwargs["start_new_session"] = True
        with process_tree.spawn_lock:
            process = subprocess.Popen(  # noqa: S603 - our own bootstrap, with our own Python
                [sys.executable, "-B", "-u", str(WORKER_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=environment,
                close_fds=True,
                **kwargs,
            )
            live_workers.add(process.pid)
        return cls(spec=None, process=process, started_at=time.perf_counter())

    def assign(self, spec: WorkerSpec, *, started_at: float | None = None) -> None:
        """Make this process ``spec``'s execution environment: send the function's variables
        (the bootstrap then changes into the task root and imports the handler). The Init
        Duration counts from ``started_at`` (default: now)."""
        if self.spec is not None:
            raise RuntimeError(f"worker {self.pid} already runs {self.spec.task_root}")
        self.spec = spec
        self.started_at = time.perf_counter() if started_at is None else started_at
        self.send({"type": "environment", "variables": spec.environment})
        self._stderr_reader = threading.Thread(
            target=self._read_stderr, name=f"worker-{self.process.pid}-err", daemon=True
        )
        self._stderr_reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the process died; reading its output reports the exit

    def next_message(self, deadline: float) -> dict[str, Any]:
        """The next message; WorkerTimedOut once ``deadline`` (time.monotonic) passes,
        WorkerExited when the process ended."""
        while True:
            message = self._pop_message()
            if message is not None:
                return message
            if self._eof:
                # Whatever the process wrote to stderr before dying belongs before the exit
                # notice. A grandchild holding stderr open must not stall us, hence the bound.
                if self._stderr_reader is not None:
                    self._stderr_reader.join(timeout=1)
                    self._stderr_reader = None
                    continue
                raise WorkerExited(self._returncode())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimedOut()
            self._read(remaining)

    def drain(self) -> list[dict[str, Any]]:
        """The messages already written (used after a kill, to keep the last log lines)."""
        messages = []
        while not self._eof and self._read(0):
            pass
        while (message := self._pop_message()) is not None:
            messages.append(message)
        return messages

    def kill(self) -> None:
        """Stop the process and everything it started, now (SIGKILL), as Lambda does after a
        timeout and whenever an environment ends."""
        if self.process.poll() is None:
            process_tree.kill_tree(self.process.pid)
        elif os.name == "posix":
            # Already gone: what it left in its process group goes too.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
            pass
        live_workers.discard(self.process.pid)
        with process_tree.spawn_lock:  # orphans of workers killed from outside (if any)
            process_tree.sweep_adopted(live_workers)
        if self.process.stdin:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def close(self) -> None:
        """Kill the process and release its pipes."""
        self.kill()
        for stream in (self.process.stdout, self.process.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    # -- reading ------------------------------------------------------------------------------

    def _pop_message(self) -> dict[str, Any] | None:
        end = self._buffer.find(b"\n")
        if end >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            try:
                return json.loads(line)
            except ValueError:
                return {"type": "log", "message": line.decode("utf-8", "replace")}
        try:
            return {"type": "log", "message": self._stderr_lines.get_nowait()}
        except queue.Empty:
            return None

    def _read(self, timeout: float) -> bool:
        """Read what the worker wrote, waiting at most ``timeout`` s; False when nothing came."""
        stdout = self.process.stdout
        assert stdout is not None
        if os.name == "posix":
            deadline = time.monotonic() + timeout
            while True:
                wait = min(max(deadline - time.monotonic(), 0), EXIT_CHECK_INTERVAL_S)
                ready, _, _ = select.select([stdout], [], [], wait)
                if ready:
                    break
                if self.process.poll() is not None:
                    # Dead, but a process it left behind may hold the pipe open: take what
                    # is already written and treat the rest as the end.
                    ready, _, _ = select.select([stdout], [], [], 0)
                    if not ready:
                        self._eof = True
                        return False
                    break
                if time.monotonic() >= deadline:
                    return False
            chunk = os.read(stdout.fileno(), 1 << 16)
        else:  # pragma: no cover - Windows: pipes cannot be selected; block (no timeout)
            chunk = stdout.read1(1 << 16)  # type: ignore[attr-defined]
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _returncode(self) -> int | None:
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:  # closed its output but still runs: end it
            self.kill()
            return self.process.returncode

    def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        try:
            # Bounded lines: output without newlines must not grow the local cloud unbounded.
            while raw := stderr.readline(STDERR_LINE_LIMIT):
                self._stderr_lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        except (OSError, ValueError):
            pass  # closed by close()
