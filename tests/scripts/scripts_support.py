"""Test helpers for the check and cleanup tests: build workshop-like resources with boto3.

:class:`StackBuilder` makes tagged stacks, untagged look-alikes and partial states with plain boto3
calls, on whatever boto3 reaches (moto in-process, or the local cloud). The complete reference
stack on the local cloud comes from ``workshop.deploy`` instead.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3

from workshop.naming import resource_names, tag_list, workshop_tags
from workshop.paths import SOLUTION_LAMBDA_DIR

REGION = "us-east-1"
ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                 "dynamodb:DeleteItem", "dynamodb:Scan"]


def lambda_zip() -> bytes:
    """The reference Lambda's two files, zipped as lab 03 does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("lambda_function.py", "custom_encoder.py"):
            path = SOLUTION_LAMBDA_DIR / name
            archive.writestr(name, path.read_text())
    return buffer.getvalue()


class StackBuilder:
    """Creates workshop-like resources with plain boto3 calls, tagged or not, whole or partial.

    Used for decoys and partial states; the complete reference stack on the local cloud comes
    from ``workshop.deploy``.
    """

    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.iam = boto3.client("iam", region_name=REGION)
        self.lam = boto3.client("lambda", region_name=REGION)
        self.logs = boto3.client("logs", region_name=REGION)
        self.apigw = boto3.client("apigateway", region_name=REGION)
        self.budgets = boto3.client("budgets", region_name=REGION)

    @staticmethod
    def _tags(owner: str | None) -> dict[str, str]:
        return workshop_tags(owner) if owner else {}

    def table(self, name: str, owner: str | None = None, *, key: str = "productId") -> str:
        kwargs: dict[str, Any] = {"Tags": tag_list(owner)} if owner else {}
        table = self.ddb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}], **kwargs)
        return table["TableDescription"]["TableArn"]

    def role(self, name: str, owner: str | None = None, *, table_arn: str | None = None,
             policy_name: str = "table-access", actions: list[str] | None = None,
             resource: str | None = None, managed: tuple[str, ...] = ()) -> str:
        kwargs: dict[str, Any] = {"Tags": tag_list(owner)} if owner else {}
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST),
                                   **kwargs)["Role"]["Arn"]
        if table_arn or resource:
            document = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": actions or TABLE_ACTIONS,
                 "Resource": resource or table_arn},
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                               "logs:PutLogEvents"], "Resource": "*"}]}
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                     PolicyDocument=json.dumps(document))
        for policy_arn in managed:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return arn

    def managed_policy(self, name: str, owner: str | None = None) -> str:
        kwargs: dict[str, Any] = {"Tags": tag_list(owner)} if owner else {}
        document = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
        return self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document),
                                      **kwargs)["Policy"]["Arn"]

    def function(self, name: str, role_arn: str, owner: str | None = None, *,
                 table: str = "t", runtime: str = "python3.12",
                 handler: str = "lambda_function.lambda_handler") -> str:
        kwargs: dict[str, Any] = {"Tags": self._tags(owner)} if owner else {}
        return self.lam.create_function(
            FunctionName=name, Runtime=runtime, Role=role_arn, Handler=handler,
            Code={"ZipFile": lambda_zip()}, Environment={"Variables": {"TABLE_NAME": table}},
            **kwargs)["FunctionArn"]

    def log_group(self, name: str, owner: str | None = None, *,
                  tags: dict[str, str] | None = None) -> None:
        tags = tags if tags is not None else self._tags(owner)
        kwargs: dict[str, Any] = {"tags": tags} if tags else {}
        self.logs.create_log_group(logGroupName=name, **kwargs)

    def api(self, name: str, owner: str | None = None, *, function_arn: str | None = None,
            tags: dict[str, str] | None = None) -> str:
        tags = tags if tags is not None else self._tags(owner)
        kwargs: dict[str, Any] = {"tags": tags} if tags else {}
        api_id = self.apigw.create_rest_api(name=name, **kwargs)["id"]
        if function_arn:
            self._routes(api_id, function_arn)
        return api_id

    def _routes(self, api_id: str, function_arn: str) -> None:
        root = next(r["id"] for r in self.apigw.get_resources(restApiId=api_id)["items"]
                    if r["path"] == "/")
        uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
               f"{function_arn}/invocations")
        routes = {"health": ["GET"], "product": ["GET", "POST", "PATCH", "DELETE"],
                  "products": ["GET"]}
        for part, methods in routes.items():
            resource = self.apigw.create_resource(restApiId=api_id, parentId=root,
                                                  pathPart=part)["id"]
            for method in methods:
                self.apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method,
                                      authorizationType="NONE")
                self.apigw.put_integration(restApiId=api_id, resourceId=resource,
                                           httpMethod=method, type="AWS_PROXY",
                                           integrationHttpMethod="POST", uri=uri)
            self.apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="OPTIONS",
                                  authorizationType="NONE")
            self.apigw.put_integration(restApiId=api_id, resourceId=resource,
                                       httpMethod="OPTIONS", type="MOCK",
                                       requestTemplates={"application/json": '{"statusCode": 200}'})
            headers = {f"method.response.header.Access-Control-Allow-{h}": False
                       for h in ("Origin", "Methods", "Headers")}
            self.apigw.put_method_response(restApiId=api_id, resourceId=resource,
                                           httpMethod="OPTIONS", statusCode="200",
                                           responseParameters=headers)
            self.apigw.put_integration_response(
                restApiId=api_id, resourceId=resource, httpMethod="OPTIONS", statusCode="200",
                responseParameters={
                    "method.response.header.Access-Control-Allow-Origin": "'*'",
                    "method.response.header.Access-Control-Allow-Methods":
                        "'DELETE,GET,OPTIONS,PATCH,POST'",
                    "method.response.header.Access-Control-Allow-Headers": "'Content-Type'"})
        self.lam.add_permission(
            FunctionName=function_arn.rsplit(":", 1)[-1], StatementId="apigateway-invoke",
            Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*")
        self.apigw.create_deployment(restApiId=api_id, stageName="prod")

    def budget(self, name: str, owner: str | None = None) -> None:
        kwargs: dict[str, Any] = {"ResourceTags": tag_list(owner)} if owner else {}
        self.budgets.create_budget(AccountId=ACCOUNT, Budget={
            "BudgetName": name, "BudgetLimit": {"Amount": "5", "Unit": "USD"},
            "TimeUnit": "MONTHLY", "BudgetType": "COST"}, **kwargs)

    def full_stack(self, owner: str) -> dict[str, str]:
        """Every resource of one learner, tagged, as the labs build it (the log group untagged,
        as Lambda creates it on the first invocation)."""
        names = resource_names(owner)
        table_arn = self.table(names.table, owner)
        role_arn = self.role(names.role, owner, table_arn=table_arn, policy_name=names.role_policy,
                             managed=(BASIC_EXECUTION_ARN,))
        function_arn = self.function(names.function, role_arn, owner, table=names.table)
        self.log_group(names.log_group)
        api_id = self.api(names.api, owner, function_arn=function_arn)
        return {"table": names.table, "role": names.role, "function": names.function,
                "api_id": api_id, "log_group": names.log_group}


BASIC_EXECUTION_ARN = f"arn:aws:iam::{ACCOUNT}:policy/service-role/AWSLambdaBasicExecutionRole"


def _all(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs)
            for item in page.get(key, [])]


def snapshot() -> dict[str, set[str]]:
    """Every resource in the (moto or local) account, by kind, to compare before and after."""
    client = lambda service: boto3.client(service, region_name=REGION)  # noqa: E731
    return {
        "tables": set(_all(client("dynamodb"), "list_tables", "TableNames")),
        "roles": {r["RoleName"] for r in _all(client("iam"), "list_roles", "Roles")},
        "policies": {p["PolicyName"] for p in _all(client("iam"), "list_policies", "Policies",
                                                   Scope="Local")}
        - {"AWSLambdaBasicExecutionRole"},
        "functions": {f["FunctionName"] for f in _all(client("lambda"), "list_functions",
                                                      "Functions")},
        "log_groups": {g["logGroupName"] for g in _all(client("logs"), "describe_log_groups",
                                                       "logGroups")},
        "apis": {a["id"] for a in _all(client("apigateway"), "get_rest_apis", "items")},
    }
