"""SCD30 driver against a virtual SCD30 (Modbus) on a real pty: continuous measurement
started, data-ready polled before each read, ASC as configured, silence."""

from __future__ import annotations

import pytest

from airq_core.protocols import modbus
from airq_core.protocols import scd30 as proto
from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig


def test_starts_measuring_then_polls_data_ready_and_reads() -> None:
    with driver_rig("scd30", {"interval": 1}, interval=1) as rig:
        rig.driver.setup()
        assert rig.emu.measuring and rig.emu.pressure == 0  # no pressure compensation
        assert rig.emu.asc == 1  # ASC left as it was
        for _ in range(3):
            rig.driver.cycle()
        assert len(rig.samples) == 3
        assert rig.samples == rig.emitted  # CO2, temperature, humidity exactly as sent
        assert set(rig.samples[0].values) == {"co2", "temperature", "humidity"}
        polls = rig.emu.requests.count((modbus.READ_HOLDING, proto.REG_DATA_READY, 1))
        assert polls >= 3  # data-ready asked before every read
        starts = [r for r in rig.emu.requests if r[1] == proto.REG_START]
        assert starts == [(modbus.WRITE_SINGLE, proto.REG_START, 0)]  # started once


def test_asc_false_switches_self_calibration_off() -> None:
    with driver_rig("scd30", {"interval": 1}, interval=1, abc=False) as rig:
        rig.driver.setup()
        assert rig.emu.asc == 0
        rig.driver.cycle()
        assert rig.samples == rig.emitted


def test_a_stopped_sensor_is_started_again() -> None:
    with driver_rig("scd30", {"interval": 1}, interval=1) as rig:
        rig.driver.setup()
        rig.emu.measuring = False  # reset by a power glitch
        rig.driver.cycle()  # never ready: start again, no sample
        assert rig.samples == [] and rig.emu.measuring
        rig.driver.cycle()
        assert rig.samples == rig.emitted and len(rig.samples) == 1


def test_silent_sensor_raises() -> None:
    with driver_rig("scd30", interval=1) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="SCD30 on /dev/"):
            rig.driver.setup()
        with pytest.raises(SilentSensorError, match="SCD30 on /dev/"):
            rig.driver.cycle()
