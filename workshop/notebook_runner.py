"""Re-executing the solution notebooks, to refresh their stored outputs or to test them.

The stored outputs are what ``make test`` compares (nbval, strict), so they must come from an
honest run: every notebook, in order, in a fresh kernel, on a fresh local cloud in a state
folder of its own, with fake credentials, so neither AWS nor a learner's local cloud is touched
(``scripts/run_notebooks.py``). ``solutions/notebooks/conftest.py`` (nbval) and the learner
notebook tests use the same environment and executor.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from workshop.labs import LABS
from workshop.learner_files import notebook_text, write_generated_files
from workshop.paths import REPO_ROOT, SOLUTION_NOTEBOOKS_DIR

if TYPE_CHECKING:
    import nbformat


#: The owner the stored outputs show; the nbval run and scripts/run_notebooks.py use it.
STORED_OUTPUT_OWNER = "learner"
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 120


def fresh_run_environment(
    state_dir: Path, owner: str = STORED_OUTPUT_OWNER, *, any_free_port: bool = True
) -> dict[str, str]:
    """Environment variables for executing notebooks on a fresh local cloud of their own.

    The local cloud's state goes to ``state_dir`` (so a learner's running local cloud is never
    touched), the credentials are fake and no AWS config file is read: nothing reaches AWS.
    Realism mode is off (the stored outputs are the instant local cloud's) unless the caller
    adds ``WORKSHOP_REALISM`` to the result.
    With ``any_free_port`` it listens on free ports; otherwise on the learner's usual 4566/4567
    when they are free (so stored outputs show the URLs a learner sees).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "WORKSHOP_REALISM")) and key not in ("WORKSHOP_BUDGET_EMAIL",)
    }
    env.update(
        {
            "WORKSHOP_TARGET": "local",
            "WORKSHOP_OWNER": owner,
            "WORKSHOP_STATE_DIR": str(state_dir),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    if any_free_port:
        # 4566/4567 belong to the learner's own local cloud.
        env.update({"WORKSHOP_ENDPOINT_PORT": "0", "WORKSHOP_GATEWAY_PORT": "0"})
    else:
        env.pop("WORKSHOP_ENDPOINT_PORT", None)
        env.pop("WORKSHOP_GATEWAY_PORT", None)
    return env


def execute_notebook(
    nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str], *, allow_errors: bool = False
) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh ``python3`` kernel started in ``cwd`` with ``env``."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
        # One stream output per cell and stream, however the kernel happened to flush it, so
        # a refresh of the stored outputs changes only what really changed.
        coalesce_streams=True,
    )
    client.execute(env=env)
    return nb


def _stable_metadata(nb: nbformat.NotebookNode) -> None:
    """Keep notebook metadata independent of the machine that ran it."""
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": KERNEL_NAME,
    }
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def main(argv: list[str] | None = None) -> int:
    """``scripts/run_notebooks.py [LAB ...]``: refresh the solution notebooks' stored outputs."""
    parser = argparse.ArgumentParser(
        prog="run_notebooks.py",
        description="Execute the solution notebooks on a fresh local cloud and store their outputs.",
    )
    parser.add_argument("labs", nargs="*", type=int, metavar="LAB",
                        help="lab numbers 0-8 (default: all, in order)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.labs) - set(LABS))
    if unknown:
        parser.error(f"no such lab: {unknown} (labs are 0 to {max(LABS)})")
    import nbformat

    store = set(args.labs) if args.labs else set(LABS)
    with tempfile.TemporaryDirectory(prefix="workshop-notebooks-") as state:
        env = fresh_run_environment(Path(state), any_free_port=False)
        try:
            # Always all of them, in order, as `make test` runs them: each notebook's outputs
            # (its catch-up line, for one) depend on what the ones before it left behind.
            for lab in sorted(LABS):
                path = SOLUTION_NOTEBOOKS_DIR / f"{LABS[lab]}.ipynb"
                nb = nbformat.read(path, as_version=4)
                print(f"running {path.relative_to(REPO_ROOT)} ...", flush=True)
                execute_notebook(nb, SOLUTION_NOTEBOOKS_DIR, env)
                if lab in store:
                    _stable_metadata(nb)
                    path.write_text(notebook_text(nb), encoding="utf-8")
                    print(f"stored {path.relative_to(REPO_ROOT)}")
        finally:
            _stop_local_cloud(Path(state))
    for path in write_generated_files():
        print(f"regenerated {path.relative_to(REPO_ROOT)}")
    return 0


def _stop_local_cloud(state_dir: Path) -> None:
    from workshop.localcloud import lifecycle

    lifecycle.stop(state_dir)
