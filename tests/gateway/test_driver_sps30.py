"""SPS30 driver against a virtual SPS30 on a real pty: measurement started once, "no new
data" read again, a reset sensor restarted, sleep between readings on long intervals."""

from __future__ import annotations

import pytest

from airq_core.protocols import sps30 as proto
from firmware_tools.virtual.sps30 import IDLE, MEASURING, SLEEPING
from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig


def test_measures_continuously_and_reads_each_cycle() -> None:
    with driver_rig("sps30", {"period": 0.3}, interval=1, warmup=0) as rig:
        rig.driver.setup()
        assert rig.emu.state == MEASURING
        for _ in range(3):
            rig.driver.cycle()  # the first reads come back empty until a measurement is ready
        assert rig.emu.commands.count(proto.CMD_START) == 1  # started once
        assert proto.CMD_SLEEP not in rig.emu.commands  # short interval: never asleep
        assert rig.emu.commands.count(proto.CMD_READ) > 3  # empty replies were read again
        assert len(rig.samples) == 3
        assert rig.samples == rig.emitted  # values exactly as sent, in order
        assert all(s.sensor == "sps30" and s.flags == () for s in rig.samples)


def test_a_reset_sensor_is_started_again() -> None:
    with driver_rig("sps30", {"period": 0.2}, interval=1, warmup=0) as rig:
        rig.driver.setup()
        rig.driver.cycle()
        rig.emu.state = IDLE  # a power glitch: the sensor is back to idle
        rig.driver.cycle()  # read refused (0x43) -> start -> read
        assert rig.emu.state == MEASURING
        assert rig.emu.commands.count(proto.CMD_START) == 2
        assert len(rig.samples) == 2 and rig.samples == rig.emitted


def test_long_interval_sleeps_between_readings() -> None:
    with driver_rig("sps30", {"period": 0.2}, interval=300, warmup=0) as rig:
        assert rig.driver.duty_cycle
        rig.driver.setup()
        assert rig.emu.state == SLEEPING
        for _ in range(2):
            rig.driver.cycle()  # wake, start, read, stop, sleep
            assert rig.emu.state == SLEEPING
        assert len(rig.samples) == 2 and rig.samples == rig.emitted
        assert rig.emu.commands.count(proto.CMD_WAKE) >= 3


def test_silent_sensor_raises() -> None:
    with driver_rig("sps30", interval=1, warmup=0) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="SPS30 on /dev/"):
            rig.driver.setup()
        rig.pty.silent = False
        rig.driver.setup()
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="does not answer reads"):
            rig.driver.cycle()
