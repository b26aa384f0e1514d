"""Realism mode: AWS's time and rate in the local cloud, in one place that owns the clock.

Off by default (every change instant, the default suite fast). ``WORKSHOP_REALISM=aws``, read
when the local cloud starts, switches on what a learner meets only on AWS:

- a new or changed IAM role cannot be assumed by Lambda for about 10 s;
- functions are Pending, then Active; updates InProgress, then Successful; invoking a Pending
  function or updating during an update is a ResourceConflictException; an invocation during an
  update (``lambda.invoke``, the execute-api gateway, an authorizer) runs the code and
  configuration the function had before it ("While a function update is in progress,
  invocations go to the function's previous code and configuration.", Lambda developer guide,
  "Lambda function states"), the new ones from Successful on, in new execution environments;
- tables are CREATING, then ACTIVE; DELETING, then gone; item calls on a table that is not
  ACTIVE fail;
- API Gateway's management quotas throttle (429 TooManyRequestsException);
- log events become visible a few seconds after they are written.

``WORKSHOP_REALISM_SCALE`` multiplies every duration (:mod:`.settings`).

Parts: :mod:`.settings` (the variables), :mod:`.clock` (the one clock), :mod:`.timings` (AWS's
durations and their sources), :mod:`.states` (the state machines), :mod:`.quotas` (token
buckets), :mod:`.moto_patches` (where moto consults the states) and :mod:`.wsgi` (where the AWS
endpoint consults the quotas). The server calls :func:`install` once when it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workshop.localcloud.realism.clock import Clock
from workshop.localcloud.realism.settings import (
    RealismSettingError,
    RealismSettings,
    from_environment,
)

__all__ = [
    "Clock",
    "RealismSettingError",
    "RealismSettings",
    "describe",
    "from_environment",
    "install",
    "previous_configuration",
    "uninstall",
]

_settings = RealismSettings()


def install(app: Any, environ: Mapping[str, str] | None = None, clock: Clock | None = None) -> Any:
    """Switch realism on as the environment says; return ``app`` (moto's WSGI app), wrapped
    with the API Gateway quotas when realism is on, unchanged when it is off.

    Raises :class:`RealismSettingError` for a bad ``WORKSHOP_REALISM`` or scale.
    """
    global _settings
    settings = from_environment(environ)
    _settings = settings
    if not settings.enabled:
        return app
    from workshop.localcloud.realism import moto_patches
    from workshop.localcloud.realism.quotas import ManagementQuotas
    from workshop.localcloud.realism.wsgi import QuotaMiddleware

    clock = clock or Clock(settings.scale)
    state = moto_patches.Realism(clock)
    moto_patches.install(state)
    return QuotaMiddleware(app, ManagementQuotas(clock), on_throttle=state.saw)


def uninstall() -> None:
    """Give moto its own methods back (realism off)."""
    global _settings
    _settings = RealismSettings()
    from workshop.localcloud.realism import moto_patches

    moto_patches.uninstall()


def previous_configuration(fn: Any, *, invocation: bool = True) -> Any:
    """The Lambda runtime's ``FunctionConfig`` of moto function ``fn`` from before the update now
    InProgress, which invocations still run; None when there is none or realism is off."""
    from workshop.localcloud.realism import moto_patches

    return moto_patches.previous_configuration(fn, invocation=invocation)


def observed() -> dict[str, int]:
    """How often realism answered what only AWS's time answers, by kind (empty when off)."""
    from workshop.localcloud.realism import moto_patches

    active = moto_patches.active()
    return active.observed() if active is not None else {}


def describe() -> dict[str, object]:
    """The running realism, for the health answer, the state file and ``status``."""
    return _settings.describe()
