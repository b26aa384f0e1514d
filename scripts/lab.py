"""`make lab`: start the local cloud, then JupyterLab on 127.0.0.1, and say where to go.

JupyterLab prints its own URL (with the login token) once it is listening; this script prints
what the workshop adds: where the local cloud is and which notebook to open first. Stop both with
Ctrl+C, then `python scripts/local_cloud.py down` (the local cloud keeps running so the notebooks
keep their resources between JupyterLab sessions).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.paths import REPO_ROOT  # noqa: E402
from workshop.target import LOCAL, target_name  # noqa: E402


def main() -> int:
    if target_name() == LOCAL:
        from workshop.localcloud.lifecycle import ensure_running
        from workshop.localcloud.snapshots import take_notice

        info = ensure_running()
        print(f"Local cloud: AWS endpoint {info.endpoint}, API gateway {info.gateway}")
        for line in take_notice(Path(info.state_dir)):  # restored work, or why not
            print(line)
    else:
        print("WORKSHOP_TARGET=aws: the notebooks will build in your AWS account (billed).")
    print("Open notebooks/00-setup.ipynb first. Stop JupyterLab with Ctrl+C.")
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    args = [
        jupyter,
        "lab",
        "--ip=127.0.0.1",  # never listen beyond this machine
        "--no-browser",
        f"--ServerApp.root_dir={REPO_ROOT}",
        "--LabApp.default_url=/lab/tree/notebooks/00-setup.ipynb",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Jupyter refuses to start as root unless told to; classroom VMs and containers often
        # run as root.
        args.append("--allow-root")
    sys.stdout.flush()
    os.execv(args[0], args)
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
