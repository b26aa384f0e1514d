"""IAM enforced by the local cloud, through boto3, as AWS enforces it.

Oracles:
- message: IAM User Guide, "Troubleshooting access denied error messages" — "User: ARN is not
  authorized to perform: ACTION on resource: ARN because no identity-based policy allows the
  ACTION action" / "... with an explicit deny in an identity-based policy";
- shapes: DynamoDB Developer Guide "Error handling" (AccessDeniedException, 400); Lambda 403
  AccessDeniedException (Lambda API reference, Errors, and SDK reports "Service:
  AWSLambdaInternal; Status Code: 403"); CloudWatch Logs / API Gateway / IAM / STS API
  references, Common Errors (400 / 403 / 403 AccessDenied / 403 AccessDenied);
- CloudWatch Logs resource ARNs as AWS's own denials name them (``log-group:NAME:log-stream:``,
  ``log-group::log-stream:`` for DescribeLogGroups);
- Lambda API reference, CreateFunction: InvalidParameterValueException "The role defined for
  the function cannot be assumed by Lambda."; "Lambda execution role" (credentials and logs);
- API Gateway developer guide: an integration's ``credentials`` role invokes the function.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from localcloud_support import REGION, TRUST_POLICY, InProcessCloud, make_zip, unique

from workshop.localcloud import iam as local_iam
from workshop.paths import SOLUTION_LAMBDA_DIR

ACCOUNT = "123456789012"
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Any, resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: Any, resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


def clients_for(cloud: InProcessCloud, credentials: dict[str, str]) -> Any:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=cloud.endpoint,
            region_name=REGION,
            config=Config(retries={"max_attempts": 0}),
            **credentials,
        )

    return client


def new_user(cloud: InProcessCloud, *statements: dict[str, Any]) -> tuple[str, Any]:
    """An IAM user with an inline policy; returns (name, client factory signed with its key)."""
    iam = cloud.client("iam")
    name = unique("learner")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=document(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, clients_for(
        cloud, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    )


def denied(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def implicit(user_arn: str, action: str, resource: str) -> str:
    return (f"User: {user_arn} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action")


def make_table(cloud: InProcessCloud, name: str, tags: list[dict[str, str]] | None = None) -> str:
    return cloud.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tags or [],
    )["TableDescription"]["TableArn"]


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


# -- who is calling ------------------------------------------------------------------------------


def test_the_default_fake_credentials_are_the_unrestricted_root(cloud: InProcessCloud):
    table = unique("root-table")
    make_table(cloud, table)

    cloud.client("dynamodb").put_item(TableName=table, Item={"productId": {"S": "1"}})

    assert cloud.client("sts").get_caller_identity()["Account"] == ACCOUNT
    assert local_iam.identify("testing").arn == f"arn:aws:iam::{ACCOUNT}:root"
    assert cloud.client("dynamodb").get_item(TableName=table, Key={"productId": {"S": "1"}})["Item"]


def test_an_unknown_key_in_aws_format_is_refused_like_aws(cloud: InProcessCloud):
    stranger = clients_for(cloud, {"aws_access_key_id": "AKIA" + "Z" * 16, "aws_secret_access_key": "x"})

    assert denied(stranger("dynamodb").list_tables) == (
        400, "UnrecognizedClientException", "The security token included in the request is invalid.")
    assert denied(stranger("iam").list_roles) == (
        403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    assert denied(stranger("lambda").list_functions)[:2] == (403, "UnrecognizedClientException")


def test_a_deleted_or_inactive_key_stops_working(cloud: InProcessCloud):
    name, client = new_user(cloud, allow("dynamodb:ListTables", "*"))
    iam = cloud.client("iam")
    key_id = iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["AccessKeyId"]
    client("dynamodb").list_tables()

    iam.update_access_key(UserName=name, AccessKeyId=key_id, Status="Inactive")
    assert denied(client("dynamodb").list_tables)[1] == "UnrecognizedClientException"
    iam.update_access_key(UserName=name, AccessKeyId=key_id, Status="Active")
    client("dynamodb").list_tables()
    iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    assert denied(client("dynamodb").list_tables)[1] == "UnrecognizedClientException"


def test_a_users_key_acts_as_the_user(cloud: InProcessCloud):
    name, client = new_user(cloud)

    assert client("sts").get_caller_identity()["Arn"] == user_arn(name)  # needs no permission


# -- users, groups, managed and inline policies ---------------------------------------------------


def test_inline_policy_allows_only_its_actions_on_its_resources(cloud: InProcessCloud):
    mine, other = unique("inventory-mine"), unique("other")
    mine_arn, other_arn = make_table(cloud, mine), make_table(cloud, other)
    name, client = new_user(cloud, allow(["dynamodb:PutItem", "dynamodb:GetItem"],
                                         f"arn:aws:dynamodb:*:{ACCOUNT}:table/inventory-*"))
    ddb = client("dynamodb")

    ddb.put_item(TableName=mine, Item={"productId": {"S": "p"}})
    assert ddb.get_item(TableName=mine, Key={"productId": {"S": "p"}})["Item"]
    assert denied(lambda: ddb.put_item(TableName=other, Item={"productId": {"S": "p"}})) == (
        400, "AccessDeniedException", implicit(user_arn(name), "dynamodb:PutItem", other_arn))
    assert denied(lambda: ddb.scan(TableName=mine)) == (
        400, "AccessDeniedException", implicit(user_arn(name), "dynamodb:Scan", mine_arn))
    assert denied(ddb.list_tables)[2] == implicit(
        user_arn(name), "dynamodb:ListTables", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*")


def test_group_and_managed_policies_apply_to_the_user(cloud: InProcessCloud):
    table = unique("grouped")
    table_arn = make_table(cloud, table)
    iam = cloud.client("iam")
    name, client = new_user(cloud)
    group = unique("readers")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    policy_arn = iam.create_policy(
        PolicyName=unique("describe"), PolicyDocument=document(allow("dynamodb:DescribeTable", table_arn))
    )["Policy"]["Arn"]
    ddb = client("dynamodb")

    assert denied(lambda: ddb.describe_table(TableName=table))[1] == "AccessDeniedException"
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)
    assert ddb.describe_table(TableName=table)["Table"]["TableName"] == table
    iam.put_group_policy(GroupName=group, PolicyName="scan", PolicyDocument=document(allow("dynamodb:Scan", table_arn)))
    assert ddb.scan(TableName=table)["Count"] == 0
    # A new policy version takes effect at once (compiled policies are cached by their text).
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=document(allow("dynamodb:Scan", "*")),
                              SetAsDefault=True)
    assert denied(lambda: ddb.describe_table(TableName=table))[1] == "AccessDeniedException"
    iam.remove_user_from_group(GroupName=group, UserName=name)
    assert denied(lambda: ddb.scan(TableName=table))[1] == "AccessDeniedException"


def test_attached_aws_managed_policy(cloud: InProcessCloud):
    name, client = new_user(cloud)
    cloud.client("iam").attach_user_policy(
        UserName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess")

    client("dynamodb").list_tables()
    assert denied(lambda: client("dynamodb").delete_table(TableName="anything"))[1] == "AccessDeniedException"


def test_explicit_deny_wins_and_says_so(cloud: InProcessCloud):
    table = unique("guarded")
    table_arn = make_table(cloud, table)
    name, client = new_user(cloud, allow("dynamodb:*", "*"), deny("dynamodb:DeleteTable", table_arn))

    assert denied(lambda: client("dynamodb").delete_table(TableName=table)) == (
        400, "AccessDeniedException",
        f"User: {user_arn(name)} is not authorized to perform: dynamodb:DeleteTable on resource: "
        f"{table_arn} with an explicit deny in an identity-based policy")
    assert cloud.client("dynamodb").describe_table(TableName=table)["Table"]["TableStatus"]


def test_not_action_and_not_resource(cloud: InProcessCloud):
    kept, free = unique("kept"), unique("free")
    kept_arn = make_table(cloud, kept)
    make_table(cloud, free)
    _, client = new_user(
        cloud,
        {"Effect": "Allow", "NotAction": ["iam:*", "dynamodb:DeleteTable"], "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:PutItem", "NotResource": kept_arn},
    )
    ddb = client("dynamodb")

    ddb.put_item(TableName=kept, Item={"productId": {"S": "1"}})
    assert denied(lambda: ddb.put_item(TableName=free, Item={"productId": {"S": "1"}}))[2].endswith(
        "with an explicit deny in an identity-based policy")
    assert denied(lambda: ddb.delete_table(TableName=free))[1] == "AccessDeniedException"
    assert denied(client("iam").list_users)[1] == "AccessDenied"


def test_iam_list_actions_are_authorized_on_the_listed_path(cloud: InProcessCloud):
    """AWS's denials: "iam:ListRoles on resource: arn:aws:iam::A:role/", "iam:ListPolicies on
    resource: policy path /": a role-scoped Resource does not allow listing, "*" does."""
    name, scoped = new_user(cloud, allow(["iam:ListRoles", "iam:ListPolicies", "iam:CreatePolicy"],
                                         [f"arn:aws:iam::{ACCOUNT}:role/inventory-*",
                                          f"arn:aws:iam::{ACCOUNT}:policy/inventory-*"]))
    _, star = new_user(cloud, allow(["iam:ListRoles", "iam:ListPolicies"], "*"))

    assert denied(scoped("iam").list_roles)[2] == implicit(user_arn(name), "iam:ListRoles", f"arn:aws:iam::{ACCOUNT}:role/")
    assert denied(scoped("iam").list_policies)[2] == implicit(user_arn(name), "iam:ListPolicies", "policy path /")
    assert denied(lambda: scoped("iam").create_policy(PolicyName="other", PolicyDocument=document(
        allow("s3:*", "*"))))[2] == implicit(user_arn(name), "iam:CreatePolicy", "policy other")
    scoped("iam").create_policy(PolicyName=unique("inventory-p"), PolicyDocument=document(allow("s3:*", "*")))
    assert star("iam").list_roles()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert star("iam").list_policies()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_resource_tag_and_request_tag_conditions(cloud: InProcessCloud):
    mine, theirs = unique("tagged"), unique("tagged")
    make_table(cloud, mine, [{"Key": "owner", "Value": "ada"}])
    make_table(cloud, theirs, [{"Key": "owner", "Value": "bob"}])
    _, client = new_user(
        cloud,
        allow("dynamodb:DescribeTable", "*", Condition={"StringEquals": {"aws:ResourceTag/owner": "ada"}}),
        allow("dynamodb:CreateTable", "*", Condition={
            "StringEquals": {"aws:RequestTag/owner": "ada"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["owner"]},
        }),
    )
    ddb = client("dynamodb")
    spec = {"KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"}

    assert ddb.describe_table(TableName=mine)["Table"]["TableName"] == mine
    assert denied(lambda: ddb.describe_table(TableName=theirs))[1] == "AccessDeniedException"
    ddb.create_table(TableName=unique("new"), Tags=[{"Key": "owner", "Value": "ada"}], **spec)
    assert denied(lambda: ddb.create_table(TableName=unique("new"), **spec))[1] == "AccessDeniedException"
    assert denied(lambda: ddb.create_table(
        TableName=unique("new"), Tags=[{"Key": "owner", "Value": "ada"}, {"Key": "cost", "Value": "x"}], **spec
    ))[1] == "AccessDeniedException"


def test_a_condition_the_local_cloud_cannot_evaluate_is_logged_and_not_allowed(
    cloud: InProcessCloud, caplog: pytest.LogCaptureFixture
):
    sid = "Unsupported" + uuid.uuid4().hex[:6]
    _, client = new_user(cloud, allow("dynamodb:ListTables", "*", Sid=sid,
                                      Condition={"StringEquals": {"dynamodb:Attributes": "x"}}))

    with caplog.at_level("WARNING", logger="workshop.localcloud.iam"):
        assert denied(client("dynamodb").list_tables)[1] == "AccessDeniedException"

    assert sid in caplog.text and "dynamodb:attributes" in caplog.text


# -- each service's denial -----------------------------------------------------------------------


def test_each_service_denies_in_its_own_shape(cloud: InProcessCloud):
    name, client = new_user(cloud)
    arn = user_arn(name)
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inventory-x"

    assert denied(lambda: client("lambda").get_function(FunctionName="inventory-x")) == (
        403, "AccessDeniedException", implicit(arn, "lambda:GetFunction", fn_arn))
    assert denied(client("lambda").list_functions) == (
        403, "AccessDeniedException", implicit(arn, "lambda:ListFunctions", "*"))
    assert denied(lambda: client("iam").get_role(RoleName="inventory-x-role")) == (
        403, "AccessDenied", implicit(arn, "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/inventory-x-role"))
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/inventory-x:log-stream:"
    assert denied(lambda: client("logs").create_log_group(logGroupName="/aws/lambda/inventory-x")) == (
        400, "AccessDeniedException", implicit(arn, "logs:CreateLogGroup", group))
    assert denied(client("logs").describe_log_groups) == (
        400, "AccessDeniedException",
        implicit(arn, "logs:DescribeLogGroups", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group::log-stream:"))
    assert denied(client("apigateway").get_rest_apis) == (
        403, "AccessDeniedException", implicit(arn, "apigateway:GET", f"arn:aws:apigateway:{REGION}::/restapis"))
    role = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    assert denied(lambda: client("sts").assume_role(RoleArn=role, RoleSessionName="s1"))[:2] == (
        403, "AccessDenied")


def test_log_policies_need_the_group_arn_with_its_stream_suffix(cloud: InProcessCloud):
    """CloudWatch Logs authorizes group actions on ``log-group:NAME:log-stream:``: a policy on
    the bare group ARN does not match, ``log-group:NAME:*`` does (CloudWatch Logs user guide)."""
    group = f"/aws/lambda/{unique('inventory-logs')}"
    bare = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    _, bare_client = new_user(cloud, allow("logs:CreateLogGroup", bare))
    _, star_client = new_user(cloud, allow(["logs:CreateLogGroup", "logs:PutRetentionPolicy"], bare + ":*"))

    assert denied(lambda: bare_client("logs").create_log_group(logGroupName=group))[1] == "AccessDeniedException"
    star_client("logs").create_log_group(logGroupName=group)
    star_client("logs").put_retention_policy(logGroupName=group, retentionInDays=7)


# -- iam:PassRole and the role Lambda is given ------------------------------------------------------


def _function_role(cloud: InProcessCloud, trust: dict[str, Any] = TRUST_POLICY) -> str:
    iam = cloud.client("iam")
    name = unique("inventory-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=BASIC_EXECUTION_ROLE)
    return arn


ECHO = {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}


def test_creating_a_function_needs_pass_role_to_lambda(cloud: InProcessCloud):
    role = _function_role(cloud)
    functions = f"arn:aws:lambda:*:{ACCOUNT}:function:inventory-*"
    name, no_pass = new_user(cloud, allow("lambda:CreateFunction", functions))
    _, wrong_service = new_user(cloud, allow("lambda:CreateFunction", functions), allow(
        "iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}))
    _, passes = new_user(cloud, allow("lambda:CreateFunction", functions), allow(
        "iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))

    def create(client: Any) -> Any:
        return lambda: client("lambda").create_function(
            FunctionName=unique("inventory-fn"), Runtime="python3.11", Role=role, Handler="app.handler",
            Code={"ZipFile": make_zip(ECHO)})

    assert denied(create(no_pass)) == (403, "AccessDeniedException", implicit(user_arn(name), "iam:PassRole", role))
    assert denied(create(wrong_service))[1] == "AccessDeniedException"
    assert create(passes)()["Role"] == role


def test_changing_a_functions_role_needs_pass_role(cloud: InProcessCloud):
    first, second = _function_role(cloud), _function_role(cloud)
    function = unique("inventory-fn")
    cloud.client("lambda").create_function(FunctionName=function, Runtime="python3.11", Role=first,
                                           Handler="app.handler", Code={"ZipFile": make_zip(ECHO)})
    _, client = new_user(cloud, allow("lambda:UpdateFunctionConfiguration", "*"))

    client("lambda").update_function_configuration(FunctionName=function, Timeout=5)  # no role: no PassRole
    assert denied(lambda: client("lambda").update_function_configuration(
        FunctionName=function, Role=second))[2].endswith("because no identity-based policy allows the iam:PassRole action")


def test_a_role_lambda_cannot_assume_is_refused_for_every_caller(cloud: InProcessCloud):
    ec2_trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    untrusting, good = _function_role(cloud, ec2_trust), _function_role(cloud)
    lam = cloud.client("lambda")
    function = unique("fn")

    error = denied(lambda: lam.create_function(FunctionName=function, Runtime="python3.11", Role=untrusting,
                                               Handler="app.handler", Code={"ZipFile": make_zip(ECHO)}))
    assert error == (400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
    lam.create_function(FunctionName=function, Runtime="python3.11", Role=good, Handler="app.handler",
                        Code={"ZipFile": make_zip(ECHO)})
    assert denied(lambda: lam.update_function_configuration(FunctionName=function, Role=untrusting))[1] == (
        "InvalidParameterValueException")
    assert lam.get_function_configuration(FunctionName=function)["Role"] == good


# -- assumed roles -------------------------------------------------------------------------------------


def test_assume_role_gives_a_session_held_to_the_roles_policies(cloud: InProcessCloud):
    iam = cloud.client("iam")
    name, client = new_user(cloud)
    role = unique("inventory-operator")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn(name)}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="list", PolicyDocument=document(allow("dynamodb:ListTables", "*")))

    credentials = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="ops")["Credentials"]
    session = clients_for(cloud, {"aws_access_key_id": credentials["AccessKeyId"],
                                  "aws_secret_access_key": credentials["SecretAccessKey"],
                                  "aws_session_token": credentials["SessionToken"]})
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ops"

    assert session("sts").get_caller_identity()["Arn"] == session_arn
    session("dynamodb").list_tables()
    assert denied(lambda: session("dynamodb").delete_table(TableName="t"))[2] == implicit(
        session_arn, "dynamodb:DeleteTable", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t")
    wrong_token = clients_for(cloud, {"aws_access_key_id": credentials["AccessKeyId"],
                                      "aws_secret_access_key": credentials["SecretAccessKey"],
                                      "aws_session_token": "not-the-token"})
    assert denied(wrong_token("dynamodb").list_tables)[1] == "UnrecognizedClientException"


def test_a_trust_policy_that_does_not_name_the_caller_refuses_assume_role(cloud: InProcessCloud):
    iam = cloud.client("iam")
    name, client = new_user(cloud, allow("sts:AssumeRole", "*"))
    role_arn = iam.create_role(RoleName=unique("lambda-only"), AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    account_role = iam.create_role(RoleName=unique("account-trust"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    ))["Role"]["Arn"]
    _, no_identity_policy = new_user(cloud)

    assert denied(lambda: client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1")) == (
        403, "AccessDenied",
        f"User: {user_arn(name)} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    # Trusting the account delegates to the caller's identity policies.
    assert client("sts").assume_role(RoleArn=account_role, RoleSessionName="s1")["Credentials"]["AccessKeyId"]
    assert denied(lambda: no_identity_policy("sts").assume_role(RoleArn=account_role, RoleSessionName="s1"))[1] == (
        "AccessDenied")


# -- functions run as their execution role -------------------------------------------------------------

WHOAMI = {"app.py": (
    "import boto3, os\n"
    "def handler(event, context):\n"
    "    return {'arn': boto3.client('sts').get_caller_identity()['Arn'],\n"
    "            'token': bool(os.environ.get('AWS_SESSION_TOKEN'))}\n"
)}


def test_a_function_calls_aws_as_its_execution_role_session(cloud: InProcessCloud):
    role_arn = _function_role(cloud)
    function = unique("whoami")
    cloud.client("lambda").create_function(FunctionName=function, Runtime="python3.11", Role=role_arn,
                                           Handler="app.handler", Code={"ZipFile": make_zip(WHOAMI)})

    _, payload = cloud.invoke(function)

    role = role_arn.rsplit("/", 1)[-1]
    assert payload == {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function}", "token": True}
    principal = local_iam.function_principal(role_arn, function)
    assert principal.arn == payload["arn"]


def test_execution_role_credentials_identify_the_function_session(cloud: InProcessCloud):
    role_arn = _function_role(cloud)
    env = local_iam.execution_role_credentials(role_arn, "fn-x")

    principal = local_iam.identify(env["AWS_ACCESS_KEY_ID"], env["AWS_SESSION_TOKEN"])

    assert principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/fn-x"
    with pytest.raises(local_iam.InvalidCredentials):
        local_iam.identify(env["AWS_ACCESS_KEY_ID"], "another-token")


def test_without_logs_permissions_the_function_runs_but_writes_no_logs(
    cloud: InProcessCloud, caplog: pytest.LogCaptureFixture
):
    iam = cloud.client("iam")
    role = unique("silent-role")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="only-put-events", PolicyDocument=document(
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], "*")))  # no CreateLogGroup
    function = unique("silent")
    printer = {"app.py": "def handler(event, context):\n    print('hello log')\n    return 1\n"}
    cloud.client("lambda").create_function(FunctionName=function, Runtime="python3.11", Role=role_arn,
                                           Handler="app.handler", Code={"ZipFile": make_zip(printer)})
    logs = cloud.client("logs")

    with caplog.at_level("WARNING", logger="workshop.localcloud.iam"):
        response, payload = cloud.invoke(function)
    assert payload == 1 and "FunctionError" not in response
    assert logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{function}")["logGroups"] == []
    # The local cloud's own log says why (AWS drops them silently).
    assert f"cannot write the logs of {function}" in caplog.text and "logs:CreateLogGroup" in caplog.text

    # Once the group exists, CreateLogStream + PutLogEvents are enough.
    logs.create_log_group(logGroupName=f"/aws/lambda/{function}")
    cloud.invoke(function)
    assert any("hello log" in line for line in cloud.log_messages(function))


def test_a_role_without_put_log_events_writes_nothing_even_to_an_existing_group(cloud: InProcessCloud):
    iam = cloud.client("iam")
    role = unique("mute-role")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="no-put", PolicyDocument=document(
        allow(["logs:CreateLogGroup", "logs:CreateLogStream"], "*")))
    function = unique("mute")
    cloud.client("lambda").create_function(FunctionName=function, Runtime="python3.11", Role=role_arn,
                                           Handler="app.handler", Code={"ZipFile": make_zip(ECHO)})
    cloud.client("logs").create_log_group(logGroupName=f"/aws/lambda/{function}")

    assert cloud.invoke(function)[1] == {"ok": True}
    assert cloud.log_messages(function) == []


# -- the reference Lambda behind the gateway, with a role missing UpdateItem -----------------------------


def _reference_zip() -> bytes:
    return make_zip({path.name: path.read_text() for path in SOLUTION_LAMBDA_DIR.glob("*.py")})


def _api_for(cloud: InProcessCloud, function_arn: str, *, credentials: str | None = None,
             permission: bool = True) -> str:
    apigateway = cloud.client("apigateway")
    api_id = apigateway.create_rest_api(name=unique("iam-api"))["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="product")["id"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    for method in ("GET", "POST", "PATCH"):
        apigateway.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
        extra = {"credentials": credentials} if credentials else {}
        apigateway.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                                   integrationHttpMethod="POST", uri=uri, **extra)
    if permission:
        cloud.client("lambda").add_permission(
            FunctionName=function_arn, StatementId=unique("apigw"), Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/*")
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    return f"{cloud.server.gateway}/{api_id}/prod"


@pytest.mark.skipif(not (SOLUTION_LAMBDA_DIR / "lambda_function.py").is_file(), reason="no reference Lambda")
def test_patch_answers_500_and_the_log_names_the_assumed_role_when_update_item_is_missing(cloud: InProcessCloud):
    table = unique("inventory-products")
    table_arn = make_table(cloud, table)
    iam = cloud.client("iam")
    role = unique("inventory-lambda-role")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC_EXECUTION_ROLE)
    iam.put_role_policy(RoleName=role, PolicyName="table", PolicyDocument=document(
        allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"], table_arn)))
    function = unique("inventory-api")
    function_arn = cloud.client("lambda").create_function(
        FunctionName=function, Runtime="python3.11", Role=role_arn, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": _reference_zip()}, Environment={"Variables": {"TABLE_NAME": table}})["FunctionArn"]
    base = _api_for(cloud, function_arn)

    created = requests.post(f"{base}/product", json={"productId": "p-1", "price": 3}, timeout=30)
    patched = requests.patch(f"{base}/product", json={"productId": "p-1", "updateKey": "price", "updateValue": 4},
                             timeout=30)

    assert created.status_code == 201, created.text
    assert patched.status_code == 500
    assert patched.json() == {"message": "Internal server error"}
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function}"
    log_text = "\n".join(cloud.log_messages(function))
    assert "AccessDeniedException" in log_text
    assert implicit(session, "dynamodb:UpdateItem", table_arn) in log_text

    # The fix a learner makes: allow UpdateItem. The next PATCH works (policies are read per call).
    iam.put_role_policy(RoleName=role, PolicyName="update", PolicyDocument=document(
        allow("dynamodb:UpdateItem", table_arn)))
    fixed = requests.patch(f"{base}/product", json={"productId": "p-1", "updateKey": "price", "updateValue": 4},
                           timeout=30)
    assert fixed.status_code == 200, fixed.text


# -- API Gateway integration credentials ------------------------------------------------------------------


def _integration_role(cloud: InProcessCloud, function_arn: str | None, service: str = "apigateway.amazonaws.com") -> str:
    iam = cloud.client("iam")
    name = unique("apigw-invoke")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if function_arn:
        iam.put_role_policy(RoleName=name, PolicyName="invoke", PolicyDocument=document(
            allow("lambda:InvokeFunction", function_arn)))
    return arn


HELLO = {"app.py": "import json\ndef handler(event, context):\n"
                   "    return {'statusCode': 200, 'body': json.dumps({'hi': 1})}\n"}


def test_an_integration_role_invokes_without_a_resource_policy_statement(cloud: InProcessCloud):
    function = unique("hello")
    function_arn = cloud.client("lambda").create_function(
        FunctionName=function, Runtime="python3.11", Role=_function_role(cloud), Handler="app.handler",
        Code={"ZipFile": make_zip(HELLO)})["FunctionArn"]

    with_role = _api_for(cloud, function_arn, credentials=_integration_role(cloud, function_arn), permission=False)
    without_anything = _api_for(cloud, function_arn, permission=False)
    role_without_invoke = _api_for(cloud, function_arn, credentials=_integration_role(cloud, None), permission=False)
    untrusted_role = _api_for(cloud, function_arn, permission=False,
                              credentials=_integration_role(cloud, function_arn, service="lambda.amazonaws.com"))

    assert requests.get(f"{with_role}/product", timeout=30).json() == {"hi": 1}
    assert requests.get(f"{without_anything}/product", timeout=30).status_code == 500
    assert requests.get(f"{role_without_invoke}/product", timeout=30).status_code == 500
    assert requests.get(f"{untrusted_role}/product", timeout=30).status_code == 500


def test_without_credentials_the_resource_policy_still_decides(cloud: InProcessCloud):
    function_arn = cloud.client("lambda").create_function(
        FunctionName=unique("hello"), Runtime="python3.11", Role=_function_role(cloud), Handler="app.handler",
        Code={"ZipFile": make_zip(HELLO)})["FunctionArn"]

    base = _api_for(cloud, function_arn, permission=True)

    assert requests.get(f"{base}/product", timeout=30).status_code == 200


def test_an_authorizer_with_credentials_needs_pass_role_to_api_gateway(cloud: InProcessCloud):
    # SAR, API Gateway Management, operations table: CreateAuthorizer needs apigateway:POST and
    # iam:PassRole (iam:PassedToService = apigateway.amazonaws.com).
    role = _integration_role(cloud, None)
    api_id = cloud.client("apigateway").create_rest_api(name=unique("iam-api"))["id"]
    authorizers = f"arn:aws:apigateway:*::/restapis/{api_id}/authorizers"
    name, no_pass = new_user(cloud, allow("apigateway:POST", authorizers))
    _, to_lambda = new_user(cloud, allow("apigateway:POST", authorizers), allow(
        "iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))
    _, passes = new_user(cloud, allow("apigateway:POST", authorizers), allow(
        "iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}}))
    uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
           f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inventory-ada-authorizer/invocations")

    def create(client: Any, **extra: Any) -> Any:
        return lambda: client("apigateway").create_authorizer(
            restApiId=api_id, name=unique("tokens"), type="TOKEN", authorizerUri=uri,
            identitySource="method.request.header.Authorization", **extra)

    assert denied(create(no_pass, authorizerCredentials=role)) == (
        403, "AccessDeniedException", implicit(user_arn(name), "iam:PassRole", role))
    assert denied(create(to_lambda, authorizerCredentials=role))[1] == "AccessDeniedException"
    assert create(passes, authorizerCredentials=role)()["authorizerCredentials"] == role
    assert create(no_pass)()["type"] == "TOKEN"  # no role given: nothing is passed


# -- the public API other parts use --------------------------------------------------------------------------


def test_authorize_answers_for_any_principal(cloud: InProcessCloud):
    name, _ = new_user(cloud, allow("lambda:InvokeFunction", f"arn:aws:lambda:*:{ACCOUNT}:function:inventory-*"))
    key_id = cloud.client("iam").list_access_keys(UserName=name)["AccessKeyMetadata"][0]["AccessKeyId"]
    principal = local_iam.identify(key_id)

    yes = local_iam.authorize(principal, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inventory-a")
    no = local_iam.authorize(principal, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other")

    assert yes.allowed and not yes.message
    assert not no.allowed and not no.explicit_deny
    assert no.message == implicit(user_arn(name), "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other")
    assert local_iam.identify("testing").is_root
    assert local_iam.authorize(local_iam.identify("testing"), "iam:DeleteUser", "*").allowed


def test_a_roles_permissions_boundary_limits_its_sessions(cloud: InProcessCloud):
    iam = cloud.client("iam")
    name, client = new_user(cloud)
    boundary = iam.create_policy(PolicyName=unique("boundary"),
                                 PolicyDocument=document(allow("dynamodb:ListTables", "*")))["Policy"]["Arn"]
    role = unique("bounded")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn(name)}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust),
                               PermissionsBoundary=boundary)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="all", PolicyDocument=document(allow("dynamodb:*", "*")))
    credentials = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="bounded")["Credentials"]
    session = clients_for(cloud, {"aws_access_key_id": credentials["AccessKeyId"],
                                  "aws_secret_access_key": credentials["SecretAccessKey"],
                                  "aws_session_token": credentials["SessionToken"]})

    session("dynamodb").list_tables()
    assert denied(lambda: session("dynamodb").describe_table(TableName="x"))[2].endswith(
        "because no permissions boundary allows the dynamodb:DescribeTable action")


def test_a_session_policy_narrows_the_session(cloud: InProcessCloud):
    iam = cloud.client("iam")
    name, client = new_user(cloud)
    role = unique("narrowed")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn(name)}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="all", PolicyDocument=document(allow("dynamodb:*", "*")))
    credentials = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="narrow",
                                            Policy=document(allow("dynamodb:ListTables", "*")))["Credentials"]
    session = clients_for(cloud, {"aws_access_key_id": credentials["AccessKeyId"],
                                  "aws_secret_access_key": credentials["SecretAccessKey"],
                                  "aws_session_token": credentials["SessionToken"]})

    session("dynamodb").list_tables()
    assert denied(lambda: session("dynamodb").describe_table(TableName="x"))[2].endswith(
        "because no session policy allows the dynamodb:DescribeTable action")


def test_get_function_on_a_tagged_function_also_needs_list_tags(cloud: InProcessCloud):
    functions = f"arn:aws:lambda:*:{ACCOUNT}:function:*"
    tagged, untagged = unique("tagged-fn"), unique("plain-fn")
    lam = cloud.client("lambda")
    for function, tags in ((tagged, {"owner": "ada"}), (untagged, {})):
        lam.create_function(FunctionName=function, Runtime="python3.11", Role=_function_role(cloud),
                            Handler="app.handler", Code={"ZipFile": make_zip(ECHO)}, Tags=tags)
    name, only_get = new_user(cloud, allow("lambda:GetFunction", functions))
    _, get_and_list = new_user(cloud, allow(["lambda:GetFunction", "lambda:ListTags"], functions))

    assert only_get("lambda").get_function(FunctionName=untagged)["Configuration"]["FunctionName"] == untagged
    assert denied(lambda: only_get("lambda").get_function(FunctionName=tagged))[2] == implicit(
        user_arn(name), "lambda:ListTags", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{tagged}")
    assert get_and_list("lambda").get_function(FunctionName=tagged)["Tags"] == {"owner": "ada"}


def test_iam_resource_tag_conditions_read_the_roles_tags(cloud: InProcessCloud):
    iam = cloud.client("iam")
    mine, theirs = unique("inventory-tagged"), unique("inventory-tagged")
    for role, owner in ((mine, "ada"), (theirs, "bob")):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                        Tags=[{"Key": "owner", "Value": owner}])
    _, client = new_user(cloud, allow("iam:GetRole", "*", Condition={"StringEquals": {"iam:ResourceTag/owner": "ada"}}))

    assert client("iam").get_role(RoleName=mine)["Role"]["RoleName"] == mine
    assert denied(lambda: client("iam").get_role(RoleName=theirs))[:2] == (403, "AccessDenied")
