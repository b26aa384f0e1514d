"""Which realism the local cloud runs with: read from the environment when it starts.

``WORKSHOP_REALISM``: ``off`` (the default; also empty) keeps every change instant, so learners
and the default test suite stay fast. ``aws`` makes the local cloud keep AWS's time and rate:
roles propagate, functions are Pending then Active, tables CREATING then ACTIVE, API Gateway's
management quotas throttle, log events arrive late (see :mod:`.timings`).

``WORKSHOP_REALISM_SCALE`` multiplies every duration of realism mode (default ``1.0``, AWS's
own pace; ``0.05`` makes it twenty times faster, as the test suite runs it). Quota rates are
divided by it, so a scaled run still meets every refusal, only sooner.

Only the standard library is imported: the lifecycle module validates these settings before it
starts the detached local-cloud process, so a typo is reported where it was typed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

MODE_ENV = "WORKSHOP_REALISM"
SCALE_ENV = "WORKSHOP_REALISM_SCALE"
OFF = "off"
AWS = "aws"
MODES = (OFF, AWS)
DEFAULT_SCALE = 1.0


class RealismSettingError(ValueError):
    """A realism variable has a value the local cloud cannot use; the message says which."""


@dataclass(frozen=True)
class RealismSettings:
    mode: str = OFF
    scale: float = DEFAULT_SCALE

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise RealismSettingError(
                f"{MODE_ENV}={self.mode!r} is not a realism mode: use 'aws' or 'off' (the default)"
            )
        if not (isinstance(self.scale, (int, float)) and math.isfinite(self.scale) and self.scale >= 0):
            raise RealismSettingError(
                f"{SCALE_ENV}={self.scale!r} must be a number of 0 or more (1.0 is AWS's pace)"
            )

    @property
    def enabled(self) -> bool:
        return self.mode == AWS

    def describe(self) -> dict[str, object]:
        """What ``status`` shows and the state file records."""
        return {"mode": self.mode, "scale": self.scale}

    def summary(self) -> str:
        if not self.enabled:
            return "off (every change is instant)"
        return f"aws (AWS's delays and quotas, durations x{self.scale:g})"


def from_environment(environ: Mapping[str, str] | None = None) -> RealismSettings:
    """The settings named by ``WORKSHOP_REALISM`` and ``WORKSHOP_REALISM_SCALE``.

    Raises :class:`RealismSettingError` for an unknown mode, or a scale that is not a finite
    number of 0 or more (``abc``, ``-1``, ``nan``, ``inf``). The scale is checked even when
    realism is off, so a mistyped value never lies in wait for the day it is switched on.
    """
    environ = os.environ if environ is None else environ
    mode = (environ.get(MODE_ENV) or "").strip().lower() or OFF
    raw_scale = (environ.get(SCALE_ENV) or "").strip()
    if not raw_scale:
        scale = DEFAULT_SCALE
    else:
        try:
            scale = float(raw_scale)
        except ValueError:
            raise RealismSettingError(
                f"{SCALE_ENV}={raw_scale!r} is not a number: use a number of 0 or more, such as "
                "1.0 (AWS's pace) or 0.05 (twenty times faster)"
            ) from None
    if mode not in MODES:
        raise RealismSettingError(
            f"{MODE_ENV}={mode!r} is not a realism mode: use 'aws' or 'off' (the default)"
        )
    if not math.isfinite(scale) or scale < 0:
        raise RealismSettingError(
            f"{SCALE_ENV}={raw_scale!r} must be a finite number of 0 or more "
            "(1.0 is AWS's pace, 0.05 twenty times faster)"
        )
    return RealismSettings(mode, scale)
