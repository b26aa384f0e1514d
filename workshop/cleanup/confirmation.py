"""Asking before deleting on AWS, without ever hanging where nobody can answer."""

from __future__ import annotations

import sys
from typing import TextIO

from workshop.cleanup.errors import CleanupError
from workshop.cleanup.resources import Resource


def ask_confirmation(resources: list[Resource], *, where: str, stdin: TextIO | None = None,
                     out: TextIO | None = None) -> bool:
    """Ask on the terminal before deleting on AWS; refuse (never hang) without a terminal."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    interactive = stdin is not None and not stdin.closed and stdin.isatty()
    if not interactive:
        raise CleanupError(
            f"Refusing to delete {len(resources)} resource(s) in {where} without confirmation: "
            "there is no terminal to ask on. Re-run with --yes to confirm, or with --dry-run to "
            "only list them."
        )
    print(f"Delete these {len(resources)} resource(s) in {where}? This cannot be undone. "
          "Type 'yes' to continue: ", end="", file=out, flush=True)
    answer = stdin.readline()
    if not answer:  # end of input
        print(file=out)
        return False
    return answer.strip().lower() in ("yes", "y")
