"""What a request asks to do: IAM action names and the resource ARNs AWS authorizes them on.

The Service Authorization Reference lists, per service, the action each API operation needs and
the resource type it is authorized on. This module derives both from the HTTP request the local
cloud receives (service from the SigV4 credential scope; operation from ``X-Amz-Target``, the
query protocol's ``Action`` or the REST path), and the request's own condition keys
(``aws:RequestTag/*``, ``aws:TagKeys``, ``iam:PassedToService``, ``iam:PolicyARN``).

Resources, per service (Service Authorization Reference, "Resource types defined by ..."):

- DynamoDB: ``arn:aws:dynamodb:R:A:table/NAME`` (``.../index/INDEX`` for a Query or Scan of an
  index); batch and transaction calls are checked per table and per item action;
  ``ListTables`` on ``table/*`` (as AWS's denials name it), ``DescribeLimits`` on ``*``.
- Lambda: ``arn:aws:lambda:R:A:function:NAME`` (``:QUALIFIER`` appended for a qualified call);
  ``Invoke`` is ``lambda:InvokeFunction``; ``ListFunctions`` on ``*``. Creating a function, or
  changing its role, also needs ``iam:PassRole`` on the role with ``iam:PassedToService`` =
  ``lambda.amazonaws.com``.
- IAM: role, user, group, policy and instance-profile ARNs (with their path); ``ListRoles``
  (``ListUsers``...) on ``arn:aws:iam::A:role/`` plus the path prefix, ``ListPolicies`` on
  "policy path /" (so only ``*`` allows it), other account-wide actions on ``*`` — the
  resources AWS's denials name.
- CloudWatch Logs: the ARN AWS's own denials name, ``log-group:NAME:log-stream:`` for group
  actions and ``log-group:NAME:log-stream:STREAM`` for stream actions (so policies need the
  ``log-group:NAME:*`` form, as AWS's documentation tells you); ``DescribeLogGroups`` on
  ``log-group::log-stream:``; tagging on the ARN in the request. (Denials recorded from AWS:
  widdix/aws-cf-templates#308 "logs:CreateLogGroup on resource: ...:log-group:NAME:log-stream:",
  hashicorp/terraform-provider-aws#8804 "logs:DescribeLogGroups is performed on
  :log-group::log-stream:"; "CreateLogGroup with Tags. An additional permission
  logs:TagResource is required", DataDog/cloudformation-template#61.)
- API Gateway: ``apigateway:<HTTP method>`` on ``arn:aws:apigateway:R::<path>``; an
  integration's ``credentials`` or an authorizer's ``authorizerCredentials`` role also needs
  ``iam:PassRole`` with ``iam:PassedToService`` = ``apigateway.amazonaws.com``.
- STS: ``sts:AssumeRole`` on the role ARN (its trust policy is checked too).
- Budgets: ``budgets:ModifyBudget`` / ``budgets:ViewBudget`` on
  ``arn:aws:budgets::A:budget/NAME``; a budget created with tags also needs
  ``budgets:TagResource``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"


@dataclass(frozen=True)
class Check:
    """One authorization: may the caller do ``action`` on ``resource``?"""

    action: str
    resource: str
    keys: dict[str, list[str]] = field(default_factory=dict)  # request condition keys, lower case
    #: how AWS's denial names the resource when that is not the ARN ("policy path /")
    shown_as: str | None = field(default=None, compare=False)


@dataclass
class ApiCall:
    """A request, as IAM sees it."""

    service: str  # the SigV4 signing name: dynamodb, lambda, iam, sts, logs, apigateway, ...
    operation: str  # the API operation ("GetItem"), "" when unknown
    checks: list[Check]
    #: the role a Lambda function is given by this call (trust policy checked by Lambda)
    function_role: str | None = None
    #: sts:AssumeRole: the role to assume (its trust policy must allow the caller)
    assume_role_arn: str | None = None
    #: a call every principal may make (sts:GetCallerIdentity)
    always_allowed: bool = False


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    region: str
    account_id: str

    def json(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def form(self) -> dict[str, str]:
        """Query-protocol parameters (IAM, STS): the form body plus the query string."""
        params = {k: v[0] for k, v in self.query.items()}
        if self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            for key, values in parse_qs(text, keep_blank_values=True).items():
                params[key] = values[0]
        return params

    def target_operation(self) -> str:
        target = self.headers.get("x-amz-target", "")
        return target.rsplit(".", 1)[-1] if target else ""


def _tag_keys(tags: dict[str, str]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {f"aws:requesttag/{k.lower()}": [v] for k, v in tags.items()}
    if tags:
        keys["aws:tagkeys"] = list(tags)
    return keys


# -- DynamoDB ---------------------------------------------------------------------------------

_DYNAMODB_ACCOUNT_WIDE = {"DescribeLimits", "DescribeEndpoints", "ListBackups",
                          "ListGlobalTables", "ListExports", "ListImports", "ListStreams"}


def dynamodb_call(request: HttpRequest) -> ApiCall:
    operation = request.target_operation()
    body = request.json()
    prefix = f"arn:aws:dynamodb:{request.region}:{request.account_id}:table/"

    def table(name: Any) -> str:
        name = str(name)
        return name if name.startswith("arn:") else prefix + name

    action = f"dynamodb:{operation}"
    checks: list[Check] = []
    if operation == "ListTables":
        # AWS's denial: "dynamodb:ListTables on resource: arn:aws:dynamodb:R:A:table/*".
        checks.append(Check(action, prefix + "*"))
    elif operation in _DYNAMODB_ACCOUNT_WIDE:
        checks.append(Check(action, "*"))
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for name in (body.get("RequestItems") or {}):
            checks.append(Check(action, table(name)))
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        per_item = {"ConditionCheck": "ConditionCheckItem", "Put": "PutItem", "Update": "UpdateItem",
                    "Delete": "DeleteItem", "Get": "GetItem"}
        for item in body.get("TransactItems") or []:
            for kind, spec in (item or {}).items():
                if kind in per_item and isinstance(spec, dict):
                    check = Check(f"dynamodb:{per_item[kind]}", table(spec.get("TableName", "")))
                    if check not in checks:
                        checks.append(check)
    elif operation in ("TagResource", "UntagResource", "ListTagsOfResource"):
        keys: dict[str, list[str]] = {}
        if operation == "TagResource":
            keys = _tag_keys({t.get("Key", ""): t.get("Value", "") for t in body.get("Tags") or []})
        elif operation == "UntagResource":
            keys = {"aws:tagkeys": [str(k) for k in body.get("TagKeys") or []]}
        checks.append(Check(action, str(body.get("ResourceArn", "*")), keys))
    elif "TableName" in body or "TableArn" in body:
        resource = table(body.get("TableName") or body.get("TableArn"))
        if body.get("IndexName") and operation in ("Query", "Scan"):
            resource += f"/index/{body['IndexName']}"
        keys = {}
        if operation == "CreateTable":
            keys = _tag_keys({t.get("Key", ""): t.get("Value", "") for t in body.get("Tags") or []})
        checks.append(Check(action, resource, keys))
    elif "ResourceArn" in body or "BackupArn" in body:
        checks.append(Check(action, str(body.get("ResourceArn") or body.get("BackupArn"))))
    else:
        checks.append(Check(action, "*"))
    return ApiCall("dynamodb", operation, checks)


# -- CloudWatch Logs --------------------------------------------------------------------------

_LOGS_STREAM_ACTIONS = {"CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream"}


def log_group_resource(region: str, account_id: str, group: str, stream: str = "") -> str:
    """The ARN CloudWatch Logs authorizes on (and names in its AccessDeniedException)."""
    return f"arn:aws:logs:{region}:{account_id}:log-group:{group}:log-stream:{stream}"


def _group_name(identifier: str) -> str:
    """``logGroupIdentifier`` may be a name or an ARN (with or without ``:*``)."""
    if identifier.startswith("arn:"):
        name = identifier.split(":log-group:", 1)[-1]
        return name[:-2] if name.endswith(":*") else name
    return identifier


def logs_call(request: HttpRequest) -> ApiCall:
    operation = request.target_operation()
    body = request.json()
    action = f"logs:{operation}"
    group = body.get("logGroupName") or _group_name(str(body.get("logGroupIdentifier") or ""))
    checks: list[Check] = []
    if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        arn = str(body.get("resourceArn", "*"))
        keys: dict[str, list[str]] = {}
        if operation == "TagResource":
            keys = _tag_keys({str(k): str(v) for k, v in (body.get("tags") or {}).items()})
        elif operation == "UntagResource":
            keys = {"aws:tagkeys": [str(k) for k in body.get("tagKeys") or []]}
        checks.append(Check(action, arn, keys))
    elif group:
        stream = str(body.get("logStreamName") or "") if operation in _LOGS_STREAM_ACTIONS else ""
        keys = {}
        if operation in ("CreateLogGroup", "TagLogGroup"):
            keys = _tag_keys({str(k): str(v) for k, v in (body.get("tags") or {}).items()})
        resource = log_group_resource(request.region, request.account_id, group, stream)
        checks.append(Check(action, resource, keys))
        if operation == "CreateLogGroup" and body.get("tags"):
            # "not authorized to perform CreateLogGroup with Tags. An additional permission
            # "logs:TagResource" is required."
            checks.append(Check("logs:TagResource", resource, keys))
    elif operation == "DescribeLogGroups":
        checks.append(Check(action, log_group_resource(request.region, request.account_id, "")))
    else:
        checks.append(Check(action, "*"))
    return ApiCall("logs", operation, checks)


# -- Lambda -----------------------------------------------------------------------------------

_LAMBDA_ACTION_NAMES = {
    "Invoke": "InvokeFunction",
    "InvokeWithResponseStream": "InvokeFunction",
    "GetLayerVersionByArn": "GetLayerVersion",
}
_LAMBDA_UNQUALIFIED = {"CreateAlias", "DeleteAlias", "GetAlias", "ListAliases", "UpdateAlias",
                       "ListVersionsByFunction", "PublishVersion", "DeleteFunctionConcurrency",
                       "GetFunctionConcurrency", "PutFunctionConcurrency"}
_FUNCTION_ARN = re.compile(
    r"^(?:arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?"
    r"(?:function:)?(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$"
)


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    regex: re.Pattern[str]
    query: tuple[str, ...]  # query parameters the route requires (e.g. ?List=ALL)
    literal_length: int


@functools.lru_cache(maxsize=8)
def rest_routes(service: str) -> tuple[_Route, ...]:
    """The operations of a REST-JSON service (from botocore's model), most specific first."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = http["requestUri"].partition("?")
        literal = re.sub(r"\{[^}]+\}", "", uri)
        pattern = re.sub(
            r"\\\{([A-Za-z0-9_]+)(\\\+)?\\\}",
            lambda m: f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)",
            re.escape(uri.rstrip("/") or "/"),
        )
        required = tuple(q.split("=")[0] for q in query.split("&") if q)
        routes.append(_Route(name, http["method"], re.compile(f"^{pattern}/?$"), required, len(literal)))
    routes.sort(key=lambda r: (-len(r.query), -r.literal_length))
    return tuple(routes)


def match_rest_route(service: str, method: str, path: str, query: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
    for route in rest_routes(service):
        if route.method != method or any(q not in query for q in route.query):
            continue
        match = route.regex.match(path)
        if match:
            return route.operation, {k: unquote(v) for k, v in match.groupdict().items()}
    return "", {}


def function_arn(
    region: str, account_id: str, name_or_arn: str, qualifier: str | None = None,
    *, keep_qualifier: bool = True,
) -> str:
    """The function ARN Lambda authorizes on, from a name, ``name:qualifier``, partial or full ARN."""
    match = _FUNCTION_ARN.match(name_or_arn)
    if not match:
        return f"arn:aws:lambda:{region}:{account_id}:function:{name_or_arn}"
    arn = (
        f"arn:aws:lambda:{match['region'] or region}:{match['account'] or account_id}:"
        f"function:{match['name']}"
    )
    qualifier = match["qualifier"] or qualifier
    return f"{arn}:{qualifier}" if qualifier and keep_qualifier else arn


def _function_has_tags(arn: str) -> bool:
    from workshop.localcloud.iam.resource_tags import tags_of

    return bool(tags_of(arn))


def lambda_call(request: HttpRequest) -> ApiCall:
    operation, params = match_rest_route("lambda", request.method, request.path, request.query)
    if not operation:
        return ApiCall("lambda", "", [Check("lambda:Unknown", "*")])
    action = f"lambda:{_LAMBDA_ACTION_NAMES.get(operation, operation)}"
    region, account = request.region, request.account_id
    checks: list[Check] = []
    function_role: str | None = None
    if operation == "CreateFunction":
        body = request.json()
        tags = {str(k): str(v) for k, v in (body.get("Tags") or {}).items()}
        resource = function_arn(region, account, str(body.get("FunctionName", "")))
        checks.append(Check(action, resource, _tag_keys(tags)))
        if tags:
            # Lambda developer guide, "Permissions required for working with tags":
            # lambda:TagResource "to call TagResource or perform a tag on create".
            checks.append(Check("lambda:TagResource", resource, _tag_keys(tags)))
        function_role = str(body.get("Role") or "") or None
    elif "FunctionName" in params:
        qualifier = (request.query.get("Qualifier") or [None])[0]
        resource = function_arn(region, account, params["FunctionName"], qualifier)
        if operation in _LAMBDA_UNQUALIFIED:
            resource = function_arn(region, account, params["FunctionName"], keep_qualifier=False)
        checks.append(Check(action, resource))
        if operation == "GetFunction" and _function_has_tags(resource):
            # Same page: "For tagged functions, this permission [lambda:ListTags] is also
            # necessary for GetFunction."
            checks.append(Check("lambda:ListTags", function_arn(region, account, params["FunctionName"],
                                                                keep_qualifier=False)))
        if operation == "UpdateFunctionConfiguration":
            function_role = str(request.json().get("Role") or "") or None
    elif "Resource" in params:
        keys: dict[str, list[str]] = {}
        if operation == "TagResource":
            keys = _tag_keys({str(k): str(v) for k, v in (request.json().get("Tags") or {}).items()})
        elif operation == "UntagResource":
            keys = {"aws:tagkeys": list(request.query.get("tagKeys") or [])}
        checks.append(Check(action, params["Resource"], keys))
    elif "LayerName" in params:
        layer = params["LayerName"]
        if not layer.startswith("arn:"):
            layer = f"arn:aws:lambda:{region}:{account}:layer:{layer}"
        if "VersionNumber" in params:
            layer += f":{params['VersionNumber']}"
        checks.append(Check(action, layer))
    elif "UUID" in params:
        checks.append(Check(action, f"arn:aws:lambda:{region}:{account}:event-source-mapping:{params['UUID']}"))
    else:
        checks.append(Check(action, "*"))
    if function_role:
        checks.append(
            Check("iam:PassRole", function_role, {"iam:passedtoservice": [LAMBDA_PRINCIPAL]})
        )
    return ApiCall("lambda", operation, checks, function_role=function_role)


# -- API Gateway ------------------------------------------------------------------------------


_APIGATEWAY_ROLE_FIELDS = (
    # Giving API Gateway a role passes that role to it (iam:PassRole with iam:PassedToService
    # apigateway.amazonaws.com). Service Authorization Reference, "Actions, resources, and
    # condition keys for Amazon API Gateway Management", API operations table: CreateAuthorizer
    # is apigateway:POST plus iam:PassRole (iam:PassedToService = apigateway.amazonaws.com) --
    # a TOKEN/REQUEST authorizer invoked with authorizerCredentials (lab 08's alternative to a
    # Lambda permission); PutIntegration likewise with credentials.
    ("PUT", re.compile(r"^/restapis/[^/]+/resources/[^/]+/methods/[^/]+/integration$"),
     "credentials"),
    ("POST", re.compile(r"^/restapis/[^/]+/authorizers$"), "authorizerCredentials"),
)


def apigateway_call(request: HttpRequest) -> ApiCall:
    """API Gateway's management API is authorized per HTTP method on the path ("Control access
    for managing an API with IAM": ``apigateway:GET`` on ``arn:aws:apigateway:R::/restapis``).

    A create (POST) or tag request that carries ``tags`` has them as ``aws:RequestTag/*`` and
    ``aws:TagKeys`` (REST APIs, API keys, usage plans alike: "Using tags to control access to
    API Gateway REST API resources")."""
    resource = f"arn:aws:apigateway:{request.region}::{request.path}"
    path = request.path.rstrip("/")
    keys: dict[str, list[str]] = {}
    if request.method == "POST" or (path.startswith("/tags/") and request.method == "PUT"):
        tags = request.json().get("tags")
        if isinstance(tags, dict):
            keys = _tag_keys({str(k): str(v) for k, v in tags.items()})
    checks = [Check(f"apigateway:{request.method}", resource, keys)]
    for method, pattern, field_name in _APIGATEWAY_ROLE_FIELDS:
        if request.method == method and pattern.match(path):
            role = str(request.json().get(field_name) or "")
            if role.startswith("arn:") and ":role/" in role:
                checks.append(Check("iam:PassRole", role,
                                    {"iam:passedtoservice": ["apigateway.amazonaws.com"]}))
    return ApiCall("apigateway", request.method, checks)


# -- IAM --------------------------------------------------------------------------------------

#: List operations authorized on the path they list: "iam:ListRoles on resource:
#: arn:aws:iam::A:role/" (or role/PATH/ with PathPrefix), as AWS's denials show.
_IAM_PATH_LISTS = {"ListRoles": "role", "ListUsers": "user", "ListGroups": "group",
                   "ListInstanceProfiles": "instance-profile"}
_IAM_ACCOUNT_WIDE = {
    "GetAccountSummary", "GetAccountPasswordPolicy", "ListAccountAliases",
    "GetAccountAuthorizationDetails", "GenerateCredentialReport", "GetCredentialReport",
    "ListOpenIDConnectProviders", "ListSAMLProviders", "ListServerCertificates",
    "ListVirtualMFADevices", "CreateAccountAlias", "DeleteAccountAlias",
    "UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy",
}
#: Operations on a user that default to the caller when UserName is left out (IAM API
#: reference: "If you do not specify a user name, IAM determines the user name implicitly").
_IAM_CALLER_DEFAULT = {"GetUser", "ListAccessKeys", "CreateAccessKey", "DeleteAccessKey",
                       "UpdateAccessKey", "ListSigningCertificates", "ListSSHPublicKeys",
                       "ListMFADevices", "ChangePassword", "ListServiceSpecificCredentials"}


_IAM_TAG_ON_CREATE = {"CreateRole": "iam:TagRole", "CreateUser": "iam:TagUser", "CreatePolicy": "iam:TagPolicy",
                      "CreateInstanceProfile": "iam:TagInstanceProfile"}


def _iam_list(params: dict[str, str], prefix: str) -> list[str]:
    values, index = [], 1
    while f"{prefix}.member.{index}" in params or f"{prefix}.member.{index}.Key" in params:
        values.append(params.get(f"{prefix}.member.{index}", ""))
        index += 1
    return values


def _iam_tags(params: dict[str, str]) -> dict[str, str]:
    tags, index = {}, 1
    while f"Tags.member.{index}.Key" in params:
        tags[params[f"Tags.member.{index}.Key"]] = params.get(f"Tags.member.{index}.Value", "")
        index += 1
    return tags


def _iam_arn(account: str, kind: str, name: str, path: str | None, existing: Callable[[], str | None]) -> str:
    found = existing()
    if found:
        return found
    path = path or "/"
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def iam_call(request: HttpRequest, caller_user_arn: str | None) -> ApiCall:
    from moto.iam.models import iam_backends

    params = request.form()
    operation = params.get("Action", "")
    action = f"iam:{operation}"
    account = request.account_id
    backend = iam_backends[account]["aws"]
    keys: dict[str, list[str]] = {}
    tags = _iam_tags(params)
    if tags:
        keys.update(_tag_keys(tags))
    tag_keys = _iam_list(params, "TagKeys")
    if tag_keys:
        keys["aws:tagkeys"] = tag_keys
    if "PolicyArn" in params and operation.startswith(("Attach", "Detach", "PutRolePermissionsBoundary",
                                                       "PutUserPermissionsBoundary")):
        keys["iam:policyarn"] = [params["PolicyArn"]]

    def existing(kind: str, name: str) -> Callable[[], str | None]:
        def find() -> str | None:
            table = {"role": backend.roles.values(), "user": backend.users.values(),
                     "group": backend.groups.values(),
                     "instance-profile": backend.instance_profiles.values()}.get(kind, [])
            for item in list(table):
                if item.name == name:
                    return item.arn
            return None
        return find

    path = params.get("Path")
    shown_as = None
    if operation in _IAM_PATH_LISTS:
        resource = f"arn:aws:iam::{account}:{_IAM_PATH_LISTS[operation]}{params.get('PathPrefix') or '/'}"
    elif operation == "ListPolicies":
        # AWS names no ARN here ("on resource: policy path /"): only Resource "*" matches it.
        resource = f"policy path {params.get('PathPrefix') or '/'}"
    elif operation in _IAM_ACCOUNT_WIDE:
        resource = "*"
    elif "RoleName" in params:
        resource = _iam_arn(account, "role", params["RoleName"], path, existing("role", params["RoleName"]))
    elif "UserName" in params:
        resource = _iam_arn(account, "user", params["UserName"], path, existing("user", params["UserName"]))
    elif "GroupName" in params:
        resource = _iam_arn(account, "group", params["GroupName"], path, existing("group", params["GroupName"]))
    elif "InstanceProfileName" in params:
        resource = _iam_arn(account, "instance-profile", params["InstanceProfileName"], path,
                            existing("instance-profile", params["InstanceProfileName"]))
    elif operation == "CreatePolicy":
        resource = f"arn:aws:iam::{account}:policy{path or '/'}{params.get('PolicyName', '')}"
        shown_as = f"policy {params.get('PolicyName', '')}"  # AWS's denial: "on resource: policy NAME"
    elif "PolicyArn" in params:
        resource = params["PolicyArn"]
    elif "PolicySourceArn" in params:
        resource = params["PolicySourceArn"]
    elif "OpenIDConnectProviderArn" in params or "SAMLProviderArn" in params:
        resource = params.get("OpenIDConnectProviderArn") or params.get("SAMLProviderArn", "*")
    elif operation in _IAM_CALLER_DEFAULT:
        resource = caller_user_arn or f"arn:aws:iam::{account}:root"
    else:
        resource = "*"
    checks = [Check(action, resource, keys, shown_as)]
    tag_action = _IAM_TAG_ON_CREATE.get(operation)
    if tag_action and tags:
        # IAM User Guide, "Permissions required to tag IAM entities": creating an entity with
        # tags also needs the entity's Tag* permission.
        checks.append(Check(tag_action, resource, keys))
    return ApiCall("iam", operation, checks)


# -- STS, Budgets, the tagging API --------------------------------------------------------------


def sts_call(request: HttpRequest) -> ApiCall:
    params = request.form()
    operation = params.get("Action", "")
    if operation == "GetCallerIdentity":
        # "No permissions are required to perform this operation" (STS API reference).
        return ApiCall("sts", operation, [], always_allowed=True)
    if operation in ("AssumeRole", "TagSession"):
        role_arn = params.get("RoleArn", "*")
        keys = _tag_keys({params[f"Tags.member.{i}.Key"]: params.get(f"Tags.member.{i}.Value", "")
                          for i in range(1, 51) if f"Tags.member.{i}.Key" in params})
        return ApiCall("sts", operation, [Check(f"sts:{operation}", role_arn, keys)],
                       assume_role_arn=role_arn if operation == "AssumeRole" else None)
    return ApiCall("sts", operation, [Check(f"sts:{operation}", "*")])


_BUDGETS_ACTIONS = {
    "CreateBudget": "ModifyBudget", "UpdateBudget": "ModifyBudget", "DeleteBudget": "ModifyBudget",
    "CreateNotification": "ModifyBudget", "UpdateNotification": "ModifyBudget",
    "DeleteNotification": "ModifyBudget", "CreateSubscriber": "ModifyBudget",
    "UpdateSubscriber": "ModifyBudget", "DeleteSubscriber": "ModifyBudget",
    "DescribeBudget": "ViewBudget", "DescribeBudgets": "ViewBudget",
    "DescribeNotificationsForBudget": "ViewBudget", "DescribeSubscribersForNotification": "ViewBudget",
    "DescribeBudgetPerformanceHistory": "ViewBudget",
}


def budgets_call(request: HttpRequest) -> ApiCall:
    operation = request.target_operation()
    body = request.json()
    action = f"budgets:{_BUDGETS_ACTIONS.get(operation, operation)}"
    account = str(body.get("AccountId") or request.account_id)
    name = body.get("BudgetName") or (body.get("Budget") or {}).get("BudgetName") \
        or (body.get("NewBudget") or {}).get("BudgetName")
    if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        resource = str(body.get("ResourceARN", "*"))
    else:
        resource = f"arn:aws:budgets::{account}:budget/{name}" if name else "*"
    tags = {t.get("Key", ""): t.get("Value", "") for t in body.get("ResourceTags") or []}
    checks = [Check(action, resource, _tag_keys(tags))]
    if operation == "CreateBudget" and tags:
        # Service Authorization Reference, CreateBudget: budgets:TagResource for ResourceTags.
        checks.append(Check("budgets:TagResource", resource, _tag_keys(tags)))
    return ApiCall("budgets", operation, checks)


def generic_call(service: str, request: HttpRequest) -> ApiCall:
    """Any other service: the operation from X-Amz-Target or Action, on ``*``."""
    operation = request.target_operation() or request.form().get("Action", "")
    prefix = {"tagging": "tag"}.get(service, service)
    if not operation:
        return ApiCall(service, "", [Check(f"{prefix}:Unknown", "*")])
    return ApiCall(service, operation, [Check(f"{prefix}:{operation}", "*")])


def api_call(service: str, request: HttpRequest, caller_user_arn: str | None = None) -> ApiCall:
    """Map one request of ``service`` (SigV4 signing name) to what IAM authorizes."""
    if service == "dynamodb":
        return dynamodb_call(request)
    if service == "logs":
        return logs_call(request)
    if service == "lambda":
        return lambda_call(request)
    if service == "apigateway":
        return apigateway_call(request)
    if service == "iam":
        return iam_call(request, caller_user_arn)
    if service == "sts":
        return sts_call(request)
    if service == "budgets":
        return budgets_call(request)
    return generic_call(service, request)
