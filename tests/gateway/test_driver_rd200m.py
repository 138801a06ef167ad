"""RD200M driver against a virtual RD200M on a real pty: all data requested each cycle,
warm-up readings kept with their flag, then normal ones; silence."""

from __future__ import annotations

import pytest

from airq_core.protocols import rd200m as proto
from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig


def test_warmup_readings_are_kept_with_their_flag() -> None:
    # speed 1800: the module's clock runs half an hour per second (warm-up lasts 1 h)
    with driver_rig("rd200m", {"speed": 1800}, interval=1) as rig:
        rig.driver.setup()
        rig.driver.cycle()  # a few seconds of module time: pre-heat status 00
        rig.stop.wait(2.2)  # module time past 1 h: status 02 (normal)
        rig.driver.cycle()
        rig.driver.cycle()
        assert rig.samples == rig.emitted  # kept, values and flags exactly as decoded
        assert [s.flags for s in rig.samples] == [("warmup",), (), ()]
        assert all(s.sensor == "rd200m" and "radon" in s.values for s in rig.samples)
        assert rig.emu.commands == [proto.CMD_READ] * 3


def test_silent_sensor_raises() -> None:
    with driver_rig("rd200m", interval=1) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match=r"RD200M on /dev/.*12 V"):
            rig.driver.cycle()
