"""WORKSHOP_REALISM / WORKSHOP_REALISM_SCALE parsing and the scaled clock."""

from __future__ import annotations

import pytest

from workshop.localcloud.realism.clock import Clock, ManualClock
from workshop.localcloud.realism.settings import (
    RealismSettingError,
    RealismSettings,
    from_environment,
)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, RealismSettings("off", 1.0)),
        ({"WORKSHOP_REALISM": ""}, RealismSettings("off", 1.0)),
        ({"WORKSHOP_REALISM": "off"}, RealismSettings("off", 1.0)),
        ({"WORKSHOP_REALISM": "aws"}, RealismSettings("aws", 1.0)),
        ({"WORKSHOP_REALISM": " AWS ", "WORKSHOP_REALISM_SCALE": "0.05"}, RealismSettings("aws", 0.05)),
        ({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": "2"}, RealismSettings("aws", 2.0)),
        ({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": "0"}, RealismSettings("aws", 0.0)),
        ({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": "1e-1"}, RealismSettings("aws", 0.1)),
    ],
)
def test_settings_from_the_environment(environ, expected):
    assert from_environment(environ) == expected


def test_realism_is_off_unless_asked_for():
    assert not from_environment({}).enabled
    assert from_environment({"WORKSHOP_REALISM": "aws"}).enabled


@pytest.mark.parametrize("mode", ["on", "true", "1", "localstack", "aws2"])
def test_an_unknown_mode_is_a_clear_error(mode):
    with pytest.raises(RealismSettingError, match=r"WORKSHOP_REALISM=.*'aws' or 'off'"):
        from_environment({"WORKSHOP_REALISM": mode})


@pytest.mark.parametrize("scale", ["abc", "1,5", "fast", "0x10"])
def test_a_scale_that_is_not_a_number_is_a_clear_error(scale):
    with pytest.raises(RealismSettingError, match=r"WORKSHOP_REALISM_SCALE=.* is not a number"):
        from_environment({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": scale})


@pytest.mark.parametrize("scale", ["-1", "-0.01", "nan", "inf", "-inf"])
def test_a_negative_or_infinite_scale_is_a_clear_error(scale):
    with pytest.raises(RealismSettingError, match=r"WORKSHOP_REALISM_SCALE=.*finite number of 0 or more"):
        from_environment({"WORKSHOP_REALISM": "aws", "WORKSHOP_REALISM_SCALE": scale})


def test_a_bad_scale_is_refused_even_while_realism_is_off():
    with pytest.raises(RealismSettingError):
        from_environment({"WORKSHOP_REALISM_SCALE": "-2"})


def test_settings_objects_validate_themselves():
    with pytest.raises(RealismSettingError):
        RealismSettings("sometimes", 1.0)
    with pytest.raises(RealismSettingError):
        RealismSettings("aws", -1.0)


def test_describe_and_summary_name_mode_and_scale():
    assert RealismSettings("aws", 0.05).describe() == {"mode": "aws", "scale": 0.05}
    assert "x0.05" in RealismSettings("aws", 0.05).summary()
    assert RealismSettings().summary().startswith("off")


@pytest.mark.parametrize(("scale", "seconds", "expected"), [(1.0, 10, 10.0), (0.05, 10, 0.5), (2, 3, 6.0), (0, 30, 0.0)])
def test_the_clock_scales_aws_durations(scale, seconds, expected):
    clock = ManualClock(scale=scale, start=100.0)
    assert clock.scaled(seconds) == pytest.approx(expected)
    assert clock.deadline(seconds) == pytest.approx(100.0 + expected)


def test_the_real_clock_follows_wall_time():
    import time

    before = time.time()
    now = Clock(1.0).now()
    assert before <= now <= time.time()


def test_clocks_refuse_a_negative_scale_and_going_back():
    with pytest.raises(ValueError):
        Clock(-0.5)
    clock = ManualClock()
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.advance(2.5)
    assert clock.now() == pytest.approx(1_800_000_002.5)
