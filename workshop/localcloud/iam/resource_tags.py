"""``aws:ResourceTag/<key>``: the tags of the resource a request acts on, read from moto.

Looked up only when a policy condition asks for them (most requests never pay for it).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("workshop.localcloud.iam")


def tags_of(arn: str) -> dict[str, str]:
    """The tags of the resource ``arn`` names; {} when it has none or does not exist."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[0] == "arn":
        return {}
    _, partition, service, region, account, rest = parts
    try:
        reader = _READERS.get(service)
        return reader(account, region, rest, arn) if reader else {}
    except Exception:  # noqa: BLE001 - a missing resource simply has no tags
        return {}


def _dynamodb(account: str, region: str, rest: str, arn: str) -> dict[str, str]:
    from moto.dynamodb.models import dynamodb_backends

    table_arn = arn.split("/index/")[0].split("/stream/")[0]
    tags = dynamodb_backends[account][region].list_tags_of_resource(table_arn)
    return {t["Key"]: t["Value"] for t in tags}


def _lambda(account: str, region: str, rest: str, arn: str) -> dict[str, str]:
    from moto.awslambda.models import lambda_backends

    # function:NAME[:QUALIFIER]: tags belong to the function.
    bits = rest.split(":")
    unqualified = arn if len(bits) < 3 else arn.rsplit(":", 1)[0]
    return dict(lambda_backends[account][region].list_tags(unqualified) or {})


def _iam(account: str, region: str, rest: str, arn: str) -> dict[str, str]:
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    kind, _, path_and_name = rest.partition("/")
    name = path_and_name.rsplit("/", 1)[-1]
    if kind == "role":
        role = next((r for r in backend.roles.values() if r.arn == arn or r.name == name), None)
        return _tag_dict(getattr(role, "tags", None))
    if kind == "user":
        return {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(arn)["Tags"]}
    if kind == "policy":
        policy = backend.managed_policies.get(arn)
        return _tag_dict(getattr(policy, "tags", None))
    return {}


def _logs(account: str, region: str, rest: str, arn: str) -> dict[str, str]:
    from moto.logs.models import logs_backends

    # log-group:NAME[:*] or log-group:NAME:log-stream:STREAM -> the group's tags.
    name = rest[len("log-group:") :] if rest.startswith("log-group:") else ""
    name = name.split(":log-stream:")[0]
    if name.endswith(":*"):
        name = name[:-2]
    group_arn = f"arn:{arn.split(':')[1]}:logs:{region}:{account}:log-group:{name}"
    return dict(logs_backends[account][region].list_tags_for_resource(group_arn) or {})


def _apigateway(account: str, region: str, rest: str, arn: str) -> dict[str, str]:
    from moto.apigateway.models import apigateway_backends

    # arn:aws:apigateway:REGION::/restapis/ID[/...]: the REST API's tags (account is empty).
    path = rest.lstrip(":")
    bits = path.strip("/").split("/")
    if len(bits) >= 2 and bits[0] == "restapis":
        from workshop.localcloud import config

        api = apigateway_backends[config.ACCOUNT_ID][region].apis.get(bits[1])
        return dict(getattr(api, "tags", None) or {})
    return {}


def _tag_dict(tags: Any) -> dict[str, str]:
    if not tags:
        return {}
    if isinstance(tags, dict):
        return {
            (v.get("Key", k) if isinstance(v, dict) else k): (v.get("Value", "") if isinstance(v, dict) else str(v))
            for k, v in tags.items()
        }
    return {t["Key"]: t["Value"] for t in tags}


_READERS = {
    "dynamodb": _dynamodb,
    "lambda": _lambda,
    "iam": _iam,
    "logs": _logs,
    "apigateway": _apigateway,
}
