"""``scripts/cleanup.py``: the command line around :class:`Cleaner`.

On AWS it asks before deleting (and refuses without a terminal); on the local cloud it does not,
because nothing there costs money or belongs to anybody else.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from botocore.exceptions import ClientError

from workshop.cleanup.cleaner import Cleaner
from workshop.cleanup.clients import Clients
from workshop.cleanup.confirmation import ask_confirmation
from workshop.cleanup.errors import CleanupError
from workshop.cleanup.resources import Resource
from workshop.cleanup.terminal import marks_for, tolerant_stdout
from workshop.naming import normalize_owner


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cleanup.py",
        description="Delete everything the workshop created for a learner (found by its tags), "
                    "in dependency order, then prove nothing is left. Local cloud by default; "
                    "WORKSHOP_TARGET=aws for AWS, where it asks before deleting.")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask for confirmation (on AWS it asks otherwise)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--owner", help="whose resources (default: WORKSHOP_OWNER or your login)")
    who.add_argument("--all-owners", action="store_true",
                     help="instructors: every learner's resources in this account and region")
    parser.add_argument("--region", help="the AWS region to clean (default: your configured one); "
                        "IAM roles and policies are global")
    parser.add_argument("--include-budget", action="store_true",
                        help="also delete the budget inventory-<owner>-budget (lab 00)")
    return parser


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         out: TextIO | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Exit status: 0 all gone (or dry run), 1 something is left, failed or could not be looked
    at, 2 not started."""
    # Imported here, not at the top, so tests that replace workshop.target.connect reach it.
    from workshop.naming import InvalidOwnerError, current_owner
    from workshop.target import TargetError, connect, target_name

    out = out or tolerant_stdout()
    args = build_parser().parse_args(argv)
    try:
        owner = None if args.all_owners else (
            normalize_owner(args.owner) if args.owner else current_owner())
    except InvalidOwnerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.region and target_name() != "local":
            os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = args.region
        target = connect()
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    clients = Clients(region=args.region or target.region)
    where = ("the local cloud" if target.is_local else f"AWS account {target.account_id}") + (
        f", region {clients.region}")
    confirm = None
    if not (target.is_local or args.yes or args.dry_run):
        def confirm(resources: list[Resource]) -> bool:
            return ask_confirmation(resources, where=where, stdin=stdin, out=out)
    cleaner = Cleaner(clients, out=out, sleep=sleep,
                      poll_interval=0.2 if target.is_local else 2.0)
    whose = f"{owner}'s" if owner else "every learner's"
    print(f"Cleanup of {whose} workshop resources in {where}.", file=out)
    try:
        report = cleaner.run(owner, dry_run=args.dry_run, include_budget=args.include_budget,
                             confirm=confirm)
    except CleanupError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted. Nothing is lost: run the cleanup again and it carries on where it "
              "stopped.", file=sys.stderr)
        return 130
    except ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not report.complete:
        print(f"{marks_for(out).fail} Some resources could not be listed or their tags not read "
              "(see the warnings: an AccessDenied names the permission missing), so cleanup "
              "cannot prove nothing is left.", file=out)
        for warning in report.warnings:
            print(f"error: {warning}", file=sys.stderr)
        return 1
    return 0 if report.ok else 1
