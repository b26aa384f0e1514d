"""``scripts/check.py``: arguments, then one learner's report or the whole class's table.

Exit status 1 when a check fails, 2 when the checks cannot start (a bad lab or owner, no target).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from workshop.checks.checker import Checker
from workshop.checks.labs import CLASS_LABS, DEFAULT_LAB, LABS, labs_through, parse_lab
from workshop.checks.report import (
    DONE,
    class_table,
    lab_status,
    print_results,
    print_summary,
    summary_labs,
)
from workshop.cleanup import Clients, DiscoveryIncomplete, discover, marks_for, tolerant_stdout
from workshop.naming import InvalidOwnerError, current_owner, normalize_owner
from workshop.paths import LABS_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="check.py",
        description="Check a learner's workshop resources lab by lab (local cloud by default; "
                    "WORKSHOP_TARGET=aws for AWS). Exit status 1 when a check fails.")
    parser.add_argument("lab", nargs="?", default=None,
                        help=f"the lab you finished (00-08, default {DEFAULT_LAB}: everything); "
                             "07 checks that nothing is left")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--owner", help="whose resources (default: WORKSHOP_OWNER or your login)")
    who.add_argument("--all-owners", action="store_true",
                     help="instructors: one row per learner found by the workshop's tags")
    parser.add_argument("--summary", action="store_true",
                        help="one line per lab: done, not yet, or broken with the first fix")
    parser.add_argument("--lambda-dir", type=Path, default=LABS_DIR / LABS["02"],
                        help="where your lab 02 files are (default: labs/02-lambda-function)")
    return parser


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    # Imported here, not at the top, so tests that replace workshop.target.connect reach it.
    from workshop.target import TargetError, connect

    out = out or tolerant_stdout()
    args = build_parser().parse_args(argv)
    try:
        lab = parse_lab(args.lab) if args.lab else DEFAULT_LAB
        owner = normalize_owner(args.owner) if args.owner else current_owner()
    except (ValueError, InvalidOwnerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        target = connect()
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    clients = Clients(region=target.region)
    if args.all_owners:
        try:
            found = discover(None, clients=clients)
        except (ClientError, BotoCoreError) as error:
            print(f"error: cannot list the workshop's resources: {error}", file=sys.stderr)
            return 2
        except DiscoveryIncomplete as incomplete:
            # Without every listing, "nobody has anything left" could be false: say what was
            # refused instead of a table built on part of the account.
            for warning in incomplete.warnings:
                print(f"error: {warning}", file=sys.stderr)
            print("error: cannot list every learner's resources with these credentials (see "
                  "above); the instructor's identity needs the list and tag-read permissions.",
                  file=sys.stderr)
            return 2
        owners = sorted({r.owner for r in found})
        if not owners:
            print("No learner's resources were found (nothing carries the workshop's tags).",
                  file=out)
            return 0
        if lab == "07":  # the class-wide cleanup check: who still has something left
            for who in owners:
                count = sum(r.owner == who for r in found)
                print(f"{marks_for(out).fail} {who}: {count} resource(s) left", file=out)
            print("Run `python scripts/cleanup.py --all-owners` to remove them.", file=out)
            return 1
        rows = class_table(target, owners, clients=clients, out=out)
        if args.lab:
            behind = [o for o, status in rows.items()
                      if not all(status[k] for k in CLASS_LABS if k <= lab)]
            if behind:
                print(f"Not yet through lab {lab}: {', '.join(behind)}", file=out)
                return 1
        return 0
    lambda_dir = args.lambda_dir if owner == current_owner() else None
    checker = Checker(target, owner, clients=clients, lambda_dir=lambda_dir)
    if args.summary:
        labs = summary_labs(checker)
        print(f"{owner}'s workshop, lab by lab:", file=out)
        statuses = [lab_status(key, checker.run(labs=[key])) for key in labs]
        print_summary(statuses, out)
        return 0 if all(s.state == DONE for s in statuses if s.lab != "07") else 1
    print(f"Checking {owner}'s workshop through lab {lab} ({LABS[lab]}):", file=out)
    results = checker.run(labs_through(lab))
    print_results(results, out)
    return 0 if results and all(r.passed for r in results) else 1
