"""The classroom, rehearsed: a least-privilege learner runs the whole workshop on the local cloud.

INSTRUCTORS.md prints the IAM policy a classroom learner gets in the shared AWS account. This test
reads that policy *from the document* (so the document stays true), gives it to a local IAM user
through a group (as an instructor would: one group or permission set for the class), creates an
access key, and as that user, in subprocesses as a learner runs them, with
``WORKSHOP_LOCAL_CREDENTIALS=environment`` so the local target signs with the user's keys instead
of the root's:

* ``deploy.py --through 08`` builds the whole stack, lab 08's protection included (the stock
  route, the TOKEN authorizer with its own role and log group, the API key and the usage plan),
  and ``check.py 08`` passes every lab;
* ``postman_env.py`` hands the learner their API key and a token (as the notebook's
  ``api_credentials()`` does), and with them the API's CRUD flow and ``POST /product/stock`` work
  through the gateway (the functions run as their execution roles); without the token API
  Gateway answers 401, without the key 403;
* ``cleanup.py --yes`` removes everything of the learner's, lab 08's keys, plan, authorizer
  function, role and log group included, and nothing of a classmate's lab-08 stack in the same
  account, and no untagged look-alike; ``check.py 07`` passes;
* with the policy narrowed (no ``iam:ListRoleTags``, no ``dynamodb:ListTables``, or, beside a
  lab-08 stack, no ``/apikeys`` path for API Gateway), cleanup and ``check.py 07`` name the
  refused action and exit non-zero: neither claims "nothing is left", and what could not be
  seen is still there.

The local cloud enforces the policy as AWS does (workshop/localcloud/iam: each action against its
real resource ARN and condition keys, per the Service Authorization Reference).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
import requests

from workshop.naming import resource_names
from workshop.paths import REPO_ROOT, SOLUTION_LAMBDA_DIR
from workshop.protection import find_api_key, find_usage_plan, protection_names
from workshop.target import LOCAL_ACCOUNT_ID, connect

pytestmark = pytest.mark.localcloud

LEARNER = "class-ada"
CLASSMATE = "class-grace"
NARROW = "class-linus"
INSTRUCTORS = REPO_ROOT / "INSTRUCTORS.md"
POLICY_HEADING = "### IAM permissions learners need"
# Where lab 08's API keys live (API Gateway authorizes per path: "/apikeys" lists and creates).
API_KEY_RESOURCES = ("arn:aws:apigateway:*::/apikeys", "arn:aws:apigateway:*::/apikeys/*")
# AWS's quota for a customer managed policy: 6,144 characters, whitespace not counted (IAM and
# STS quotas, "IAM object quotas").
MANAGED_POLICY_MAX_CHARACTERS = 6144


def learner_policy_text() -> str:
    """The first ```json block after the learner-policy heading of INSTRUCTORS.md."""
    text = INSTRUCTORS.read_text(encoding="utf-8")
    section = text[text.index(POLICY_HEADING):]
    match = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert match, f"no ```json block after {POLICY_HEADING!r} in INSTRUCTORS.md"
    return match.group(1)


def learner_policy(*, without: tuple[str, ...] = (), without_resources: tuple[str, ...] = ()
                   ) -> dict:
    """The document's policy for this account, optionally with some actions or resources taken
    out (API Gateway's actions are HTTP methods: narrowing them means taking out a path)."""
    text = learner_policy_text()
    assert "ACCOUNT" in text, "the policy's placeholder for the account id has changed"
    policy = json.loads(text.replace("ACCOUNT", LOCAL_ACCOUNT_ID))
    for statement in policy["Statement"]:
        for field, taken_out in (("Action", without), ("Resource", without_resources)):
            values = statement[field] if isinstance(statement[field], list) else [statement[field]]
            statement[field] = [value for value in values if value not in taken_out]
    return policy


def test_the_documented_policy_is_valid_and_fits_a_managed_policy():
    policy = learner_policy()
    assert policy["Version"] == "2012-10-17"
    compact = re.sub(r"\s", "", json.dumps(policy))
    assert len(compact) <= MANAGED_POLICY_MAX_CHARACTERS
    sids = [statement["Sid"] for statement in policy["Statement"]]
    assert len(sids) == len(set(sids))


def test_narrowing_really_removes_the_action():
    narrowed = json.dumps(learner_policy(without=("iam:ListRoleTags",)))
    assert "iam:ListRoleTags" not in narrowed and "iam:ListRoles" in narrowed


def test_narrowing_really_removes_the_resource():
    narrowed = learner_policy(without_resources=API_KEY_RESOURCES)
    resources = [resource for statement in narrowed["Statement"]
                 for resource in statement["Resource"]]
    assert not set(API_KEY_RESOURCES) & set(resources)
    assert "arn:aws:apigateway:*::/usageplans" in resources


# --- the local IAM users -------------------------------------------------------------------


def create_learner(owner: str, policy: dict) -> dict[str, str]:
    """An IAM user in a group with ``policy`` (as a managed policy), and its access key."""
    iam = boto3.client("iam")
    group = f"workshop-learners-{owner}"
    iam.create_group(GroupName=group)
    policy_arn = iam.create_policy(PolicyName=f"workshop-learner-{owner}",
                                   PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)
    user = f"learner-{owner}"
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def remove_learner(owner: str) -> None:
    iam = boto3.client("iam")
    user, group = f"learner-{owner}", f"workshop-learners-{owner}"
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.remove_user_from_group(GroupName=group, UserName=user)
        iam.delete_user(UserName=user)
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        for policy in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]:
            iam.detach_group_policy(GroupName=group, PolicyArn=policy["PolicyArn"])
            iam.delete_policy(PolicyArn=policy["PolicyArn"])
        iam.delete_group(GroupName=group)


def run_as(keys: dict[str, str], owner: str, script: str, *args: str
           ) -> subprocess.CompletedProcess:
    """``scripts/<script>`` as the learner: their keys, their owner name, the local target."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")}
    env.update(keys)
    env.update({"WORKSHOP_OWNER": owner, "WORKSHOP_TARGET": "local",
                "WORKSHOP_LOCAL_CREDENTIALS": "environment", "PYTHONIOENCODING": "utf-8"})
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / script), *args],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, timeout=300)


def deploy_as_root(owner: str, through: int | None = None) -> dict:
    from workshop.deploy import deploy

    saved = os.environ.get("WORKSHOP_OWNER")
    os.environ["WORKSHOP_OWNER"] = owner
    try:
        return deploy(through=through, quiet=True)
    finally:
        os.environ["WORKSHOP_OWNER"] = saved or ""
        if saved is None:
            os.environ.pop("WORKSHOP_OWNER")


def inventory(owner: str) -> dict[str, bool]:
    """Which of ``owner``'s named resources exist, lab 08's included (read as the root)."""
    names = resource_names(owner)
    guard = protection_names(names)

    def exists(call, **kwargs) -> bool:
        try:
            call(**kwargs)
            return True
        except boto3.client("sts").exceptions.ClientError:
            return False

    logs, apigateway = boto3.client("logs"), boto3.client("apigateway")
    groups = {group["logGroupName"] for prefix in (names.log_group, guard.authorizer_log_group)
              for group in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]}
    return {
        "table": exists(boto3.client("dynamodb").describe_table, TableName=names.table),
        "role": exists(boto3.client("iam").get_role, RoleName=names.role),
        "function": exists(boto3.client("lambda").get_function, FunctionName=names.function),
        "log group": names.log_group in groups,
        "api": any(api["name"] == names.api for api in
                   apigateway.get_rest_apis(limit=500)["items"]),
        "authorizer role": exists(boto3.client("iam").get_role, RoleName=guard.authorizer_role),
        "authorizer function": exists(boto3.client("lambda").get_function,
                                      FunctionName=guard.authorizer_function),
        "authorizer log group": guard.authorizer_log_group in groups,
        "usage plan": find_usage_plan(apigateway, guard) is not None,
        "api key": find_api_key(apigateway, guard) is not None,
    }


@pytest.fixture(scope="module")
def classroom(local_cloud) -> Iterator[dict]:
    """The class account: a classmate's stack, look-alikes, and the learner's IAM user."""
    connect(quiet=True)
    from workshop.cleanup import Cleaner, Clients

    deploy_as_root(CLASSMATE, through=8)
    names = resource_names(LEARNER)
    iam, ddb = boto3.client("iam"), boto3.client("dynamodb")
    lookalike_role = f"{names.role}-copy"  # untagged, with the learner's name in it
    iam.create_role(RoleName=lookalike_role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    lookalike_table = f"{names.table}-backup"
    ddb.create_table(TableName=lookalike_table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}])
    keys = create_learner(LEARNER, learner_policy())
    yield {"keys": keys, "lookalike_role": lookalike_role, "lookalike_table": lookalike_table}
    remove_learner(LEARNER)
    iam.delete_role(RoleName=lookalike_role)
    ddb.delete_table(TableName=lookalike_table)
    cleaner = Cleaner(Clients(region="us-east-1"), out=__import__("io").StringIO(),
                      poll_interval=0.05)
    for owner in (LEARNER, CLASSMATE):
        cleaner.run(owner)


@pytest.mark.timeout(900)
def test_a_least_privilege_learner_runs_the_whole_workshop(classroom):
    keys = classroom["keys"]
    names = resource_names(LEARNER)

    # GIVEN the learner's keys, WHEN they catch up through lab 08, THEN the whole stack, lab 08's
    # protection included, is built as them
    built = run_as(keys, LEARNER, "deploy.py", "--through", "8", "--json")
    assert built.returncode == 0, built.stdout + built.stderr
    stack = json.loads(built.stdout)
    assert stack["owner"] == LEARNER and stack["api_url"]
    assert inventory(LEARNER) == dict.fromkeys(inventory(LEARNER), True)
    identity = run_as(keys, LEARNER, "check.py", "00")
    assert identity.returncode == 0, identity.stdout + identity.stderr

    # THEN every check passes, lab 08's too (lab 02 read from the reference files)
    checked = run_as(keys, LEARNER, "check.py", "08", "--lambda-dir", str(SOLUTION_LAMBDA_DIR))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " 0 failed." in checked.stdout and "08-stock-and-protection" in checked.stdout

    # WHEN the learner asks for their API key and a token (the Postman environment, made with
    # the notebook's api_credentials()), THEN both are there: reading them is allowed
    postman = run_as(keys, LEARNER, "postman_env.py", "--out", "-")
    assert postman.returncode == 0, postman.stdout + postman.stderr
    assert "no lab 08 credentials" not in postman.stderr, postman.stderr
    values = {value["key"]: value["value"] for value in json.loads(postman.stdout)["values"]}
    assert values["baseUrl"] == stack["api_url"]
    key_only = {"x-api-key": values["apiKey"]}
    token_only = {"Authorization": f"Bearer {values['token']}"}
    both = key_only | token_only

    # THEN the API's CRUD flow works with them (the function acts as its own execution role)
    api = stack["api_url"]
    product = {"productId": "rehearsal-1", "name": "Kettle", "price": 19.99, "quantity": 5}
    created = requests.post(f"{api}/product", json=product, headers=both, timeout=60)
    assert created.status_code == 201, created.text
    got = requests.get(f"{api}/product", params={"productId": "rehearsal-1"}, timeout=60)
    assert got.status_code == 200 and got.json()["price"] == 19.99
    patched = requests.patch(f"{api}/product", json={"productId": "rehearsal-1",
                                                      "updateKey": "price", "updateValue": 24.5},
                             headers=both, timeout=60)
    assert patched.status_code == 200, patched.text
    listed = requests.get(f"{api}/products", timeout=60)
    assert listed.status_code == 200 and listed.json()["count"] >= 1

    # THEN lab 08's door: the stock change needs the token (401 without) and the key (403 without)
    change = {"productId": "rehearsal-1", "change": -2}
    stocked = requests.post(f"{api}/product/stock", json=change, headers=both, timeout=60)
    assert stocked.status_code == 200, stocked.text
    assert stocked.json()["quantity"] == 3
    no_token = requests.post(f"{api}/product/stock", json=change, headers=key_only, timeout=60)
    assert no_token.status_code == 401, no_token.text
    assert no_token.json() == {"message": "Unauthorized"}
    no_key = requests.post(f"{api}/product/stock", json=change, headers=token_only, timeout=60)
    assert no_key.status_code == 403, no_key.text
    assert no_key.json() == {"message": "Forbidden"}
    unchanged = requests.get(f"{api}/product", params={"productId": "rehearsal-1"}, timeout=60)
    assert unchanged.json()["quantity"] == 3
    deleted = requests.delete(f"{api}/product", json={"productId": "rehearsal-1"}, headers=both,
                              timeout=60)
    assert deleted.status_code == 200, deleted.text

    # WHEN the learner cleans up, THEN all of theirs goes (lab 08's keys, plan, authorizer and
    # its role and log group too), nothing of the classmate's lab-08 stack, no look-alike
    cleaned = run_as(keys, LEARNER, "cleanup.py", "--yes")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"Nothing of {LEARNER}'s is left." in cleaned.stdout
    assert inventory(LEARNER) == dict.fromkeys(inventory(LEARNER), False)
    assert inventory(CLASSMATE) == dict.fromkeys(inventory(CLASSMATE), True)
    boto3.client("iam").get_role(RoleName=classroom["lookalike_role"])
    boto3.client("dynamodb").describe_table(TableName=classroom["lookalike_table"])
    assert names.table not in boto3.client("dynamodb").list_tables()["TableNames"]

    # THEN lab 07's check passes as the learner
    final = run_as(keys, LEARNER, "check.py", "07")
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"nothing of {LEARNER}'s is left" in final.stdout


@pytest.fixture
def narrow_stack(request, local_cloud) -> Iterator[None]:
    """NARROW's stack, built as the root through lab 03 (or the lab given by indirect param)."""
    connect(quiet=True)
    deploy_as_root(NARROW, through=getattr(request, "param", 3))
    yield
    import io

    from workshop.cleanup import Cleaner, Clients

    Cleaner(Clients(region="us-east-1"), out=io.StringIO(), poll_interval=0.05).run(NARROW)
    remove_learner(NARROW)


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("missing", "kept"), [
    ("iam:ListRoleTags", "role"),
    ("dynamodb:ListTables", "table"),
])
def test_a_narrowed_policy_is_reported_never_nothing_left(narrow_stack, missing, kept):
    # GIVEN the learner policy without one action cleanup needs
    keys = create_learner(NARROW, learner_policy(without=(missing,)))

    # WHEN the learner cleans up, THEN the refusal is named and the exit status says so
    cleaned = run_as(keys, NARROW, "cleanup.py", "--yes")
    output = cleaned.stdout + cleaned.stderr
    assert cleaned.returncode != 0, output
    assert missing in output and "AccessDenied" in output
    assert f"Nothing of {NARROW}'s is left." not in output
    assert "there is nothing to delete" not in output
    assert inventory(NARROW)[kept], f"the {kept} could not be seen, so it must still be there"

    # WHEN lab 07 is checked, THEN it fails naming the refusal, never "nothing is left"
    checked = run_as(keys, NARROW, "check.py", "07")
    assert checked.returncode != 0, checked.stdout + checked.stderr
    assert missing in checked.stdout
    assert f"nothing of {NARROW}'s is left" not in checked.stdout


@pytest.mark.timeout(600)
@pytest.mark.parametrize("narrow_stack", [8], indirect=True)
def test_without_the_api_keys_path_cleanup_keeps_lab_08s_key_and_says_so(narrow_stack):
    # GIVEN a lab-08 stack and a policy that may not touch /apikeys (one written before lab 08)
    keys = create_learner(NARROW, learner_policy(without_resources=API_KEY_RESOURCES))

    # WHEN the learner cleans up, THEN the refused listing is named and the exit status says so
    cleaned = run_as(keys, NARROW, "cleanup.py", "--yes")
    output = cleaned.stdout + cleaned.stderr
    assert cleaned.returncode != 0, output
    assert "apigateway:GET" in output and "/apikeys" in output and "AccessDenied" in output
    assert f"Nothing of {NARROW}'s is left." not in output
    assert inventory(NARROW)["api key"], "the key could not be listed, so it must still be there"

    # WHEN lab 07 is checked, THEN it fails naming the refusal, never "nothing is left"
    checked = run_as(keys, NARROW, "check.py", "07")
    assert checked.returncode != 0, checked.stdout + checked.stderr
    assert "/apikeys" in checked.stdout
    assert f"nothing of {NARROW}'s is left" not in checked.stdout


@pytest.mark.timeout(600)
def test_without_create_log_group_lab_03_fails_naming_it(local_cloud):
    """What the old policy did to every learner on AWS: lab 03 (and every catch-up) stopped."""
    connect(quiet=True)
    owner = f"{NARROW}-logs"
    keys = create_learner(owner, learner_policy(without=("logs:CreateLogGroup",)))
    try:
        built = run_as(keys, owner, "deploy.py", "--through", "3")
        assert built.returncode == 1
        assert "Building lab 03 failed" in built.stderr
        assert "logs:CreateLogGroup" in built.stderr and "AccessDeniedException" in built.stderr
    finally:
        import io

        from workshop.cleanup import Cleaner, Clients

        Cleaner(Clients(region="us-east-1"), out=io.StringIO(), poll_interval=0.05).run(owner)
        remove_learner(owner)
