"""Switching a running notebook between the local cloud and AWS keeps the learner's environment.

Lab 00 tells a learner who started JupyterLab before ``export WORKSHOP_TARGET=aws`` to run
``%env WORKSHOP_TARGET=aws`` and the first cell again. The local connect had removed their
``AWS_PROFILE`` and session token and set the local cloud's region: the switch to AWS must give
them back, or the learner ends up without credentials (or in the wrong region).

The local cloud is replaced by a stand-in address (nothing listens there: no call is made to it)
and STS's GetCallerIdentity by a stand-in answer, so no real AWS is touched; what boto3 would
sign with on AWS is read from a fresh session after the switch.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

import workshop.target as target_module
from workshop.target import LOCAL_CREDENTIALS, LOCAL_REGION, connect

STAND_IN_LOCAL_CLOUD = SimpleNamespace(
    endpoint="http://127.0.0.1:9", gateway="http://127.0.0.1:9", replaced=None, realism=None
)


@pytest.fixture
def switchable(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """A learner environment with a profile in its own config file, and a stand-in local cloud."""
    import workshop.localcloud.lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "ensure_running", lambda *a, **k: STAND_IN_LOCAL_CLOUD)
    monkeypatch.setattr(target_module, "_SAVED_ENVIRONMENT", {})
    config = tmp_path / "config"
    config.write_text("[profile learner]\nregion = eu-west-1\n"
                      "aws_access_key_id = AKIALEARNER\naws_secret_access_key = learner-secret\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for key in target_module.LOCAL_ENVIRONMENT_KEYS:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


class _StandInSts:
    def get_caller_identity(self) -> dict:
        return {"Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/learner"}


def _switch_to_aws(monkeypatch: pytest.MonkeyPatch):
    import boto3

    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    with monkeypatch.context() as patched:
        patched.setattr(boto3.session.Session, "client", lambda self, *a, **k: _StandInSts())
        return connect(quiet=True)


def _signing_key() -> str:
    """The access key a new boto3 session would sign AWS requests with."""
    import boto3

    return boto3.session.Session().get_credentials().access_key


def test_switching_to_aws_restores_the_profile_and_its_region(switchable):
    # GIVEN a learner whose credentials and region come from a profile
    switchable.setenv("AWS_PROFILE", "learner")
    switchable.setenv("WORKSHOP_TARGET", "local")
    # WHEN the notebook first connects locally
    local = connect(quiet=True)
    # THEN the profile is out of the way and the local cloud's fake keys and region are set
    assert local.is_local
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    assert os.environ["AWS_DEFAULT_REGION"] == LOCAL_REGION
    # WHEN the learner switches to AWS and runs the first cell again
    aws = _switch_to_aws(switchable)
    # THEN the profile is back, the fake keys and the local endpoint are gone, and the region is
    # the profile's
    assert os.environ.get("AWS_PROFILE") == "learner"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
                "AWS_DEFAULT_REGION", "AWS_REGION"):
        assert key not in os.environ, key
    assert (aws.name, aws.region) == ("aws", "eu-west-1")
    assert _signing_key() == "AKIALEARNER"


def test_switching_to_aws_restores_keys_session_token_and_region(switchable):
    learner = {"AWS_ACCESS_KEY_ID": "ASIALEARNER", "AWS_SECRET_ACCESS_KEY": "learner-secret",
               "AWS_SESSION_TOKEN": "learner-session-token", "AWS_DEFAULT_REGION": "ap-south-1",
               "AWS_REGION": "ap-south-1"}
    for key, value in learner.items():
        switchable.setenv(key, value)
    switchable.setenv("WORKSHOP_TARGET", "local")
    connect(quiet=True)
    assert "AWS_SESSION_TOKEN" not in os.environ
    connect(quiet=True)  # every notebook's first cell connects again: the originals must survive
    aws = _switch_to_aws(switchable)
    assert {key: os.environ.get(key) for key in learner} == learner
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert aws.region == "ap-south-1"
    assert _signing_key() == "ASIALEARNER"


def test_a_variable_the_learner_changed_after_the_local_connect_stays_theirs(switchable):
    switchable.setenv("AWS_PROFILE", "learner")
    switchable.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    switchable.setenv("WORKSHOP_TARGET", "local")
    connect(quiet=True)
    switchable.setenv("AWS_DEFAULT_REGION", "eu-west-3")  # %env AWS_DEFAULT_REGION=eu-west-3
    aws = _switch_to_aws(switchable)
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-3"
    assert os.environ["AWS_PROFILE"] == "learner"
    assert aws.region == "eu-west-3"


def test_back_and_forth_twice_still_restores(switchable):
    switchable.setenv("AWS_PROFILE", "learner")
    for _ in range(2):
        switchable.setenv("WORKSHOP_TARGET", "local")
        connect(quiet=True)
        assert "AWS_PROFILE" not in os.environ
        assert _switch_to_aws(switchable).region == "eu-west-1"
        assert os.environ["AWS_PROFILE"] == "learner"


def test_without_a_local_connect_before_the_aws_connect_changes_nothing_of_the_learner(switchable):
    switchable.setenv("AWS_PROFILE", "learner")
    aws = _switch_to_aws(switchable)
    assert os.environ["AWS_PROFILE"] == "learner"
    assert aws.region == "eu-west-1"
    assert target_module.restore_learner_environment() == []


def test_the_local_cloud_signs_as_the_root_unless_told_to_keep_the_environments_keys(switchable):
    local_user = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLELOCALUSR", "AWS_SECRET_ACCESS_KEY": "secret"}
    for key, value in local_user.items():
        switchable.setenv(key, value)
    switchable.setenv("WORKSHOP_TARGET", "local")
    connect(quiet=True)
    assert os.environ["AWS_ACCESS_KEY_ID"] == LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    target_module.restore_learner_environment()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLELOCALUSR"

    switchable.setenv("WORKSHOP_LOCAL_CREDENTIALS", "environment")
    local = connect(quiet=True)
    assert local.is_local
    assert {key: os.environ[key] for key in local_user} == local_user
    assert os.environ["AWS_ENDPOINT_URL"] == STAND_IN_LOCAL_CLOUD.endpoint


def test_keeping_the_environments_keys_needs_both_keys(switchable):
    switchable.setenv("WORKSHOP_LOCAL_CREDENTIALS", "environment")
    switchable.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLELOCALUSR")  # no secret: not usable
    switchable.setenv("WORKSHOP_TARGET", "local")
    connect(quiet=True)
    assert os.environ["AWS_ACCESS_KEY_ID"] == LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
