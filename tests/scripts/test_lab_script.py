"""`make lab` (scripts/lab.py): the target is checked before JupyterLab starts, and JupyterLab
opens clean (no news pop-up, no *.egg-info in the file browser, a quiet terminal).

The AWS cases never reach AWS: with no region, or no credentials, botocore stops before any
request is sent.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys

import pytest

from workshop.paths import REPO_ROOT

LAB = REPO_ROOT / "scripts" / "lab.py"


def load_lab_module():
    spec = importlib.util.spec_from_file_location("workshop_lab_script", LAB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_lab(tmp_path, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({
        "WORKSHOP_TARGET": "aws",
        "WORKSHOP_STATE_DIR": str(tmp_path),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata credentials lookup
    })
    env.update(env_overrides)
    return subprocess.run([sys.executable, str(LAB)], capture_output=True, text=True, env=env,
                          timeout=60, cwd=REPO_ROOT)


def test_aws_target_without_a_region_stops_before_jupyterlab_with_one_clear_line(tmp_path):
    result = run_lab(tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("make lab: No AWS region is configured")
    assert "AWS_DEFAULT_REGION" in result.stderr
    assert "JupyterLab" not in result.stdout  # it never started


def test_aws_target_without_credentials_stops_before_jupyterlab(tmp_path):
    result = run_lab(tmp_path, AWS_DEFAULT_REGION="eu-west-1")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("make lab: Cannot reach AWS with your credentials")
    assert "aws configure" in result.stderr
    assert "JupyterLab" not in result.stdout


def test_a_misspelt_target_is_refused_the_same_way(tmp_path):
    result = run_lab(tmp_path, WORKSHOP_TARGET="aws-prod")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is not a target" in result.stderr


def test_jupyterlab_listens_on_127_0_0_1_quietly_with_egg_info_hidden(tmp_path):
    lab = load_lab_module()
    settings = lab.lab_settings_dir(tmp_path)
    args = lab.jupyter_args("jupyter", 8899, "tok", settings)
    assert "--ip=127.0.0.1" in args and "--ServerApp.port=8899" in args
    assert "--ServerApp.port_retries=0" in args  # the printed URL is the real one
    assert "--IdentityProvider.token=tok" in args
    assert "--ServerApp.log_level=WARN" in args
    hidden = json.loads(next(a for a in args if a.startswith("--ContentsManager.hide_globs="))
                        .split("=", 1)[1])
    assert "*.egg-info" in hidden and "__pycache__" in hidden
    assert f"--LabApp.app_settings_dir={settings}" in args
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in args


def test_the_settings_overrides_turn_off_news_and_update_checks(tmp_path):
    lab = load_lab_module()
    folder = lab.lab_settings_dir(tmp_path)
    overrides = json.loads((folder / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {
        "fetchNews": "false", "checkForUpdates": False}


def test_kernel_tcp_notice_is_filtered_but_real_errors_pass(tmp_path):
    lab = load_lab_module()
    source = io.StringIO(
        "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All ...\n"
        "[E 2026-11-30 ServerApp] Uncaught exception in /api/kernels\n"
    )
    sink = io.StringIO()
    lab.forward_without_noise(source, sink)
    assert sink.getvalue() == "[E 2026-11-30 ServerApp] Uncaught exception in /api/kernels\n"


def test_free_port_skips_a_port_in_use():
    import socket

    lab = load_lab_module()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert lab.free_port(port, tries=5) != port
    with pytest.raises(lab.TargetError, match="No free port"):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            lab.free_port(busy.getsockname()[1], tries=1)
