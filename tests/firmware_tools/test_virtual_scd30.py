from __future__ import annotations

import pytest

from airq_core.protocols import modbus, scd30
from airq_core.protocols.commands import modbus as modbus_cmd
from airq_core.protocols.commands import scd30 as scd30_cmd
from firmware_tools.virtual import make_emulator
from firmware_tools.virtual.scd30 import VirtualSCD30


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return scd30.split_frame(buffer)


def _ready(ln) -> bool:
    return scd30.parse_data_ready(ln.ask(scd30_cmd.data_ready(), _split))


def test_start_poll_data_ready_and_read_on_a_pty(line) -> None:
    sensor = VirtualSCD30(interval=2)
    ln = line(sensor)
    assert ln.ask(scd30_cmd.start(1013), _split) == scd30_cmd.start(1013)  # write echo
    assert not _ready(ln)
    # 2 s is the shortest interval the SCD30 accepts; a test clock would hide the pty path
    while not _ready(ln):
        ln.quiet(0.1)
    sample = scd30.decode(ln.ask(scd30_cmd.read(), _split))
    assert 400 <= sample.values["co2"] <= 5000
    assert -10 <= sample.values["temperature"] <= 50 and 0 <= sample.values["humidity"] <= 100
    assert sensor.emitted[-1][1] == sample
    assert not _ready(ln)  # reading clears data ready

    assert ln.ask(scd30_cmd.asc(False), _split) == scd30_cmd.asc(False)
    assert ln.ask(scd30_cmd.stop(), _split) == scd30_cmd.stop()
    assert sensor.asc == 0 and not sensor.measuring


def test_bad_values_and_registers_get_modbus_exceptions(line) -> None:
    ln = line(make_emulator("scd30"))
    reply = ln.ask(modbus_cmd.write_single_register(0x61, scd30.REG_INTERVAL, 1), _split)
    with pytest.raises(modbus.ModbusExceptionError, match="illegal data value"):
        scd30.decode(reply)
    reply = ln.ask(modbus_cmd.read_holding_registers(0x61, 0x0100, 1), _split)
    with pytest.raises(modbus.ModbusExceptionError, match="illegal data address"):
        scd30.decode(reply)


def test_measurement_interval_with_an_injected_clock() -> None:
    sensor = VirtualSCD30()
    sensor.on_bytes(scd30_cmd.set_interval(5), 0.0)
    sensor.on_bytes(scd30_cmd.start(), 0.0)
    assert not scd30.parse_data_ready(sensor.on_bytes(scd30_cmd.data_ready(), 4.0))
    assert scd30.parse_data_ready(sensor.on_bytes(scd30_cmd.data_ready(), 5.0))
    scd30.decode(sensor.on_bytes(scd30_cmd.read(), 5.0))
    assert not scd30.parse_data_ready(sensor.on_bytes(scd30_cmd.data_ready(), 6.0))
    assert scd30.parse_data_ready(sensor.on_bytes(scd30_cmd.data_ready(), 10.0))
