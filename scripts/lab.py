"""`make lab`: check the target, start the local cloud, then JupyterLab on 127.0.0.1.

Before JupyterLab starts, the target is checked: on AWS (`WORKSHOP_TARGET=aws`) the region and
the credentials (one free `sts get-caller-identity` call), so a learner with no credentials reads
one clear line and the command exits non-zero, instead of finding out in the first notebook.

JupyterLab opens clean: no news or update pop-up (settings overrides in a folder of the
workshop's own, `.workshop/jupyterlab/`), no `*.egg-info` in the file browser, and a quiet
terminal: JupyterLab logs only warnings and errors, the URL to open is printed here, and the
kernels' "running over TCP without encryption" notice (harmless on 127.0.0.1) is filtered out.

Stop with Ctrl+C, then `python scripts/local_cloud.py down` (the local cloud keeps running so
the notebooks keep their resources between JupyterLab sessions).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.paths import REPO_ROOT, state_dir  # noqa: E402
from workshop.target import LOCAL, TargetError, connect, target_name  # noqa: E402

FIRST_NOTEBOOK = "notebooks/00-setup.ipynb"
FIRST_PORT = 8888
PORT_TRIES = 50
# JupyterLab's own defaults, plus the package metadata `pip install -e .` leaves in the repository.
HIDDEN_FILES = ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*.so", "*.dylib", "*~",
                "*.egg-info"]
# The Notification settings: never ask about news, never check for updates.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}
# Lines on JupyterLab's stderr that are noise for a learner (not errors).
NOISE = ("Kernel is running over TCP without encryption",)


def check_target() -> str:
    """Say where the notebooks will build; raise TargetError when that cannot work."""
    if target_name() == LOCAL:
        from workshop.localcloud.lifecycle import LocalCloudError, ensure_running
        from workshop.target import local_start_notices

        try:
            info = ensure_running()
        except LocalCloudError as error:
            raise TargetError(str(error)) from None
        line = f"Local cloud: AWS endpoint {info.endpoint}, API gateway {info.gateway}"
        if info.realism and info.realism.get("mode") == "aws":
            line += f"\nRealism mode: AWS's delays and quotas, durations x{info.realism['scale']:g}."
        return "\n".join([line, *local_start_notices(info)])
    target = connect(quiet=True)  # checks the region and the credentials
    return (f"WORKSHOP_TARGET=aws: the notebooks will build in AWS account {target.account_id}, "
            f"region {target.region} (billed).")


def free_port(start: int = FIRST_PORT, tries: int = PORT_TRIES) -> int:
    """The first port from ``start`` that nothing listens on at 127.0.0.1."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise TargetError(f"No free port for JupyterLab between {start} and {start + tries - 1}.")


def lab_settings_dir(state_dir: Path) -> Path:
    """A settings folder holding the workshop's overrides (written on every start)."""
    folder = state_dir / "jupyterlab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n",
                                           encoding="utf-8")
    return folder


def jupyter_args(jupyter: str, port: int, token: str, settings_dir: Path) -> list[str]:
    """The JupyterLab command line: 127.0.0.1 only, quiet, no pop-ups, egg-info hidden."""
    args = [
        jupyter,
        "lab",
        "--ip=127.0.0.1",  # never listen beyond this machine
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--no-browser",
        "--ServerApp.log_level=WARN",
        "--LabApp.log_level=WARN",
        f"--ServerApp.root_dir={REPO_ROOT}",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
        f"--LabApp.app_settings_dir={settings_dir}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ContentsManager.hide_globs=" + json.dumps(HIDDEN_FILES),
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Jupyter refuses to start as root unless told to; classroom VMs and containers often
        # run as root.
        args.append("--allow-root")
    return args


def forward_without_noise(source: IO[str], sink: IO[str]) -> None:
    """Copy JupyterLab's stderr to ours, minus the lines in NOISE."""
    for line in source:
        if not any(noise in line for noise in NOISE):
            sink.write(line)
            sink.flush()


def main() -> int:
    try:
        print(check_target())
        port = free_port()
    except TargetError as error:
        print(f"make lab: {error}", file=sys.stderr)
        return 1
    token = secrets.token_hex(24)
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    args = jupyter_args(jupyter, port, token, lab_settings_dir(state_dir()))
    print(f"JupyterLab: http://127.0.0.1:{port}/lab?token={token}")
    print(f"Open that URL; start with {FIRST_NOTEBOOK}. Stop JupyterLab with Ctrl+C.", flush=True)
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, bufsize=1)  # noqa: S603 - the arguments are this repository's own, not user input
    assert process.stderr is not None

    def stop_jupyter(signum: int, _frame: object) -> None:
        process.terminate()  # never leave JupyterLab behind when this script is stopped

    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(signum, stop_jupyter)
    forwarder = threading.Thread(target=forward_without_noise, args=(process.stderr, sys.stderr),
                                 daemon=True)
    forwarder.start()
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:
            continue  # JupyterLab got the Ctrl+C too and shuts down (or asks); wait for it
    forwarder.join(timeout=2)
    return code


if __name__ == "__main__":
    sys.exit(main())
