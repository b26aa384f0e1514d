"""The scripts on the real local cloud: deploy, check, clean up, check again.

The reference stack is built by ``workshop.deploy.deploy()`` (the solution notebooks' build cells),
each scenario under its own owner so the shared stack other tests use (owner ``tester``) is never
touched. ``scripts/check.py`` and ``scripts/cleanup.py`` run as subprocesses, as a learner runs
them; they find the local cloud through WORKSHOP_STATE_DIR / AWS_ENDPOINT_URL set by the
``local_cloud`` fixture.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from workshop.checks import Checker
from workshop.cleanup import Cleaner, Clients, discover
from workshop.naming import resource_names
from workshop.paths import REPO_ROOT, SOLUTION_LAMBDA_DIR
from workshop.target import connect
from scripts_support import StackBuilder, snapshot

pytestmark = pytest.mark.localcloud

FLOW = "scripts-flow"
CLASSMATE = "scripts-flow2"  # a classmate whose names start like FLOW's
BROKEN = "scripts-broken"
PARTIAL = "scripts-partial"
NOBODY = "scripts-nobody"
OURS = (FLOW, CLASSMATE, BROKEN, PARTIAL)


@contextlib.contextmanager
def as_owner(owner: str) -> Iterator[None]:
    saved = os.environ.get("WORKSHOP_OWNER")
    os.environ["WORKSHOP_OWNER"] = owner
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("WORKSHOP_OWNER", None)
        else:
            os.environ["WORKSHOP_OWNER"] = saved


def deploy_as(owner: str, through: int | None = None) -> dict:
    from workshop.deploy import deploy

    with as_owner(owner):
        return deploy(through=through, quiet=True)


def run_script(name: str, *args: str, owner: str = FLOW) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKSHOP_OWNER": owner, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / name), *args],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, timeout=240)


@pytest.fixture(scope="module")
def target(local_cloud):
    target = connect(quiet=True)
    yield target
    # Leave the shared local cloud as we found it: remove every stack this module built.
    cleaner = Cleaner(Clients(region=target.region), out=io.StringIO(), poll_interval=0.05)
    for owner in OURS:
        cleaner.run(owner)


@pytest.fixture(scope="module")
def decoys(target) -> dict[str, str]:
    """Look-alikes without the workshop's tags, beside FLOW's stack."""
    names = resource_names(FLOW)
    build = StackBuilder()
    role_arn = build.role(f"{names.role}-copy")
    build.table(f"{names.table}-backup")
    build.function(f"{names.function}-v2", role_arn)
    build.log_group(f"{names.log_group}-v2")
    return {"api": build.api(names.api), "role": f"{names.role}-copy",
            "table": f"{names.table}-backup", "function": f"{names.function}-v2"}


def test_deploy_check_cleanup_check(target, decoys):
    """The learner's whole path, with a classmate and look-alikes in the same account."""
    stack = deploy_as(FLOW)
    classmate = deploy_as(CLASSMATE)
    assert stack["owner"] == FLOW and stack["api_url"].endswith("/prod")

    # GIVEN a deployed stack, THEN every check passes (lab 02 read from the reference files).
    checked = run_script("check.py", "--lambda-dir", str(SOLUTION_LAMBDA_DIR))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "✘" not in checked.stdout and " 0 failed." in checked.stdout
    assert "✔ GET /health answers 200" in checked.stdout
    assert ("✔ a CORS preflight (OPTIONS /product) answers with Access-Control-Allow-Origin"
            in checked.stdout)

    # WHEN a dry run lists the stack, THEN nothing changes.
    before = snapshot()
    dry = run_script("cleanup.py", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert snapshot() == before
    assert f"REST API {resource_names(FLOW).api} ({stack['api_id']})" in dry.stdout
    assert "Dry run: nothing was deleted" in dry.stdout

    # WHEN the cleanup runs, THEN FLOW's five resources go and nothing else does.
    cleaned = run_script("cleanup.py", "--yes")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    after = snapshot()
    gone = {key: before[key] - after[key] for key in before}
    names = resource_names(FLOW)
    assert gone == {"tables": {names.table}, "roles": {names.role}, "functions": {names.function},
                    "log_groups": {names.log_group}, "apis": {stack["api_id"]}, "policies": set()}
    assert decoys["api"] in after["apis"] and decoys["table"] in after["tables"]
    assert decoys["role"] in after["roles"] and decoys["function"] in after["functions"]
    assert "✔ Nothing of scripts-flow's is left." in cleaned.stdout

    # THEN the lab 07 check names only the untagged API that has FLOW's exact name (cleanup may
    # not prove it is FLOW's) ...
    flagged = run_script("check.py", "07")
    assert flagged.returncode == 1
    assert [line.strip() for line in flagged.stdout.splitlines() if "✘" in line] == [
        f"✘ REST API {names.api} ({decoys['api']}) is gone"]
    assert "cleanup.py never deletes untagged resources" in flagged.stdout
    # ... and once the learner deletes it by hand, finds nothing of FLOW's.
    boto3.client("apigateway").delete_rest_api(restApiId=decoys["api"])
    after["apis"].discard(decoys["api"])
    final = run_script("check.py", "07")
    assert final.returncode == 0, final.stdout + final.stderr
    assert "✔ nothing of scripts-flow's is left" in final.stdout
    results = Checker(target, CLASSMATE, lambda_dir=None).run(["01", "03", "04"])
    assert [r.title for r in results if not r.passed] == []
    assert classmate["api_id"] in after["apis"]

    # WHEN the cleanup runs again, THEN it changes nothing and still succeeds.
    again = run_script("cleanup.py", "--yes")
    assert again.returncode == 0 and snapshot() == after
    assert "Nothing of scripts-flow's was found" in again.stdout


def test_check_fails_with_hints_when_nothing_is_built(target):
    result = run_script("check.py", "04", owner=NOBODY)
    assert result.returncode == 1
    out = result.stdout
    assert "✘ table inventory-scripts-nobody-products exists" in out
    assert "fix:   lab 01 (01-dynamodb-table): create the table" in out
    assert "✘ function inventory-scripts-nobody-api exists" in out
    assert "✘ REST API inventory-scripts-nobody-api exists" in out
    assert "python scripts/deploy.py --through 04" in out


def test_a_broken_stack_gets_one_failed_line_per_mistake(target):
    """GIVEN the lab 06 kind of breakage (no permission, wrong env, a '*' policy)."""
    stack = deploy_as(BROKEN)
    names = resource_names(BROKEN)
    lam, iam = boto3.client("lambda"), boto3.client("iam")
    policy = json.loads(lam.get_policy(FunctionName=names.function)["Policy"])
    for statement in policy["Statement"]:
        lam.remove_permission(FunctionName=names.function, StatementId=statement["Sid"])
    lam.update_function_configuration(FunctionName=names.function,
                                      Environment={"Variables": {"TABLE_NAME": "wrong"}})
    iam.put_role_policy(RoleName=names.role, PolicyName=names.role_policy, PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                      {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                       "Resource": "*"}]}))

    results = Checker(target, BROKEN, lambda_dir=None).run(["01", "03", "04"])

    failed = {r.title: r for r in results if not r.passed}
    assert set(failed) == {
        "role grants the table's actions on this table only",
        "environment TABLE_NAME is inventory-scripts-broken-products",
        "API Gateway may invoke the function (Lambda permission)",
        "GET /health answers 200",
    }
    assert failed["GET /health answers 200"].detail.startswith("status 500")
    assert "dynamodb:*" in failed["role grants the table's actions on this table only"].detail
    assert failed["API Gateway may invoke the function (Lambda permission)"].hint.startswith(
        "lab 04 (04-api-gateway): add_permission(")
    assert stack["api_id"]


def test_a_partial_stack_is_cleaned(target):
    """Caught up only through lab 03: a function with no API in front of it."""
    stack = deploy_as(PARTIAL, through=3)
    assert stack["api_id"] is None
    clients = Clients(region=target.region)
    assert {r.kind for r in discover(PARTIAL, clients=clients)} >= {"function", "role", "table"}

    result = run_script("cleanup.py", "--yes", owner=PARTIAL)

    assert result.returncode == 0, result.stdout + result.stderr
    assert discover(PARTIAL, clients=clients) == []


def test_instructors_see_one_row_per_learner(target):
    deploy_as(CLASSMATE)  # idempotent: already there from the flow test, or built now
    result = run_script("check.py", "--all-owners")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()
            if line.startswith("scripts-")}
    assert rows[CLASSMATE] == ["✔", "✔", "✔", "✔", "✔", "–", "06"]  # lab 08 not started
    header = next(line for line in result.stdout.splitlines() if line.startswith("owner"))
    assert header.split() == ["owner", "01", "03", "04", "05", "06", "08", "reached"]
