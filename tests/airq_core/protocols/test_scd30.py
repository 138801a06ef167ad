from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import modbus, scd30
from airq_core.protocols.commands import scd30 as scd30_cmd

FAMILY = "scd30"
FRAME = bytes.fromhex("61 03 0C 43 DB 8B 85 41 D9 99 9A 42 43 33 33 2A B2")


def test_decode_golden_frames(golden: dict) -> None:
    sample = scd30.decode(golden["frame"])
    assert sample.sensor == "scd30"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])


def test_decode_rounds_floats_to_float32_precision() -> None:
    assert scd30.decode(FRAME).values == {"co2": 439.09, "temperature": 27.2, "humidity": 48.8}


def test_xofc_test_value_decodes_to_439_1_ppm() -> None:
    frame = scd30.encode_measurement(0, 0, 0)
    frame = modbus.with_crc(frame[:3] + bytes.fromhex("43 DB 8C 2E") + frame[7:-2])
    assert scd30.decode(frame).values["co2"] == pytest.approx(439.1, abs=0.01)


def test_parse_data_ready() -> None:
    assert scd30.parse_data_ready(modbus.read_response(0x61, 3, [1])) is True
    assert scd30.parse_data_ready(modbus.read_response(0x61, 3, [0])) is False
    with pytest.raises(FrameFormatError, match="data-ready"):
        scd30.parse_data_ready(FRAME)


NAN = modbus.read_response(0x61, 3, [0x7FC0, 0, 0, 0, 0, 0])

BROKEN = [
    pytest.param(FRAME[:10], IncompleteFrameError, "expected 17", id="short"),
    pytest.param(FRAME + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(
        FRAME[:-1] + b"\xb3", ChecksumError, "SCD30 bad CRC 2A B3, expected 2A B2", id="crc"
    ),
    pytest.param(
        modbus.read_response(0x61, 3, [1]), FrameFormatError, "2 data bytes", id="data-ready"
    ),
    pytest.param(
        modbus.read_response(0x61, 4, [0] * 6), FrameFormatError, "function 0x04", id="input-regs"
    ),
    pytest.param(NAN, FrameFormatError, "co2 is not a finite number", id="nan"),
    pytest.param(
        modbus.exception_response(0x61, 3, 2),
        modbus.ModbusExceptionError,
        "exception 2",
        id="exception",
    ),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        scd30.decode(frame)


def test_split_frame_only_takes_frames_from_address_0x61() -> None:
    other = modbus.read_response(0x62, 3, [0] * 6)
    assert scd30.split_frame(other + FRAME) == (FRAME, len(other) + len(FRAME))


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    frames = [*golden_frames, scd30_cmd.start(), modbus.read_response(0x61, 3, [1])]
    got, stream = replay(scd30, frames, seed, garbage=b"\x61\x03\x0c\x43")
    assert got == [*frames, frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=40))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        scd30.decode(data)


@given(st.binary(max_size=60))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = scd30.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


@given(st.floats(0, 40000, width=32), st.floats(-40, 70, width=32), st.floats(0, 100, width=32))
def test_encode_measurement_round_trips(co2: float, temperature: float, humidity: float) -> None:
    values = scd30.decode(scd30.encode_measurement(co2, temperature, humidity)).values
    assert values == pytest.approx(
        {"co2": co2, "temperature": temperature, "humidity": humidity}, rel=1e-6, abs=1e-30
    )


COMMANDS = [
    (scd30_cmd.start, (), "61 06 00 36 00 00 60 64"),
    (scd30_cmd.data_ready, (), "61 03 00 27 00 01 3D A1"),
    (scd30_cmd.read, (), "61 03 00 28 00 06 4C 60"),
]


@pytest.mark.parametrize(("build", "args", "expected"), COMMANDS)
def test_command_builders_match_the_reference(build, args: tuple, expected: str) -> None:
    frame = build(*args)
    assert frame == bytes.fromhex(expected)
    assert modbus.split_request(frame) == (frame, 8)


@pytest.mark.parametrize(
    ("frame", "register", "value"),
    [
        (scd30_cmd.start(1013), 0x0036, 1013),
        (scd30_cmd.stop(), 0x0037, 1),
        (scd30_cmd.set_interval(5), 0x0025, 5),
        (scd30_cmd.asc(True), 0x003A, 1),
        (scd30_cmd.asc(False), 0x003A, 0),
    ],
)
def test_write_commands_target_the_right_register(frame: bytes, register: int, value: int) -> None:
    assert modbus.parse_request(frame) == (0x61, 6, register, value)


def test_builders_refuse_out_of_range_arguments() -> None:
    with pytest.raises(ValueError, match="700 to 1400"):
        scd30_cmd.start(500)
    with pytest.raises(ValueError, match="2 to 1800"):
        scd30_cmd.set_interval(1)
