"""Senseair S8 driver against a virtual S8 on a real pty: CO₂ with the meter status as
flags, ABC period set only when it must change, Modbus exceptions counted, silence."""

from __future__ import annotations

import pytest

from airq_core.protocols import modbus
from airq_core.protocols import senseair_s8 as proto
from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig


def test_reads_co2_and_meter_status_each_cycle() -> None:
    with driver_rig("senseair_s8", interval=1) as rig:
        rig.driver.setup()
        rig.driver.cycle()
        rig.emu.meter_status = 0x20  # the sensor says its reading is out of range
        rig.driver.cycle()
        rig.emu.meter_status = 0
        rig.driver.cycle()
        assert rig.samples == rig.emitted  # values exactly as sent
        assert [s.flags for s in rig.samples] == [(), ("out_of_range",), ()]
        assert all(s.sensor == "senseair_s8" for s in rig.samples)
        # IR1..IR4 in one request; ABC untouched when the config does not say
        assert set(rig.emu.requests) == {(modbus.READ_INPUT, proto.IR_METER_STATUS, 4)}
        assert rig.emu.abc_period == 180


def test_abc_false_sets_the_period_to_zero_once() -> None:
    with driver_rig("senseair_s8", interval=1, abc=False) as rig:
        rig.driver.setup()
        assert rig.emu.abc_period == 0
        rig.driver.setup()  # port reopened: read, already off, no second EEPROM write
        writes = [r for r in rig.emu.requests if r[0] == modbus.WRITE_SINGLE]
        assert writes == [(modbus.WRITE_SINGLE, proto.HR_ABC_PERIOD, 0)]
    with driver_rig("senseair_s8", interval=1, abc=True) as rig:
        rig.emu.abc_period = 0
        rig.driver.setup()
        assert rig.emu.abc_period == 180  # back to the factory period


def test_a_modbus_exception_is_a_decode_error() -> None:
    with driver_rig("senseair_s8", interval=1) as rig:
        rig.driver.setup()
        rig.emu._read_input = lambda register, count, now: None  # refuses every read
        with pytest.raises(modbus.ModbusExceptionError):  # counted by the SensorRunner
            rig.driver.cycle()
        assert rig.samples == []


def test_silent_sensor_raises() -> None:
    with driver_rig("senseair_s8", interval=1) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match=r"SENSEAIR_S8 on /dev/.* does not answer"):
            rig.driver.cycle()
