from __future__ import annotations

import pytest

from airq_core.protocols import sps30
from airq_core.protocols.commands import sps30 as sps30_cmd
from firmware_tools.virtual import make_emulator
from firmware_tools.virtual.sps30 import VirtualSPS30


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return sps30.split_frame(buffer)


def _state(frame: bytes) -> int:
    return sps30.parse_reply(frame).state


def test_measure_read_sleep_and_wake_on_a_pty(line) -> None:
    sensor = VirtualSPS30(period=0.1)
    ln = line(sensor)
    # idle: reading is refused
    assert _state(ln.ask(sps30_cmd.read(), _split)) == sps30.STATE_NOT_ALLOWED
    assert _state(ln.ask(sps30_cmd.start(), _split)) == 0
    assert _state(ln.ask(sps30_cmd.start(), _split)) == sps30.STATE_NOT_ALLOWED

    samples = []
    while len(samples) < 2:
        try:
            samples.append(sps30.decode(ln.ask(sps30_cmd.read(), _split)))
        except sps30.NoNewDataError:
            ln.quiet(0.05)
    assert all(s.values["pm2_5"] > 0 and s.values["tps"] > 0 for s in samples)
    assert [s.values for s in samples] == [s.values for _, s in sensor.emitted]

    # sleep is only allowed when idle
    assert _state(ln.ask(sps30_cmd.sleep(), _split)) == sps30.STATE_NOT_ALLOWED
    assert _state(ln.ask(sps30_cmd.fan_cleaning(), _split)) == 0
    assert _state(ln.ask(sps30_cmd.stop(), _split)) == 0
    assert _state(ln.ask(sps30_cmd.sleep(), _split)) == 0

    # asleep: the UART is off; a wake-up without the pulse is lost
    ln.send(sps30_cmd.wake())
    assert ln.quiet(0.3) == b""
    assert _state(ln.ask(sps30_cmd.WAKE_PULSE + sps30_cmd.wake(), _split)) == 0
    assert _state(ln.ask(sps30_cmd.start(), _split)) == 0


def test_read_returns_each_measurement_once() -> None:
    sensor = VirtualSPS30(period=1.0)
    sensor.on_bytes(sps30_cmd.start(), 0.0)
    assert sensor.on_bytes(sps30_cmd.read(), 0.5) == bytes.fromhex("7E 00 03 00 00 FC 7E")
    sps30.decode(sensor.on_bytes(sps30_cmd.read(), 1.0))
    with pytest.raises(sps30.NoNewDataError):
        sps30.decode(sensor.on_bytes(sps30_cmd.read(), 1.5))


def test_device_info_and_reset() -> None:
    sensor = make_emulator("sps30", serial="SN0042")
    assert sps30.parse_device_info(sensor.on_bytes(sps30_cmd.device_info(), 0.0)) == "SN0042"
    sensor.on_bytes(sps30_cmd.start(), 0.0)
    assert _state(sensor.on_bytes(sps30_cmd.reset(), 0.1)) == 0
    assert _state(sensor.on_bytes(sps30_cmd.read(), 2.0)) == sps30.STATE_NOT_ALLOWED
