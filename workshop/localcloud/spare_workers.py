"""Pre-started bootstrap processes ("spares") that make a cold start skip Python's start-up.

Why: most of a cold start that is not the handler's own import is starting the worker process —
``fork``/``exec`` of Python, the interpreter's start-up, the bootstrap's imports
(:mod:`workshop.localcloud.worker`: json, logging, threading, ctypes...) and the supervisor
split. On a loaded 2-core machine that alone took hundreds of milliseconds. A spare has done all
of that before any function needs it and waits on its request pipe for the first message, so a
cold start only sends it the function's variables (``WorkerProcess.assign``); the bootstrap then
changes into the task root, puts it first on ``sys.path`` and imports the handler exactly as a
freshly spawned worker does.

What a spare is NOT allowed to know or do, so isolation and the reported times stay as they were:

- it knows nothing of any function: it is started from the bootstrap environment alone (the one
  every function gets when it sets none of ``BOOTSTRAP_VARIABLES`` itself), in the runtime's work
  folder, and receives the function's variables over the pipe as any worker does, so its
  ``/proc/<pid>/environ`` never holds them;
- it imports nothing a handler might (no boto3): the ``Init Duration`` of a cold start is counted
  from the moment the spare is given to the function, so it still measures the handler module's
  own import (and any module it pulls in);
- it is used once, by one environment, and then is that environment's worker: its process tree
  ends with the environment (supervisor, subreaper, non-dumpable, as any worker);
- a spare is a child of the local cloud like any worker: it is in ``live_workers`` (the sweep
  of orphans leaves it alone) but not in any function's pool (not counted as an environment),
  and the runtime's shutdown kills it.

A spare is taken only when it would be the very process a spawn would start: same Python
executable, same bootstrap environment, still alive and still waiting (a runtime half that died
closes the pipe, which a spare never writes to otherwise). Anything else — a function that sets
``PATH``, a spare killed from outside, none ready — falls back to a normal spawn.

One spare (:data:`SPARE_WORKERS`): cold starts come one function at a time when learners deploy
and call their functions, and a spare is replaced right after the cold start that used it has
initialised. More spares would cost two idle processes each (supervisor and runtime, ~10 MB
each) and their start-up CPU on a shared 2-core machine, for bursts of concurrent cold starts
that are rare here and still work (they spawn).
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from workshop.localcloud.workers import WorkerProcess, WorkerSpec, bootstrap_environment

log = logging.getLogger(__name__)

#: How many pre-started bootstrap processes the runtime keeps (see the module docstring).
SPARE_WORKERS = 1
#: How long shutdown waits for a spare being started before killing what exists.
STARTER_JOIN_TIMEOUT_S = 10.0


@dataclass
class _Spare:
    worker: WorkerProcess
    executable: str
    environment: dict[str, str]


def waiting(worker: WorkerProcess) -> bool:
    """True while ``worker`` is alive and has written nothing: a spare still waiting.

    A spare's runtime half never writes before its first message; readable output means it
    ended (end of file, e.g. killed while the supervisor is still winding down) or went wrong.
    """
    if not worker.alive():
        return False
    stdout = worker.process.stdout
    if os.name != "posix" or stdout is None:  # pragma: no cover - pipes cannot be selected
        return True
    try:
        readable, _, _ = select.select([stdout], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class SpareWorkers:
    """Up to ``count`` spares for one local cloud's runtime (``count`` 0: none)."""

    def __init__(self, cwd: Path, count: int = SPARE_WORKERS) -> None:
        if count < 0:
            raise ValueError(f"count must be 0 or more, not {count}")
        self.cwd = cwd
        self.count = count
        self._lock = threading.Lock()
        self._spares: list[_Spare] = []
        self._starter: threading.Thread | None = None  # set while one runs
        self._request: dict[str, str] | None = None  # the environment asked for last
        self._closed = False

    def pids(self) -> list[int]:
        """The pids of the spares waiting now (tests, diagnostics)."""
        with self._lock:
            return [spare.worker.pid for spare in self._spares]

    def take(self, spec: WorkerSpec) -> WorkerProcess | None:
        """A waiting spare made ``spec``'s worker, or None (then the caller spawns).

        Never starts a process: call :meth:`replenish` afterwards, off the caller's path.
        """
        wanted = bootstrap_environment(spec.environment)
        while True:
            with self._lock:
                if self._closed:
                    return None
                index = next(
                    (
                        i
                        for i, spare in enumerate(self._spares)
                        if spare.executable == sys.executable and spare.environment == wanted
                    ),
                    None,
                )
                if index is None:
                    return None
                spare = self._spares.pop(index)
            if waiting(spare.worker):
                spare.worker.assign(spec)
                return spare.worker
            log.info("spare worker %s has died; looking for another", spare.worker.pid)
            spare.worker.close()

    def replenish(self, environment: dict[str, str]) -> None:
        """Start spares in the background until ``count`` wait with ``environment`` (the
        bootstrap environment a function gets by default). Returns at once; does nothing once
        :meth:`close` was called."""
        with self._lock:
            if self._closed or self.count == 0:
                return
            self._request = dict(environment)
            if self._starter is not None:
                return  # it takes this request before it stops
            self._starter = threading.Thread(target=self._fill, name="lambda-spare-starter", daemon=True)
            self._starter.start()

    def close(self) -> None:
        """Kill every spare (and one being started); no spare is started afterwards."""
        with self._lock:
            self._closed = True
            starter = self._starter
        if starter is not None and starter is not threading.current_thread():
            starter.join(STARTER_JOIN_TIMEOUT_S)
        with self._lock:
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.worker.close()

    # -- starting -----------------------------------------------------------------------------

    def _fill(self) -> None:
        """The starter thread: one pass per request, until none is left."""
        while True:
            with self._lock:
                environment, self._request = self._request, None
                if environment is None or self._closed:
                    self._starter = None
                    return
                keep = [
                    spare
                    for spare in self._spares
                    if spare.environment == environment
                    and spare.executable == sys.executable
                    and waiting(spare.worker)
                ]
                gone = [spare for spare in self._spares if spare not in keep]
                self._spares = keep
                missing = self.count - len(keep)
            for spare in gone:  # died, or started for an environment no longer wanted
                spare.worker.close()
            for _ in range(missing):
                try:
                    worker = WorkerProcess.start(environment, self.cwd)
                except OSError as error:
                    log.warning("could not start a spare Lambda worker: %s", error)
                    break
                with self._lock:
                    if not self._closed:
                        self._spares.append(_Spare(worker, sys.executable, environment))
                        continue
                worker.close()  # shutdown began while it was starting
                break
