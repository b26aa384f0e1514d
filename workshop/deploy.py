"""Build the stack from the solution notebooks: catch up to any lab.

There is no second copy of the build code. Each solution notebook tags its idempotent
stack-building cells ``build`` (cell metadata); :func:`deploy` executes exactly those cells, from
notebooks 01 to N in order, in one namespace seeded by running each notebook's first cell (the
``setup`` cell that connects to the target and works out the names). The code a script or a
catch-up runs is therefore the code the labs teach, and a fix to a lab fixes both.

Build cells are idempotent: an existing table, role, function or API is kept as it is (the role
policy is put again and the API deployed again, which changes nothing), so deploying twice
changes nothing and catching up never overwrites a learner's own function. The Lambda code
deployed is the reference in ``solutions/lambda`` (``LAMBDA_DIR`` in the namespace).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workshop.labs import LABS
from workshop.naming import OWNER_TAG_KEY, ResourceNames, resource_names
from workshop.paths import SOLUTION_LAMBDA_DIR, SOLUTION_NOTEBOOKS_DIR

BUILD_TAG = "build"
SETUP_TAG = "setup"
# Labs 05 to 07 build nothing: the core stack is what labs 01 to 04 build, and the default.
LAST_BUILDING_LAB = 4
# Lab 08 adds /product/stock and protects the write methods; built only when asked for
# (--through 08), since clients then need a token and an API key.
PROTECTION_LAB = 8
WHAT_LABS_BUILD = {
    1: "the table", 3: "the role and the function", 4: "the REST API and its stage",
    8: "/product/stock, the authorizer, the API key and the usage plan",
}


def building_labs(through: int) -> list[int]:
    """The labs whose build cells make the stack up to lab ``through``."""
    labs = list(range(1, min(through, LAST_BUILDING_LAB) + 1))
    if through >= PROTECTION_LAB:
        labs.append(PROTECTION_LAB)
    return labs


class DeployError(RuntimeError):
    """A build cell failed; the message names the lab and cell and carries its output."""


@dataclass(frozen=True)
class BuildCell:
    lab: int
    index: int  # position in the notebook, as Jupyter shows it (0-based)
    source: str
    setup: bool

    @property
    def where(self) -> str:
        return f"solutions/notebooks/{LABS[self.lab]}.ipynb cell {self.index}"


def _check_lab(through: int) -> int:
    if not isinstance(through, int) or isinstance(through, bool) or not 0 <= through <= max(LABS):
        raise ValueError(f"through must be a lab number from 0 to {max(LABS)}, not {through!r}")
    return through


def build_cells(through: int, notebooks_dir: Path = SOLUTION_NOTEBOOKS_DIR) -> list[BuildCell]:
    """The setup and build cells of solution notebooks 01..``through``, in execution order."""
    cells: list[BuildCell] = []
    for lab in building_labs(_check_lab(through)):
        path = notebooks_dir / f"{LABS[lab]}.ipynb"
        # Plain JSON, not nbformat: importing nbformat takes seconds, and catch_up runs in
        # every notebook's second cell.
        notebook = json.loads(path.read_text(encoding="utf-8"))
        found = []
        for index, cell in enumerate(notebook["cells"]):
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] != "code" or not ({BUILD_TAG, SETUP_TAG} & set(tags)):
                continue
            source = cell["source"]
            source = "".join(source) if isinstance(source, list) else source
            found.append(BuildCell(lab, index, source, SETUP_TAG in tags))
        if any(not cell.setup for cell in found):  # lab 02 builds nothing: skip its setup too
            cells += found
    return cells


def find_api_id(names: ResourceNames) -> str | None:
    """The id of ``names.owner``'s REST API (by name and owner tag), or None."""
    import boto3

    apigateway = boto3.client("apigateway")
    for page in apigateway.get_paginator("get_rest_apis").paginate():
        for api in page["items"]:
            if api["name"] == names.api and api.get("tags", {}).get(OWNER_TAG_KEY) == names.owner:
                return api["id"]
    return None


def deploy(through: int | None = None, quiet: bool = False) -> dict:
    """Build the stack up to lab ``through`` (default: all of it) on the current target.

    The default is the core stack of labs 01-04; ``through=8`` adds lab 08's protection.
    Returns ``api_url`` (ends with the stage; None before lab 04), ``api_id``, ``table``,
    ``function``, ``role``, ``region`` and ``owner``. With ``quiet`` the cells' output is
    only shown when one fails.
    """
    through = LAST_BUILDING_LAB if through is None else _check_lab(through)
    cells = build_cells(through)
    namespace: dict = {"__name__": "__workshop_deploy__", "LAMBDA_DIR": SOLUTION_LAMBDA_DIR}
    captured = io.StringIO()  # quiet: the cells' output, shown only if one fails
    connected = False
    announced: set[int] = set()
    for position, cell in enumerate(cells):
        if not quiet and cell.lab not in announced:
            if announced:
                print()
            announced.add(cell.lab)
            print(f"== Lab {LABS[cell.lab]} ==")
        # Every notebook's setup cell runs (it holds that notebook's imports), but the target
        # line it prints is worth showing once.
        if cell.setup and connected:
            sink = io.StringIO()
        else:
            sink = captured if quiet else sys.stdout
        try:
            with contextlib.redirect_stdout(sink):
                exec(compile(cell.source, f"<{cell.where}>", "exec"), namespace)  # noqa: S102
        except Exception as error:
            shown = captured.getvalue().strip()
            raise DeployError(
                f"Building lab {cell.lab:02d} failed in {cell.where}: "
                f"{type(error).__name__}: {error}" + (f"\nIts output:\n{shown}" if shown else "")
            ) from error
        connected = connected or cell.setup
        if position == len(cells) - 1 or cells[position + 1].lab != cell.lab:
            _require_built(cell, captured.getvalue().strip())
    return _summary(namespace, through)


def _require_built(last: BuildCell, shown: str) -> None:
    """Fail loudly when a lab's build cells ran without error but left its resources missing.

    In a notebook a create cell that makes nothing only prints NOT CREATED (so Run All reaches
    the check cell, see ``workshop.notebooks.not_created``); a deploy must not go on from there.
    """
    if last.lab in missing_labs(last.lab):
        raise DeployError(
            f"Building lab {last.lab:02d} ran its build cells (the last: {last.where}) but "
            f"left something missing of {WHAT_LABS_BUILD[last.lab]}"
            + (f"\nIts output:\n{shown}" if shown else ""))


def _summary(namespace: dict, through: int) -> dict:
    from workshop.target import connect

    target = namespace.get("target") or connect(quiet=True)
    names = namespace.get("names") or resource_names()
    api_id = find_api_id(names) if through >= LAST_BUILDING_LAB else None
    return {
        "api_url": target.invoke_url(api_id, names.stage) if api_id else None,
        "api_id": api_id,
        "table": names.table,
        "function": names.function,
        "role": names.role,
        "region": target.region,
        "owner": names.owner,
    }


def missing_labs(through: int, names: ResourceNames | None = None) -> list[int]:
    """Labs up to ``through`` whose resources are not all there (lab 02 builds nothing)."""
    import boto3
    from botocore.exceptions import ClientError

    names = names or resource_names()

    def exists(call: Callable[..., Any], **kwargs: Any) -> bool:
        try:
            call(**kwargs)
            return True
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ResourceNotFoundException", "NoSuchEntity", "NotFoundException"):
                return False
            raise

    missing = []
    protected = _check_lab(through) >= PROTECTION_LAB
    through = min(through, LAST_BUILDING_LAB)
    if through >= 1 and not exists(boto3.client("dynamodb").describe_table, TableName=names.table):
        missing.append(1)
    if through >= 3 and not (
        exists(boto3.client("iam").get_role, RoleName=names.role)
        and exists(boto3.client("lambda").get_function_configuration, FunctionName=names.function)
    ):
        missing.append(3)
    if through >= 4:
        api_id = find_api_id(names)
        if api_id is None or not exists(
            boto3.client("apigateway").get_stage, restApiId=api_id, stageName=names.stage
        ):
            missing.append(4)
    if protected:
        from workshop.protection import find_usage_plan, protection_names

        guard = protection_names(names)
        if not (
            exists(boto3.client("lambda").get_function_configuration, FunctionName=guard.authorizer_function)
            and find_usage_plan(boto3.client("apigateway"), guard) is not None
        ):
            missing.append(PROTECTION_LAB)
    return missing


@dataclass(frozen=True)
class Problem:
    """Something that exists but does not work, found by :func:`stack_problems`.

    ``rebuild``: running the build cells again repairs it (an API not deployed, a permission
    missing). ``repair``: a direct repair (TABLE_NAME set back). Neither: only named, with
    ``fix`` saying what to do (the learner's own code is never replaced).
    """

    what: str
    fix: str
    rebuild: bool = False
    repair: Callable[[], None] | None = None


#: What a status of GET /health through the gateway means, and whether rebuilding repairs it.
HEALTH_DIAGNOSES = {
    403: ("no route matches: the API is not deployed to the stage (or a resource is missing)", True),
    500: ("API Gateway cannot invoke the function: its resource policy lacks the permission "
          "for this API (add_permission)", True),
    502: ("the function raised, or returned something that is not a proxy response: deploy "
          "working code (your lab 02 files with lab 03's update cell) and read its log", False),
    504: ("the function took longer than 29 s: read the REPORT lines in its log", False),
}


def stack_problems(through: int, names: ResourceNames | None = None) -> list[Problem]:
    """What exists but does not work, up to lab ``through``: the table is not ACTIVE, the
    function is not Active or its TABLE_NAME points elsewhere, or GET /health through the
    gateway does not answer 200."""
    import boto3

    names = names or resource_names()
    through = min(_check_lab(through), LAST_BUILDING_LAB)
    problems: list[Problem] = []
    if through >= 1:
        status = boto3.client("dynamodb").describe_table(TableName=names.table)["Table"][
            "TableStatus"]
        if status != "ACTIVE":
            problems.append(Problem(f"table {names.table} is {status}",
                                    "wait until it is ACTIVE", rebuild=True))
    if through >= 3:
        lambda_client = boto3.client("lambda")
        config = lambda_client.get_function_configuration(FunctionName=names.function)
        if config.get("State", "Active") == "Failed":
            problems.append(Problem(
                f"function {names.function} is Failed ({config.get('StateReason', '')})",
                "update its code or configuration (lab 03)"))
        table_name = config.get("Environment", {}).get("Variables", {}).get("TABLE_NAME")
        if table_name != names.table:
            def set_table_name() -> None:
                variables = {**config.get("Environment", {}).get("Variables", {}),
                             "TABLE_NAME": names.table}
                lambda_client.update_function_configuration(
                    FunctionName=names.function, Environment={"Variables": variables})
                lambda_client.get_waiter("function_updated_v2").wait(FunctionName=names.function)

            problems.append(Problem(
                f"the function's TABLE_NAME is {table_name!r}, not {names.table!r}",
                f"set TABLE_NAME back to {names.table}", repair=set_table_name))
    if through >= 4:
        status, body = health_through_gateway(names)
        if status != 200:
            why, rebuild = HEALTH_DIAGNOSES.get(
                status, ("read lab 06's table of status codes", False))
            problems.append(Problem(f"GET /health through the gateway answers {status} {body}",
                                    why, rebuild=rebuild))
    return problems


def health_through_gateway(names: ResourceNames) -> tuple[int | str, str]:
    """The status and (shortened) body of GET /health on the deployed stage."""
    import requests

    from workshop.target import connect

    target = connect(quiet=True)
    api_id = find_api_id(names)
    if api_id is None:
        return "no API", ""
    session = requests.Session()
    session.trust_env = not target.is_local  # the local gateway is on 127.0.0.1: no proxy
    # On AWS a deployment made a moment ago can take a few seconds to answer; the local cloud
    # answers at once.
    attempts = 1 if target.is_local else 5
    for attempt in range(1, attempts + 1):
        try:
            response = session.get(f"{target.invoke_url(api_id, names.stage)}/health", timeout=30)
        except requests.RequestException as error:
            status, body = "no answer", str(error)[:200]
        else:
            status, body = response.status_code, response.text.strip()[:200]
        if status == 200 or attempt == attempts:
            break
        time.sleep(3)
    return status, body


def catch_up(through: int) -> None:
    """Build what labs 01..``through`` build if any of it is missing, check that what exists
    works, repair what a rebuild can repair, and name the rest.

    Called by the second cell of notebooks 02 to 07, so each runs on its own. Resources that
    exist are kept as they are (your own function and its code stay yours); only what the
    build cells set (the role policy, the API's routes, the permission, the deployment) and
    the function's TABLE_NAME are set again.
    """
    _check_lab(through)
    if min(through, LAST_BUILDING_LAB) < 1:
        print("Catch-up: earlier labs build nothing; nothing to do.")
        return
    missing = missing_labs(through)
    span = f"labs 01-{through:02d} build" if through > 1 else "lab 01 builds"
    if missing:
        print(
            "Catch-up: building what is missing from the solutions: "
            + "; ".join(f"lab {lab:02d} ({WHAT_LABS_BUILD[lab]})" for lab in missing)
            + " ..."
        )
        deploy(through, quiet=True)
    problems = stack_problems(through)
    if not problems:
        works = (" and GET /health answers 200 through the gateway" if through >= LAST_BUILDING_LAB
                 else "")
        if missing:
            print(f"Catch-up: done; everything {span} works{works}.")
        else:
            print(f"Catch-up: everything {span} is in place{works}; nothing to do.")
        return
    for problem in problems:
        print(f"Catch-up: {problem.what}: {problem.fix}.")
    for problem in problems:
        if problem.repair is not None:
            problem.repair()
    if any(problem.rebuild for problem in problems) and not missing:
        print("Catch-up: rebuilding from the solutions (what exists is kept) ...")
        deploy(through, quiet=True)
    left = stack_problems(through)
    if not left:
        print(f"Catch-up: repaired; everything {span} works.")
        return
    for problem in left:
        print(f"Catch-up: still broken: {problem.what}. What to do: {problem.fix}.")


def main(argv: list[str] | None = None) -> int:
    """``scripts/deploy.py [--through LAB] [--json]``."""
    import argparse

    from workshop.target import TargetError

    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Build your stack (or catch up to a lab) from the solution notebooks. "
        "Idempotent: what exists is kept.",
    )
    parser.add_argument(
        "--through", type=int, choices=sorted(LABS), metavar="LAB", default=None,
        help="build what labs 01..LAB build (default: the core stack, labs 01-04; 8 adds lab 08's "
        "stock route, authorizer, API key and usage plan)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    try:
        result = deploy(args.through, quiet=args.json)
    except (DeployError, TargetError) as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    print(f"\nDone: {result['owner']}'s stack in {result['region']}")
    for key in ("table", "function", "role", "api_id"):
        if result[key] and (key != "api_id" or result["api_url"]):
            print(f"  {key:9} {result[key]}")
    if result["api_url"]:
        print(f"  api_url   {result['api_url']}\n\nTry it: curl {result['api_url']}/health")
    return 0
