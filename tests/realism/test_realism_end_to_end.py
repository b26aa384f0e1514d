"""Every solution notebook, deploy.py, check.py and cleanup.py once more, in realism mode.

The default suite runs on an instant local cloud, where nothing is ever pending or throttled:
the code paths that only AWS exercises (waiters, retries, throttling back-off, polling for a
permission change) would never run. Here they do: a local cloud of its own with
``WORKSHOP_REALISM=aws``, scaled down (``WORKSHOP_REALISM_SCALE=0.05``: a 10 s role
propagation lasts 0.5 s, DeleteRestApi's 30 s quota 1.5 s) so the run stays short.

The notebooks are executed with nbclient and must finish without a cell error (every
check-your-work cell raises on a failed check). Their outputs are not compared with the stored
ones, as nbval does in the default run: under realism they legitimately differ (a "waiting" line
from a retry, timings), and what matters here is that the code copes, not what it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from workshop.labs import LABS
from workshop.localcloud import lifecycle
from workshop.notebook_runner import execute_notebook, fresh_run_environment
from workshop.paths import REPO_ROOT, SOLUTION_LAMBDA_DIR, SOLUTION_NOTEBOOKS_DIR

pytestmark = pytest.mark.localcloud

SCALE = "0.05"
SCRIPT_OWNER = "realism-script"


@pytest.fixture(scope="module")
def realism_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The environment of a realism-mode local cloud, started here and stopped at the end."""
    state_dir = tmp_path_factory.mktemp("realism-state")
    env = fresh_run_environment(Path(state_dir))
    env.update({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": SCALE})
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # lifecycle.start passes its environment to the local cloud
    try:
        info = lifecycle.start(state_dir=state_dir)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        assert info.realism == {"mode": "aws", "scale": float(SCALE)}
        env["_REALISM_ENDPOINT"] = info.endpoint
        yield env
    finally:
        lifecycle.stop(state_dir)


def observed(env: dict[str, str]) -> dict[str, int]:
    """What the realism-mode local cloud has answered so far that only AWS's time answers."""
    url = env["_REALISM_ENDPOINT"] + "/_localcloud/health"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())["realism_observed"]


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=240, check=False,
    )


def test_status_shows_the_realism_the_local_cloud_started_with(realism_env):
    result = run_script(realism_env, "scripts/local_cloud.py", "status")
    assert result.returncode == 0, result.stderr
    assert "realism:  aws (AWS's delays and quotas, durations x0.05)" in result.stdout
    as_json = json.loads(run_script(realism_env, "scripts/local_cloud.py", "status", "--json").stdout)
    assert as_json["realism"] == {"mode": "aws", "scale": 0.05}


def test_asking_for_another_realism_while_it_runs_says_to_restart(realism_env, capsys, monkeypatch):
    monkeypatch.delenv("WORKSHOP_REALISM", raising=False)
    monkeypatch.delenv("WORKSHOP_REALISM_SCALE", raising=False)
    info = lifecycle.ensure_running(realism_env["WORKSHOP_STATE_DIR"])
    assert info.realism == {"mode": "aws", "scale": 0.05}
    assert "Realism is read at start" in capsys.readouterr().err
    monkeypatch.setenv("WORKSHOP_REALISM", "aws")
    monkeypatch.setenv("WORKSHOP_REALISM_SCALE", SCALE)
    lifecycle.ensure_running(realism_env["WORKSHOP_STATE_DIR"])
    assert capsys.readouterr().err == ""


def test_throttled_calls_are_waited_out_by_the_code_used_on_aws(realism_env, monkeypatch):
    """boto3's standard retries (switched on by connect()) absorb CreateRestApi's quota; the
    cleanup's Retry-After wait absorbs DeleteRestApi's. Both met a real 429 here."""
    import io

    import boto3

    from workshop.cleanup import KIND_REST_API, Cleaner, Clients, Resource
    from workshop.retrying import STANDARD_RETRIES

    monkeypatch.setenv("AWS_ENDPOINT_URL", realism_env["_REALISM_ENDPOINT"])
    for key, value in STANDARD_RETRIES.items():
        monkeypatch.setenv(key, value)
    before = observed(realism_env)
    apigateway = boto3.client("apigateway", region_name="us-east-1")
    ids = [apigateway.create_rest_api(name=f"realism-throttle-{n}",
                                      endpointConfiguration={"types": ["REGIONAL"]})["id"]
           for n in range(3)]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    cleaner = Cleaner(Clients(region="us-east-1"), out=io.StringIO(), sleep=sleep)
    outcomes = [cleaner.delete(Resource(KIND_REST_API, f"realism-throttle-{n}", "nobody", api_id))
                for n, api_id in enumerate(ids)]
    assert [outcome.status for outcome in outcomes] == ["deleted"] * 3
    after = observed(realism_env)
    throttled = {key: after.get(key, 0) - before.get(key, 0) for key in after if key.startswith("throttled")}
    assert throttled.get("throttled: CreateRestApi(regional)", 0) >= 1, after
    assert throttled.get("throttled: DeleteRestApi", 0) >= 1, after
    # The cleanup waited as long as API Gateway asked (Retry-After: 2 s at this scale), not 31 s.
    assert waits and all(wait <= 2 for wait in waits)


@pytest.mark.timeout(600)
def test_every_solution_notebook_runs_without_error_in_realism_mode(realism_env):
    import nbformat

    for lab in sorted(LABS):
        path = SOLUTION_NOTEBOOKS_DIR / f"{LABS[lab]}.ipynb"
        nb = nbformat.read(path, as_version=4)
        # Raises CellExecutionError, naming the cell and its traceback, on the first failure.
        execute_notebook(nb, SOLUTION_NOTEBOOKS_DIR, realism_env)
    # The notebooks really met AWS's time: their waiters saw a table being created and deleted
    # and a function update in progress (each first poll comes before the state is final).
    seen = observed(realism_env)
    for what in ("table read as CREATING", "table read as DELETING", "function read as InProgress"):
        assert seen.get(what, 0) > 0, f"the notebooks never met '{what}': {seen}"


@pytest.mark.timeout(600)
def test_deploy_check_and_cleanup_scripts_succeed_in_realism_mode(realism_env):
    env = {**realism_env, "WORKSHOP_OWNER": SCRIPT_OWNER}
    steps = [
        ("scripts/deploy.py",),
        # The learner's lab 02 files hold TODOs in a fresh clone: check the reference instead.
        ("scripts/check.py", "--lambda-dir", str(SOLUTION_LAMBDA_DIR)),
        ("scripts/cleanup.py", "--yes"),
        ("scripts/check.py", "07"),
    ]
    for step in steps:
        result = run_script(env, *step)
        assert result.returncode == 0, (
            f"{' '.join(step)} failed ({result.returncode}) in realism mode:\n"
            f"{result.stdout}\n{result.stderr}"
        )
