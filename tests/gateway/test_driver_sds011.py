"""SDS011 driver against a virtual SDS011 on a real pty: query mode, asleep between readings
when the interval allows, silence."""

from __future__ import annotations

import pytest

from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig


def test_query_mode_one_reading_per_cycle() -> None:
    with driver_rig("sds011", interval=1, warmup=0) as rig:
        rig.driver.setup()
        assert not rig.emu.active and rig.emu.working  # query mode, kept awake
        before = len(rig.emitted)  # power-on frames of the factory active mode
        for _ in range(3):
            rig.driver.cycle()
        assert rig.samples == rig.emitted[before:] and len(rig.samples) == 3


def test_duty_cycle_sleeps_between_readings() -> None:
    with driver_rig("sds011", interval=30, warmup=0) as rig:
        rig.driver.setup()
        assert not rig.emu.active and not rig.emu.working
        before = len(rig.emitted)
        for _ in range(2):
            rig.driver.cycle()
            assert not rig.emu.working
        assert rig.samples == rig.emitted[before:] and len(rig.samples) == 2


def test_silent_sensor_raises() -> None:
    with driver_rig("sds011", interval=1, warmup=0) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="SDS011 on /dev/"):
            rig.driver.setup()
