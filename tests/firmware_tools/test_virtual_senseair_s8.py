from __future__ import annotations

import pytest

from airq_core.protocols import modbus, senseair_s8
from airq_core.protocols.commands import modbus as modbus_cmd
from airq_core.protocols.commands import senseair_s8 as senseair_s8_cmd
from firmware_tools.virtual import make_emulator
from firmware_tools.virtual.senseair_s8 import VirtualS8


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return senseair_s8.split_frame(buffer)


def test_co2_status_and_abc_on_a_pty(line) -> None:
    sensor = VirtualS8(co2=800.0)
    ln = line(sensor)
    co2 = senseair_s8.decode(ln.ask(senseair_s8_cmd.read_co2(), _split))
    assert 350 <= co2.values["co2"] <= 2000 and co2.flags == ()

    sensor.meter_status = 0x20
    status = senseair_s8.decode(ln.ask(senseair_s8_cmd.read_status(), _split))
    assert status.flags == ("out_of_range",)
    assert [s for _, s in sensor.emitted] == [co2, status]

    assert senseair_s8.parse_abc_period(ln.ask(senseair_s8_cmd.read_abc_period(), _split)) == 180
    echo = ln.ask(senseair_s8_cmd.disable_abc(), _split)
    assert echo == senseair_s8_cmd.disable_abc()
    assert senseair_s8.parse_abc_period(ln.ask(senseair_s8_cmd.read_abc_period(), _split)) == 0


def test_background_calibration_sets_the_ack_flag(line) -> None:
    ln = line(VirtualS8(co2=900.0))
    ln.ask(senseair_s8_cmd.clear_ack(), _split)
    assert senseair_s8.parse_ack(ln.ask(senseair_s8_cmd.read_ack(), _split)) == 0
    ln.ask(senseair_s8_cmd.background_calibration(), _split)
    ack = senseair_s8.parse_ack(ln.ask(senseair_s8_cmd.read_ack(), _split))
    assert ack & senseair_s8.ACK_BACKGROUND_CALIBRATION
    co2 = senseair_s8.decode(ln.ask(senseair_s8_cmd.read_co2(), _split)).values["co2"]
    assert abs(co2 - 400) < 150


def test_bad_register_gets_a_modbus_exception(line) -> None:
    ln = line(make_emulator("senseair_s8"))
    reply = ln.ask(modbus_cmd.read_input_registers(0xFE, 0x0100, 1), _split)
    with pytest.raises(modbus.ModbusExceptionError, match="illegal data address"):
        senseair_s8.decode(reply)
    reply = ln.ask(modbus_cmd.write_single_register(0xFE, 0x1F, 9999), _split)
    with pytest.raises(modbus.ModbusExceptionError, match="illegal data value"):
        modbus.parse_response(reply)


def test_answers_its_own_address_and_ignores_others() -> None:
    sensor = VirtualS8(address=0x68)
    reply = sensor.on_bytes(senseair_s8_cmd.read_co2(0x68), 0.0)
    assert modbus.parse_response(reply).address == 0x68
    assert sensor.on_bytes(senseair_s8_cmd.read_co2(0x01), 0.0) == b""
