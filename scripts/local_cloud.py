"""Start, inspect and stop the workshop's local cloud (moto + Lambda runtime + execute-api gateway).

    python scripts/local_cloud.py up [--fresh]    # start it (detached), restoring your saved work
    python scripts/local_cloud.py status [--json] # is it running? where? how old is the saved state?
    python scripts/local_cloud.py url API_ID [--stage prod]   # invoke base URL of a REST API
    python scripts/local_cloud.py down            # stop it (your work is saved first)
    python scripts/local_cloud.py reset [--yes]   # delete everything and start from nothing

Everything runs on 127.0.0.1; state lives in .workshop/ (WORKSHOP_STATE_DIR moves it), including
snapshot.pickle, the saved state that `up` restores (a crash loses at most the last few seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.environment_check import require_workshop_python  # noqa: E402

require_workshop_python(__file__)

from workshop.localcloud import lifecycle  # noqa: E402
from workshop.localcloud.snapshots import control as snapshots  # noqa: E402
from workshop.localcloud.config import ACCOUNT_ID, REGION  # noqa: E402


def _print_info(info: lifecycle.LocalCloudInfo, prefix: str) -> None:
    print(f"{prefix} (pid {info.pid})")
    print(f"  endpoint: {info.endpoint}    (export AWS_ENDPOINT_URL={info.endpoint})")
    print(f"  gateway:  {info.gateway}    (an API's base URL: {info.gateway}/<api_id>/<stage>)")
    realism = info.realism or {"mode": "off", "scale": 1.0}
    if realism["mode"] == "off":
        print("  realism:  off (every change is instant; WORKSHOP_REALISM=aws for AWS's delays)")
    else:
        print(f"  realism:  {realism['mode']} (AWS's delays and quotas, durations x{realism['scale']:g})")
    if info.log_file:
        print(f"  log:      {info.log_file}")


def _state_dir() -> Path:
    from workshop.paths import state_dir

    return state_dir()


def _print_notice(info: lifecycle.LocalCloudInfo, *, asked_empty: bool = False) -> None:
    """What the start did with the saved state (restored, set aside, ports changed), and that it
    is empty when an earlier local cloud is gone and nothing could be restored."""
    from workshop.target import local_start_notices

    for line in local_start_notices(info, asked_empty=asked_empty):
        print(line)


def cmd_up(args: argparse.Namespace) -> int:
    running = lifecycle.status()
    if running is not None:
        _print_info(running, "The local cloud is already running")
        if args.fresh:
            print(
                "error: --fresh applies when the local cloud starts; it is running with your work. "
                "Stop it first (`down`), or use `reset` to delete everything.",
                file=sys.stderr,
            )
            return 1
        try:
            lifecycle.warn_if_settings_differ(running)
        except lifecycle.LocalCloudError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    if args.fresh:
        try:
            kept = snapshots.set_aside_for_fresh_start(_state_dir())
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        if kept is not None:
            print(f"Starting empty; your saved state was kept as {kept} "
                  "(rename it back to snapshot.pickle, with the local cloud stopped, to return to it).")
    try:
        info = lifecycle.start()
    except lifecycle.LocalCloudError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _print_info(info, "Local cloud started")
    _print_notice(info, asked_empty=args.fresh)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    if lifecycle.stop():
        print("Local cloud stopped.")
        saved = snapshots.fileformat.file_info(_state_dir())
        if saved is not None:
            print(f"Your work is saved in {saved.path}; `up` restores it (`reset` starts from nothing).")
    else:
        print("The local cloud was not running.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        info = lifecycle.status()
    except lifecycle.LocalCloudNotResponding as hung:
        if args.json:
            print(json.dumps({"running": True, "responding": False, "pid": hung.pid}, indent=2))
            return 0
        print(f"The local cloud is not responding (pid {hung.pid}).")
        print(f"  {hung}")
        return 1
    if args.json:
        document = {"running": info is not None, "endpoint": None, "gateway": None}
        if info is not None:
            document.update(info.to_dict())
        document["saved_state"] = snapshots.status_document(_state_dir())
        print(json.dumps(document, indent=2))
        return 0  # the answer is in the document ("running"), for scripts that parse it
    if info is None:
        print("The local cloud is not running. Start it with: python scripts/local_cloud.py up")
        for line in snapshots.status_lines(_state_dir()):
            print(f"  {line}")
        return 1
    _print_info(info, "The local cloud is running")
    for line in snapshots.status_lines(_state_dir()):
        print(f"  {line}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    directory = _state_dir()
    if not args.yes:
        try:
            if not snapshots.confirm_reset(directory):
                print("Nothing was changed.")
                return 1
        except snapshots.ResetRefused as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    was_running = lifecycle.stop()
    deleted = snapshots.delete_saved_state(directory)
    print("Deleted the saved state." if deleted else "There was no saved state.")
    aside = snapshots.fileformat.set_aside_files(directory)
    if aside:
        print(f"{len(aside)} snapshot(s) set aside earlier stay in {directory} (delete them by hand).")
    if not was_running:
        print("The local cloud is stopped; the next start is empty.")
        return 0
    try:
        info = lifecycle.start()
    except lifecycle.LocalCloudError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _print_info(info, "Local cloud restarted, empty")
    return 0


def cmd_url(args: argparse.Namespace) -> int:
    info = lifecycle.status()
    if info is None:
        print(
            "error: the local cloud is not running; start it with "
            "`python scripts/local_cloud.py up` and deploy your API first.",
            file=sys.stderr,
        )
        return 1
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "apigateway",
        endpoint_url=info.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        client.get_rest_api(restApiId=args.api_id)
    except ClientError:
        apis = client.get_rest_apis().get("items", [])
        known = ", ".join(f"{api['id']} ({api['name']})" for api in apis) or "none"
        print(
            f"error: no REST API with id {args.api_id!r} in account {ACCOUNT_ID}, region {REGION}. "
            f"Known APIs: {known}",
            file=sys.stderr,
        )
        return 1
    try:
        client.get_stage(restApiId=args.api_id, stageName=args.stage)
    except ClientError:
        stages = client.get_stages(restApiId=args.api_id).get("item", [])
        known = ", ".join(stage["stageName"] for stage in stages) or "none: create a deployment"
        print(
            f"error: REST API {args.api_id} has no stage {args.stage!r} (stages: {known}).",
            file=sys.stderr,
        )
        return 1
    print(info.invoke_url(args.api_id, args.stage))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="local_cloud.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the local cloud (or report the running one)")
    up.add_argument(
        "--fresh",
        action="store_true",
        help="start empty: the saved state is renamed aside (not deleted), not restored",
    )
    up.set_defaults(handler=cmd_up)
    commands.add_parser("down", help="stop the local cloud (its state is saved first)").set_defaults(
        handler=cmd_down
    )
    reset = commands.add_parser(
        "reset", help="delete everything the local cloud holds, and its saved state; start from nothing"
    )
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(handler=cmd_reset)
    status = commands.add_parser("status", help="is the local cloud running?")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    status.set_defaults(handler=cmd_status)
    url = commands.add_parser("url", help="print the invoke base URL of a deployed REST API")
    url.add_argument("api_id")
    url.add_argument("--stage", default="prod")
    url.set_defaults(handler=cmd_url)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except lifecycle.LocalCloudError as error:
        # The message says what happened and what to do: one line, no traceback.
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
