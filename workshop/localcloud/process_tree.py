"""Ending a Lambda execution environment together with every process it started.

A function may fork, or start a child in a session of its own (``setsid``, ``start_new_session``,
a daemon's double fork) that outlives the handler. On AWS the whole micro-VM goes away with the
environment; locally the worker's process tree must be ended explicitly, without cgroups:

1. Each worker is a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``, set by the worker's
   supervisor in :mod:`workshop.localcloud.worker`): a descendant whose parent exits is
   re-parented to the worker instead of to init, so every process the function started stays
   *below* the worker, whatever session or process group it moved to.
2. :func:`kill_tree` walks parent links (``/proc/<pid>/stat``; ``ps`` where there is no
   ``/proc``) from the worker down, SIGKILLs the descendants, repeats until none is left (a
   process forked in between is found by the next round), then ends the worker and its group.
3. The dedicated local-cloud process is a subreaper itself (:func:`become_subreaper`): if a
   worker is killed from outside before it could end its tree, the orphans come to the local
   cloud, and :func:`sweep_adopted` ends every child that is not a known worker.

Without ``/proc`` and subreapers (macOS), killing the worker's process group is the fallback:
a child that left the group can outlive its environment there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
_PROC = Path("/proc")
#: Rounds of "find descendants, kill them"; each round catches what forked during the last.
KILL_ROUNDS = 20

_subreaper = False
#: Guards spawning workers against :func:`sweep_adopted` (a new worker is a child too).
spawn_lock = threading.Lock()


def parent_links() -> dict[int, int]:
    """pid -> parent pid of every process visible to us."""
    links: dict[int, int] = {}
    if _PROC.is_dir():
        for entry in os.scandir(_PROC):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
            fields = stat.rsplit(")", 1)[1].split()
            links[int(entry.name)] = int(fields[1])
        return links
    try:  # pragma: no cover - systems without /proc (macOS)
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return links
    for line in listing.splitlines():  # pragma: no cover
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            links[int(parts[0])] = int(parts[1])
    return links


def descendants(pid: int, links: dict[int, int] | None = None) -> list[int]:
    """Every process below ``pid`` (children first, then their children...)."""
    links = parent_links() if links is None else links
    children: dict[int, list[int]] = {}
    for child, parent in links.items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = [child for parent in frontier for child in children.get(parent, ())]
        below = [child for child in below if child not in found and child != pid]
        found.extend(below)
        frontier = below
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def kill_tree(pid: int) -> None:
    """SIGKILL every descendant of ``pid``, then ``pid`` and its process group."""
    if os.name != "posix":  # pragma: no cover - Windows: the worker only
        _kill(pid)
        return
    for _ in range(KILL_ROUNDS):
        below = descendants(pid)
        if not below:
            break
        for child in below:
            _kill(child)
        time.sleep(0.001)  # let the subreaper adopt what was orphaned by this round
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # the fallback without /proc; harmless with it
    _kill(pid)


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux); False where unsupported."""
    global _subreaper
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def sweep_adopted(known_children: set[int]) -> list[int]:
    """In a subreaper: end (and reap) every child that is not in ``known_children``.

    Those are orphans of execution environments killed from outside. Call it with
    :data:`spawn_lock` held so that a worker being started is not taken for one. Never blocks
    for long: a round finds the adopted children, kills their trees and reaps what died; what
    a killed process orphans in the meantime is adopted here too and found by the next round.
    Returns the pids that were ended.
    """
    if not _subreaper:
        return []
    me = os.getpid()
    ended: list[int] = []
    for _ in range(KILL_ROUNDS):
        adopted = [
            pid
            for pid, parent in parent_links().items()
            if parent == me and pid not in known_children
        ]
        living = [pid for pid in adopted if not _reap(pid)]
        if not living:
            break
        for pid in living:
            kill_tree(pid)
        ended.extend(pid for pid in living if pid not in ended)
        time.sleep(0.005)
    return ended


def _reap(pid: int) -> bool:
    """Collect ``pid`` if it has ended; True when it is gone."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid
