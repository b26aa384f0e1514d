"""Reading the learner's resources by the names the labs give them, once per run.

Every lab's checks share these lookups (a table, a function, the REST API, ...), so each is
cached: one check run reads each resource once, and "missing" is ``None`` rather than an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from workshop.checks.result import CheckResult, lab_hint
from workshop.cleanup import Clients, is_gone, owner_from_tags
from workshop.naming import ResourceNames, workshop_tags


def none_if_gone(call: Callable[..., Any], **kwargs: Any) -> Any:
    """``call``'s answer, or None when what it reads does not exist: "missing" is a result here."""
    try:
        return call(**kwargs)
    except ClientError as error:
        if is_gone(error):
            return None
        raise


class ResourceLookups:
    """The lookups and the shared tag check; the per-lab check classes build on it.

    :class:`workshop.checks.Checker` sets the attributes below.
    """

    target: Any
    names: ResourceNames
    owner: str
    clients: Clients
    http: Any
    _cache: dict[str, Any]

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def table(self) -> dict | None:
        def load() -> dict | None:
            answer = none_if_gone(self.clients("dynamodb").describe_table,
                                  TableName=self.names.table)
            return answer["Table"] if answer else None
        return self._cached("table", load)

    def table_arn(self) -> str:
        table = self.table()
        if table:
            return table["TableArn"]
        return (f"arn:{self.clients.partition}:dynamodb:{self.clients.region}:"
                f"{self.clients.account_id}:"
                f"table/{self.names.table}")

    def function(self) -> dict | None:
        return self._cached("function", lambda: none_if_gone(
            self.clients("lambda").get_function_configuration, FunctionName=self.names.function))

    def role(self) -> dict | None:
        def load() -> dict | None:
            answer = none_if_gone(self.clients("iam").get_role, RoleName=self.names.role)
            return answer["Role"] if answer else None
        return self._cached("role", load)

    def apis(self) -> list[dict]:
        """Every REST API with the learner's API name, the one to check first."""
        def load() -> list[dict]:
            found = []
            paginator = self.clients("apigateway").get_paginator("get_rest_apis")
            for page in paginator.paginate():
                found += [api for api in page.get("items", []) if api.get("name") == self.names.api]
            if len(found) < 2:
                return found
            # Several with the learner's name (a notebook cell run twice): look at the one that
            # is the learner's, deployed, and newest, in that order of importance.
            return sorted(found, key=lambda api: (owner_from_tags(api.get("tags")) == self.owner,
                                                  self._has_stage(api["id"]),
                                                  str(api.get("createdDate", ""))), reverse=True)
        return self._cached("apis", load)

    def _has_stage(self, api_id: str) -> bool:
        return none_if_gone(self.clients("apigateway").get_stage, restApiId=api_id,
                            stageName=self.names.stage) is not None

    def api(self) -> dict | None:
        apis = self.apis()
        return apis[0] if apis else None

    def api_resources(self) -> dict[str, dict]:
        def load() -> dict[str, dict]:
            api = self.api()
            if api is None:
                return {}
            paginator = self.clients("apigateway").get_paginator("get_resources")
            resources: dict[str, dict] = {}
            for page in paginator.paginate(restApiId=api["id"]):
                resources.update({item["path"]: item for item in page.get("items", [])})
            return resources
        return self._cached("api_resources", load)

    def method(self, path: str, http_method: str) -> dict | None:
        resource = self.api_resources().get(path)
        api = self.api()
        if resource is None or api is None:
            return None
        return none_if_gone(self.clients("apigateway").get_method, restApiId=api["id"],
                            resourceId=resource["id"], httpMethod=http_method)

    def invoke_url(self) -> str | None:
        api = self.api()
        return self.target.invoke_url(api["id"], self.names.stage) if api else None

    def stage(self) -> dict | None:
        def load() -> dict | None:
            api = self.api()
            if api is None:
                return None
            return none_if_gone(self.clients("apigateway").get_stage, restApiId=api["id"],
                                stageName=self.names.stage)
        return self._cached("stage", load)

    # --- tags: cleanup trusts only these, so every lab that creates something checks them ------

    def _table_tags(self, arn: str) -> dict[str, str]:
        tags = self.clients("dynamodb").list_tags_of_resource(ResourceArn=arn).get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}

    def _tag_check(self, lab: str, what: str, tags: dict[str, str] | None) -> CheckResult:
        ok = owner_from_tags(tags) == self.owner
        expected = workshop_tags(self.owner)
        return CheckResult(
            lab, f"{what} is tagged as the workshop's and {self.owner}'s", ok,
            f"tags {dict(sorted((tags or {}).items()))}",
            lab_hint(lab, f"add the tags {expected} so cleanup.py can find it "
                     "(it never deletes untagged resources)"))
