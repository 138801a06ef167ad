"""ZPHS01B driver against a virtual ZPHS01B on a real pty: request/reply, the coarse NO₂
flag kept, pre-heat readings dropped, silence."""

from __future__ import annotations

import pytest

from airq_core.protocols import mhz19
from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig
from tests.helpers import wait_until


def test_reads_every_quantity_with_the_coarse_no2_flag() -> None:
    with driver_rig("zphs01b", interval=1, warmup=0) as rig:
        rig.driver.setup()
        for _ in range(3):
            rig.driver.cycle()
        assert rig.samples == rig.emitted and len(rig.samples) == 3
        assert all(s.flags == ("coarse_no2",) and "no2" in s.values for s in rig.samples)
        assert rig.emu.commands == [mhz19.CMD_READ] * 3


def test_preheat_readings_are_dropped() -> None:
    with driver_rig("zphs01b", interval=1, warmup=1.0) as rig:
        rig.driver.setup()
        rig.driver.cycle()
        assert rig.samples == [] and rig.driver.dropped == 1
        wait_until(lambda: not rig.driver.preheating(), what="end of pre-heat")
        rig.driver.cycle()
        assert rig.samples == rig.emitted[1:]


def test_silent_sensor_raises() -> None:
    with driver_rig("zphs01b", interval=1, warmup=0) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="ZPHS01B on /dev/"):
            rig.driver.cycle()
