"""What ``local_cloud.py reset``, ``up --fresh`` and ``status`` do with the saved state.

- ``up --fresh`` starts empty *without deleting anything*: the current snapshot is renamed to
  ``snapshot.pickle.before-fresh-<UTC time>`` (rename it back to ``snapshot.pickle``, with the
  local cloud stopped, to return to it). The fresh local cloud then keeps its own work as usual.
- ``reset`` deletes the saved state after asking (``--yes`` skips the question; without a
  terminal and without ``--yes`` it refuses rather than guess). Files set aside earlier stay.
- ``status`` shows the snapshot's age, size and content, read from its header.

Standard library only (the CLI must answer fast).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

from workshop.localcloud.snapshots import fileformat
from workshop.localcloud.snapshots.wording import describe_age, describe_size, describe_summary


class ResetRefused(Exception):
    """No terminal to ask on and no ``--yes``."""


def status_lines(state_dir: Path, now: float | None = None) -> list[str]:
    """One line about the saved state (and one about set-aside files, if any)."""
    info = fileformat.file_info(state_dir)
    if info is None:
        lines = [
            f"saved state: none yet (written to {fileformat.snapshot_path(state_dir)} after changes)"
        ]
    elif not info.created_at:
        lines = [f"saved state: {info.path} cannot be read; the next start sets it aside"]
    else:
        lines = [
            f"saved state: {info.path}, {describe_size(info.size_bytes)}, written "
            f"{describe_age(info.age_s(now))}: {describe_summary(info.summary)}"
        ]
    aside = fileformat.set_aside_files(state_dir)
    if aside:
        lines.append(
            f"set aside:   {len(aside)} older snapshot(s), e.g. {aside[-1].name} (never read)"
        )
    return lines


def status_document(state_dir: Path, now: float | None = None) -> dict[str, object] | None:
    info = fileformat.file_info(state_dir)
    if info is None:
        return None
    return {
        "path": str(info.path),
        "size_bytes": info.size_bytes,
        "created_at": info.created_at or None,
        "age_s": round(info.age_s(now), 1) if info.created_at else None,
        "moto": info.moto,
        "summary": info.summary,
    }


def set_aside_for_fresh_start(state_dir: Path) -> Path | None:
    """Rename the snapshot out of the way (never delete it); the new name, or None if none."""
    path = fileformat.snapshot_path(state_dir)
    if not path.exists():
        return None
    kept = fileformat.set_aside(path, "before-fresh")
    if kept is None:
        raise OSError(f"cannot rename {path} (check the folder's permissions)")
    return kept


def confirm_reset(
    state_dir: Path, *, stdin: TextIO | None = None, out: TextIO | None = None
) -> bool:
    """Ask on the terminal; refuse (never hang, never guess) without one."""
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if out is None else out
    interactive = stdin is not None and not stdin.closed and stdin.isatty()
    if not interactive:
        raise ResetRefused(
            "Refusing to reset the local cloud without confirmation: there is no terminal to ask "
            "on. Run `python scripts/local_cloud.py reset --yes` to confirm."
        )
    print(
        f"Reset deletes everything your local cloud holds (tables and items, functions, roles, "
        f"REST APIs, logs) and its saved state in {state_dir}. Type 'yes' to continue: ",
        end="",
        file=out,
        flush=True,
    )
    answer = stdin.readline()
    if not answer:
        print(file=out)
        return False
    return answer.strip().lower() in ("yes", "y")


def delete_saved_state(state_dir: Path) -> bool:
    """Delete the snapshot and its notice (the local cloud must be stopped); True if one existed."""
    path = fileformat.snapshot_path(state_dir)
    existed = path.exists() or path.is_symlink()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with contextlib.suppress(FileNotFoundError):
        (Path(state_dir) / fileformat.NOTICE_FILE_NAME).unlink()
    fileformat.remove_leftover_temporaries(Path(state_dir))
    return existed
