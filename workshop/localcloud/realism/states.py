"""The state machines of realism mode: what each resource is, at the realism clock's now.

Pure bookkeeping, free of moto: :mod:`.moto_patches` tells them what happened (a role changed,
a function was created, a table deleted) and asks them what to answer. Each timeline starts
when the local cloud learns of the change and lasts the :mod:`.timings` duration times the
scale.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from workshop.localcloud.realism import timings
from workshop.localcloud.realism.clock import Clock

PENDING = "Pending"
ACTIVE = "Active"
IN_PROGRESS = "InProgress"
SUCCESSFUL = "Successful"
CREATING = "CREATING"
TABLE_ACTIVE = "ACTIVE"
DELETING = "DELETING"


class RolePropagation:
    """When a role (by account and name) can be assumed by Lambda again after a change."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._ready_at: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(account: str, role_name: str) -> tuple[str, str]:
        return account, role_name.lower()  # IAM role names are unique regardless of case

    def changed(self, account: str, role_name: str) -> None:
        with self._lock:
            self._ready_at[self._key(account, role_name)] = self.clock.deadline(
                timings.ROLE_PROPAGATION_S
            )

    def forget(self, account: str, role_name: str) -> None:
        with self._lock:
            self._ready_at.pop(self._key(account, role_name), None)

    def assumable(self, account: str, role_name: str) -> bool:
        with self._lock:
            ready_at = self._ready_at.get(self._key(account, role_name))
        return ready_at is None or self.clock.now() >= ready_at


class FunctionStates:
    """State (Pending -> Active) and LastUpdateStatus (InProgress -> Successful) per function.

    Keyed by the unqualified function ARN. A function the local cloud never saw created or
    updated (none, in practice) is Active and Successful.

    An update also keeps what the function ran *before* it (``previous``: whatever the caller
    captured, for the Lambda runtime its ``FunctionConfig``), because "while a function update
    is in progress, invocations go to the function's previous code and configuration" (Lambda
    developer guide, "Lambda function states", "Function states while updating"). It is kept
    only while the update is InProgress: dropped as soon as any call here finds the update over,
    and when the function is deleted or created again, so an old code package is not held for
    longer than AWS would still run it.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._active_at: dict[str, float] = {}
        self._updated_at: dict[str, float] = {}
        self._previous: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _drop_settled(self) -> None:
        """Forget the previous configuration of every update that is over (under the lock)."""
        if not self._previous:
            return
        now = self.clock.now()
        for arn in [arn for arn in self._previous if now >= self._updated_at.get(arn, now)]:
            del self._previous[arn]

    def created(self, arn: str) -> None:
        with self._lock:
            self._active_at[arn] = self.clock.deadline(timings.FUNCTION_CREATE_S)
            self._updated_at.pop(arn, None)
            self._previous.pop(arn, None)
            self._drop_settled()

    def update_started(self, arn: str, previous: Any = None) -> None:
        """An update of ``arn`` began; ``previous`` is what invocations run until it is over.

        Should a second update start while one is still InProgress (two requests racing past
        the conflict check), the first update's ``previous`` stays: it is what still runs.
        """
        with self._lock:
            self._drop_settled()
            self._updated_at[arn] = self.clock.deadline(timings.FUNCTION_UPDATE_S)
            if previous is not None:
                self._previous.setdefault(arn, previous)

    def update_undone(self, arn: str, previous: float | None) -> None:
        """Put back the update timeline an update that failed had started (the function still
        has its previous code and configuration, so nothing of it needs keeping)."""
        with self._lock:
            if previous is None:
                self._updated_at.pop(arn, None)
            else:
                self._updated_at[arn] = previous
            if previous is None or self.clock.now() >= previous:
                self._previous.pop(arn, None)
            self._drop_settled()

    def update_deadline(self, arn: str) -> float | None:
        with self._lock:
            return self._updated_at.get(arn)

    def previous(self, arn: str) -> Any:
        """What ``arn`` ran before the update now InProgress, or None (no update in progress)."""
        with self._lock:
            self._drop_settled()
            return self._previous.get(arn)

    def kept_previous(self) -> int:
        """How many previous configurations are held (tests: none outlives its update)."""
        with self._lock:
            return len(self._previous)

    def forget(self, arn: str) -> None:
        with self._lock:
            self._active_at.pop(arn, None)
            self._updated_at.pop(arn, None)
            self._previous.pop(arn, None)
            self._drop_settled()

    def state(self, arn: str) -> str:
        with self._lock:
            self._drop_settled()
            active_at = self._active_at.get(arn)
        return PENDING if active_at is not None and self.clock.now() < active_at else ACTIVE

    def last_update_status(self, arn: str) -> str | None:
        """None while the function is still Pending: Lambda sets LastUpdateStatus "to
        Successful after function creation completes" (API reference, FunctionConfiguration)."""
        if self.state(arn) == PENDING:
            return None
        with self._lock:
            updated_at = self._updated_at.get(arn)
        return IN_PROGRESS if updated_at is not None and self.clock.now() < updated_at else SUCCESSFUL


class TableStates:
    """TableStatus per table (account, Region, name): CREATING -> ACTIVE, DELETING -> gone.

    A deleted table is kept as a *ghost* (its last description, status DELETING) until its
    deletion is over; the local cloud's own store has already forgotten it.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._active_at: dict[tuple[str, str, str], float] = {}
        self._ghosts: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def created(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._active_at[key] = self.clock.deadline(timings.TABLE_CREATE_S)
            self._ghosts.pop(key, None)

    def deleting(self, key: tuple[str, str, str], description: dict[str, Any]) -> None:
        """``description``: what DescribeTable answers (the inner ``Table`` dict)."""
        ghost = copy.deepcopy(description)
        ghost["TableStatus"] = DELETING
        with self._lock:
            self._active_at.pop(key, None)
            self._ghosts[key] = (self.clock.deadline(timings.TABLE_DELETE_S), ghost)

    def status(self, key: tuple[str, str, str]) -> str:
        """CREATING, DELETING or ACTIVE (what a table that exists and is neither reads)."""
        if self.ghost(key) is not None:
            return DELETING
        with self._lock:
            active_at = self._active_at.get(key)
        return CREATING if active_at is not None and self.clock.now() < active_at else TABLE_ACTIVE

    def ghost(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        """The description of a table still being deleted (a copy), or None."""
        with self._lock:
            entry = self._ghosts.get(key)
            if entry is None:
                return None
            gone_at, description = entry
            if self.clock.now() >= gone_at:
                del self._ghosts[key]
                return None
            return copy.deepcopy(description)


class LogVisibility:
    """CloudWatch Logs events are searchable only some time after they were ingested."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def visible(self, ingestion_time_ms: int | float) -> bool:
        delay = self.clock.scaled(timings.LOG_VISIBILITY_S)
        return ingestion_time_ms / 1000.0 + delay <= self.clock.now()
