"""What only AWS does to a cleanup: throttling, IAM's DeleteConflict, and asking before deleting.

botocore's Stubber plays AWS's answers; moto in-process stands in for the account when the whole
command runs with the target switched to "aws" (connect() is replaced, so nothing leaves the
process).
"""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from workshop import cleanup
from workshop.cleanup import (
    API_DELETE_ATTEMPTS,
    API_DELETE_INTERVAL_SECONDS,
    KIND_REST_API,
    KIND_ROLE,
    Cleaner,
    CleanupError,
    Clients,
    Resource,
    ask_confirmation,
)
from workshop.naming import resource_names
from workshop.target import Target

API = Resource(KIND_REST_API, "inventory-tester-api", "tester", "a1b2c3d4e5")
ROLE = Resource(KIND_ROLE, "inventory-tester-lambda-role", "tester", "inventory-tester-lambda-role")


class FakeTerminal(io.StringIO):
    """A stdin that says it is a terminal and holds the user's answer."""

    def isatty(self) -> bool:
        return True


def make_cleaner(out: io.StringIO, waits: list[float]) -> tuple[Cleaner, Clients]:
    clients = Clients(region="us-east-1")
    return Cleaner(clients, out=out, sleep=waits.append), clients


# --- throttling -----------------------------------------------------------------------------


def test_api_deletion_retries_after_too_many_requests():
    out, waits = io.StringIO(), []
    cleaner, clients = make_cleaner(out, waits)
    with Stubber(clients.single_try("apigateway")) as stub:
        stub.add_client_error("delete_rest_api", "TooManyRequestsException", http_status_code=429,
                              expected_params={"restApiId": "a1b2c3d4e5"})
        stub.add_response("delete_rest_api", {}, {"restApiId": "a1b2c3d4e5"})
        outcome = cleaner.delete(API)
        stub.assert_no_pending_responses()
    assert outcome.status == "deleted"
    assert waits == [API_DELETE_INTERVAL_SECONDS]
    assert "one API deletion per 30 s" in out.getvalue()


def test_api_deletion_gives_up_after_the_last_attempt_and_says_so():
    out, waits = io.StringIO(), []
    cleaner, clients = make_cleaner(out, waits)
    with Stubber(clients.single_try("apigateway")) as stub:
        for _ in range(API_DELETE_ATTEMPTS):
            stub.add_client_error("delete_rest_api", "TooManyRequestsException",
                                  http_status_code=429, service_message="Too Many Requests")
        outcome = cleaner.delete(API)
    assert outcome.status == "failed"
    assert outcome.message == "TooManyRequestsException: Too Many Requests"
    assert len(waits) == API_DELETE_ATTEMPTS - 1


def test_an_api_already_deleted_is_already_gone():
    cleaner, clients = make_cleaner(io.StringIO(), [])
    with Stubber(clients.single_try("apigateway")) as stub:
        stub.add_client_error("delete_rest_api", "NotFoundException", http_status_code=404)
        outcome = cleaner.delete(API)
    assert outcome.status == "already gone" and outcome.ok


def test_clients_use_botocores_standard_retry_mode():
    clients = Clients(region="us-east-1")
    retries = clients("lambda").meta.config.retries
    assert retries["mode"] == "standard" and retries["total_max_attempts"] >= 5
    # API deletion retries on its own schedule (and says so), so botocore must not retry it too.
    assert clients.single_try("apigateway").meta.config.retries["total_max_attempts"] == 1


# --- IAM DeleteConflict ---------------------------------------------------------------------


def empty_role_listing(stub: Stubber) -> None:
    stub.add_response("list_role_policies", {"PolicyNames": []})
    stub.add_response("list_attached_role_policies", {"AttachedPolicies": []})
    stub.add_response("list_instance_profiles_for_role", {"InstanceProfiles": []})


def test_role_deletion_detaches_again_and_retries_on_delete_conflict():
    """IAM is eventually consistent: a policy attached at the last moment blocks DeleteRole."""
    out, waits = io.StringIO(), []
    cleaner, clients = make_cleaner(out, waits)
    role = {"RoleName": ROLE.name}
    late_policy = "arn:aws:iam::123456789012:policy/late"
    with Stubber(clients("iam")) as stub:
        stub.add_response("list_role_policies", {"PolicyNames": ["table-access"]}, role)
        stub.add_response("delete_role_policy", {}, {**role, "PolicyName": "table-access"})
        stub.add_response("list_attached_role_policies", {"AttachedPolicies": []}, role)
        stub.add_response("list_instance_profiles_for_role", {"InstanceProfiles": []}, role)
        stub.add_client_error("delete_role", "DeleteConflict", http_status_code=409,
                              service_message="Cannot delete entity, must detach all policies first.")
        stub.add_response("list_role_policies", {"PolicyNames": []}, role)
        stub.add_response("list_attached_role_policies", {"AttachedPolicies": [
            {"PolicyName": "late", "PolicyArn": late_policy}]}, role)
        stub.add_response("detach_role_policy", {}, {**role, "PolicyArn": late_policy})
        stub.add_response("list_instance_profiles_for_role", {"InstanceProfiles": []}, role)
        stub.add_response("delete_role", {}, role)
        outcome = cleaner.delete(ROLE)
        stub.assert_no_pending_responses()
    assert outcome.status == "deleted"
    assert len(waits) == 1
    assert "must detach all policies first" in out.getvalue()


def test_role_deletion_reports_a_conflict_that_does_not_clear():
    cleaner, clients = make_cleaner(io.StringIO(), [])
    with Stubber(clients("iam")) as stub:
        for _ in range(cleanup.ROLE_DELETE_ATTEMPTS):
            empty_role_listing(stub)
            stub.add_client_error("delete_role", "DeleteConflict", http_status_code=409,
                                  service_message="still in use")
        outcome = cleaner.delete(ROLE)
    assert (outcome.status, outcome.message) == ("failed", "DeleteConflict: still in use")


# --- confirmation ---------------------------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [("yes\n", True), ("y\n", True), ("YES\n", True),
                                              ("no\n", False), ("\n", False), ("", False)])
def test_confirmation_needs_an_explicit_yes(answer, expected):
    out = io.StringIO()
    assert ask_confirmation([API], where="AWS account 1", stdin=FakeTerminal(answer),
                            out=out) is expected
    assert "Delete these 1 resource(s) in AWS account 1?" in out.getvalue()


def test_confirmation_refuses_without_a_terminal_instead_of_hanging():
    with pytest.raises(CleanupError, match="Re-run with --yes"):
        ask_confirmation([API], where="AWS account 1", stdin=io.StringIO("yes\n"))


@pytest.fixture
def on_aws(moto_aws, monkeypatch):
    """The command believes it talks to AWS; moto answers in-process."""
    import workshop.target

    monkeypatch.setattr(workshop.target, "connect", lambda **_: Target(
        name="aws", region="us-east-1", account_id="123456789012"))
    return moto_aws


def remaining_tables() -> list[str]:
    import boto3

    return boto3.client("dynamodb").list_tables()["TableNames"]


def test_on_aws_the_command_asks_and_no_keeps_everything(on_aws, capsys):
    on_aws.table(resource_names("tester").table, "tester")
    out = io.StringIO()

    status = cleanup.main(["--owner", "tester"], stdin=FakeTerminal("no\n"), out=out)

    assert status == 2
    assert remaining_tables() == ["inventory-tester-products"]
    assert "Cleanup cancelled: nothing was deleted." in capsys.readouterr().err


def test_on_aws_the_command_asks_and_yes_deletes(on_aws):
    on_aws.table(resource_names("tester").table, "tester")
    out = io.StringIO()

    status = cleanup.main(["--owner", "tester"], stdin=FakeTerminal("yes\n"), out=out)

    assert status == 0, out.getvalue()
    assert remaining_tables() == []
    assert "Type 'yes' to continue" in out.getvalue()


def test_on_aws_without_a_terminal_the_command_refuses(on_aws, capsys):
    on_aws.table(resource_names("tester").table, "tester")

    status = cleanup.main([], stdin=io.StringIO(""), out=io.StringIO())

    assert status == 2
    assert remaining_tables() == ["inventory-tester-products"]
    assert "there is no terminal to ask on" in capsys.readouterr().err


def test_on_aws_yes_skips_the_question(on_aws):
    on_aws.table(resource_names("tester").table, "tester")
    status = cleanup.main(["--yes"], stdin=io.StringIO(""), out=io.StringIO())
    assert status == 0 and remaining_tables() == []


def test_on_aws_a_dry_run_needs_no_confirmation(on_aws):
    on_aws.table(resource_names("tester").table, "tester")
    out = io.StringIO()
    status = cleanup.main(["--dry-run"], stdin=io.StringIO(""), out=out)
    assert status == 0 and remaining_tables() == ["inventory-tester-products"]
    assert "DynamoDB table inventory-tester-products" in out.getvalue()


def test_a_bad_owner_name_is_refused(capsys):
    assert cleanup.main(["--owner", "!!!"], out=io.StringIO()) == 2
    assert "WORKSHOP_OWNER" in capsys.readouterr().err


def test_a_failed_step_makes_the_exit_status_non_zero(on_aws, monkeypatch):
    on_aws.table(resource_names("tester").table, "tester")

    def refuse(self, resource):
        raise ClientError({"Error": {"Code": "AccessDeniedException",
                                             "Message": "not allowed"}}, "DeleteTable")

    monkeypatch.setattr(Cleaner, "delete_table", refuse)
    out = io.StringIO()
    assert cleanup.main(["--yes"], out=out) == 1
    text = out.getvalue()
    assert ("✘ failed DynamoDB table inventory-tester-products: "
            "AccessDeniedException: not allowed") in text
    assert "still there" in text
