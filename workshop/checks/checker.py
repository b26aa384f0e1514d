"""The :class:`Checker`: one owner's checks on one target, each lab's from its own module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from workshop.checks.api import ApiChecks
from workshop.checks.function import FunctionChecks
from workshop.checks.labs import LABS
from workshop.checks.learner_code import LearnerCodeChecks
from workshop.checks.leftovers import LeftoverChecks
from workshop.checks.protection import ProtectionChecks
from workshop.checks.result import CheckResult, lab_hint
from workshop.checks.table import TableChecks
from workshop.checks.troubleshooting import TroubleshootingChecks
from workshop.cleanup import Clients
from workshop.naming import resource_names
from workshop.paths import LABS_DIR


class Checker(TableChecks, LearnerCodeChecks, FunctionChecks, ApiChecks, TroubleshootingChecks,
              LeftoverChecks, ProtectionChecks):
    """Runs the checks for one owner on one target.

    ``http`` is a requests.Session (the local target ignores proxy settings from the
    environment: the local gateway is on 127.0.0.1). ``lambda_dir`` is where the learner's lab 02
    files are; ``None`` leaves lab 02 out (used for other learners, whose files are elsewhere).
    """

    def __init__(self, target: Any, owner: str, *, clients: Clients | None = None,
                 http: Any = None, lambda_dir: Path | None = LABS_DIR / LABS["02"]) -> None:
        import requests

        self.target = target
        self.names = resource_names(owner)
        self.owner = self.names.owner
        self.clients = clients or Clients(region=target.region)
        if http is None:
            http = requests.Session()
            http.trust_env = not target.is_local
        self.http = http
        self.lambda_dir = lambda_dir
        self._cache: dict[str, Any] = {}

    def run(self, labs: list[str]) -> list[CheckResult]:
        results: list[CheckResult] = []
        for lab in labs:
            results += list(self.run_lab(lab))
        return results

    def run_lab(self, lab: str) -> Iterator[CheckResult]:
        method: Callable[[], Iterator[CheckResult]] = getattr(self, f"lab_{lab}")
        try:
            yield from method()
        except (ClientError, BotoCoreError) as error:
            yield CheckResult(lab, "the lab's resources could be read", False, str(error),
                              "check your credentials, region and permissions, then run again")
        except Exception as error:  # noqa: BLE001 - a resource in a shape no check expected
            # A check must never crash on what a learner built: report what was met instead.
            yield CheckResult(lab, "the lab's checks could read what you built", False,
                              f"{type(error).__name__}: {error}",
                              lab_hint(lab, "something has an unexpected shape; compare it with "
                                       "the lab's notebook, or rebuild it with the notebook's "
                                       "cells"))

    def lab_00(self) -> Iterator[CheckResult]:
        try:
            account = self.clients.account_id
        except (ClientError, BotoCoreError) as error:
            yield CheckResult("00", "the target answers with your credentials", False, str(error),
                              lab_hint("00", "configure credentials and a region (aws configure)"))
            return
        yield CheckResult("00", f"the target answers (account {account}, "
                          f"region {self.clients.region}, owner {self.owner})", True)
