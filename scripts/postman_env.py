#!/usr/bin/env python3
"""Write a Postman environment that points the workshop's collection at your deployed API.

The collection (postman/inventory.postman_collection.json) calls ``{{baseUrl}}/health``,
``{{baseUrl}}/product`` and so on; this script finds *your* REST API (by the name every workshop
stack uses, see workshop.naming), checks it is deployed to the ``prod`` stage, and writes its
invoke URL as ``baseUrl`` in a file Postman and newman import. It works for both targets:
``WORKSHOP_TARGET=local`` (the default, the local cloud) and ``WORKSHOP_TARGET=aws``.

    python scripts/postman_env.py                      # postman/<target>.postman_environment.json
    python scripts/postman_env.py --out my-env.json
    python scripts/postman_env.py --out -              # print it instead

The generated files hold URLs of one machine's stack, so git ignores them.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.naming import resource_names  # noqa: E402
from workshop.paths import REPO_ROOT  # noqa: E402
from workshop.target import Target, TargetError, connect  # noqa: E402

POSTMAN_DIR = REPO_ROOT / "postman"
DEPLOY_HINT = "run lab 04 (notebooks/04-api-gateway.ipynb) or `python scripts/deploy.py`"


class ApiNotDeployedError(RuntimeError):
    """No deployed workshop API was found; the message says how to create one."""


def find_rest_api_id(client: Any, api_name: str) -> str:
    """The id of the REST API called ``api_name``.

    API Gateway allows several APIs with one name (each create_rest_api makes a new one, a
    classic result of running a notebook cell twice); the newest is the one a learner just built.
    """
    matches = [
        api
        for page in client.get_paginator("get_rest_apis").paginate()
        for api in page.get("items", [])
        if api.get("name") == api_name
    ]
    if not matches:
        raise ApiNotDeployedError(
            f"No REST API named {api_name!r} exists yet: {DEPLOY_HINT}, then run this again."
        )
    newest = max(matches, key=lambda api: api.get("createdDate") or datetime.min)
    if len(matches) > 1:
        print(
            f"note: {len(matches)} REST APIs are named {api_name!r}; using the newest "
            f"({newest['id']}). Lab 07 (or `python scripts/cleanup.py`) removes the others.",
            file=sys.stderr,
        )
    return newest["id"]


def require_stage(client: Any, api_id: str, api_name: str, stage: str) -> None:
    """Fail clearly when the API exists but was never deployed to ``stage``.

    Without a deployment, API Gateway answers every call with 403 Missing Authentication Token,
    which would make the whole collection fail for a reason the learner cannot see.
    """
    try:
        client.get_stage(restApiId=api_id, stageName=stage)
    except client.exceptions.NotFoundException as error:
        raise ApiNotDeployedError(
            f"The REST API {api_name!r} ({api_id}) is not deployed to the stage {stage!r}: "
            f"create a deployment (the last step of lab 04, or `python scripts/deploy.py`)."
        ) from error


def find_invoke_url(target: Target, owner: str | None = None) -> str:
    """The invoke URL (ending with the stage) of ``owner``'s deployed workshop API."""
    import boto3

    names = resource_names(owner)
    client = boto3.client("apigateway", region_name=target.region)
    api_id = find_rest_api_id(client, names.api)
    require_stage(client, api_id, names.api, names.stage)
    return target.invoke_url(api_id, names.stage)


def build_environment(base_url: str, *, target_name: str, owner: str,
                      credentials: dict[str, str] | None = None) -> dict[str, Any]:
    """A Postman environment (the format Postman exports) with ``baseUrl`` set.

    ``productId`` is deliberately not here: the collection makes a fresh one per run in a
    pre-request script, and an environment value would override it (environment variables win
    over collection variables in Postman). Once lab 08 is built, ``credentials`` adds ``apiKey``
    and ``token`` (secret variables), which the collection sends on every write.
    """
    name = f"Serverless inventory - {target_name} ({owner})"
    values = [{"key": "baseUrl", "value": base_url, "type": "default", "enabled": True}]
    credentials = credentials or {}
    if credentials.get("x-api-key"):
        values.append({"key": "apiKey", "value": credentials["x-api-key"], "type": "secret", "enabled": True})
    if credentials.get("Authorization", "").startswith("Bearer "):
        values.append({"key": "token", "value": credentials["Authorization"][len("Bearer "):],
                       "type": "secret", "enabled": True})
    return {
        # Stable for the same stack, so re-importing replaces the environment instead of adding one.
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name} {base_url}")),
        "name": name,
        "values": values,
        "_postman_variable_scope": "environment",
        "_postman_exported_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "_postman_exported_using": "serverless-inventory-workshop/scripts/postman_env.py",
    }


def lab08_credentials(owner: str) -> dict[str, str]:
    """Lab 08's API key and token for ``owner``'s stack; {} before lab 08 (or if unreadable)."""
    try:
        from workshop.protection import api_credentials

        return api_credentials(resource_names(owner))
    except Exception as error:  # noqa: BLE001 - the environment is useful without them
        print(f"note: no lab 08 credentials added ({error}).", file=sys.stderr)
        return {}


def default_output(target_name: str) -> Path:
    return POSTMAN_DIR / f"{target_name}.postman_environment.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        help="where to write the environment ('-' prints it); "
        "default postman/<target>.postman_environment.json",
    )
    parser.add_argument("--owner", help="whose stack (default: WORKSHOP_OWNER or your login)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = connect(quiet=True)
        owner = resource_names(args.owner).owner
        base_url = find_invoke_url(target, owner)
    except (ApiNotDeployedError, TargetError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    environment = build_environment(base_url, target_name=target.name, owner=owner,
                                    credentials=lab08_credentials(owner))
    text = json.dumps(environment, indent=2) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out else default_output(target.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"Wrote {out} (baseUrl = {base_url}).")
    print(
        "Import it and postman/inventory.postman_collection.json into Postman, or run: "
        f"npx newman run postman/inventory.postman_collection.json -e {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
