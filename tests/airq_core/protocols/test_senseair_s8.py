from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import modbus, senseair_s8
from airq_core.protocols.commands import senseair_s8 as senseair_s8_cmd

FAMILY = "senseair_s8"
READ_400 = bytes.fromhex("FE 04 02 01 90 AC D8")


def test_decode_golden_frames(golden: dict) -> None:
    sample = senseair_s8.decode(golden["frame"])
    assert sample.sensor == "senseair_s8"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])


def test_meter_status_bits_become_flags() -> None:
    frame = modbus.read_response(0xFE, 4, [0x7F, 0, 0, 500])
    assert senseair_s8.decode(frame).flags == (
        "fatal_error",
        "offset_regulation_error",
        "algorithm_error",
        "output_error",
        "self_diagnostics_error",
        "out_of_range",
        "memory_error",
    )


BROKEN = [
    pytest.param(READ_400[:6], IncompleteFrameError, "expected 7", id="short"),
    pytest.param(READ_400 + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(bytes.fromhex("FE 04 02 01 91 AC D8"), ChecksumError, "S8 bad CRC", id="crc"),
    pytest.param(
        modbus.read_response(0xFE, 4, [1, 2]), FrameFormatError, "2 registers", id="two-regs"
    ),
    pytest.param(
        bytes.fromhex("FE 03 02 00 B4 AC 27"), FrameFormatError, "function 0x03", id="holding"
    ),
    pytest.param(
        modbus.exception_response(0xFE, 4, 2),
        modbus.ModbusExceptionError,
        "illegal data",
        id="exception",
    ),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        senseair_s8.decode(frame)


def test_parse_abc_period_reads_a_holding_register_reply_or_a_write_echo() -> None:
    assert senseair_s8.parse_abc_period(modbus.read_response(0xFE, 3, [180])) == 180
    assert senseair_s8.parse_abc_period(senseair_s8_cmd.disable_abc()) == 0


def test_parse_ack_reads_the_calibration_flags() -> None:
    flags = senseair_s8.parse_ack(modbus.read_response(0xFE, 3, [0x20]))
    assert flags & senseair_s8.ACK_BACKGROUND_CALIBRATION


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    frames = [*golden_frames, senseair_s8_cmd.disable_abc(), modbus.exception_response(0xFE, 4, 2)]
    got, stream = replay(senseair_s8, frames, seed, garbage=b"\xfe\x04\x02")
    assert got == [*frames, frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=40))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        senseair_s8.decode(data)


@given(st.binary(max_size=60))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = senseair_s8.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


COMMANDS = [
    (senseair_s8_cmd.read_co2, (), "FE 04 00 03 00 01 D5 C5"),
    (senseair_s8_cmd.read_status, (), "FE 04 00 00 00 04 E5 C6"),
    (senseair_s8_cmd.read_abc_period, (), "FE 03 00 1F 00 01 A1 C3"),
    (senseair_s8_cmd.disable_abc, (), "FE 06 00 1F 00 00 AC 03"),
    (senseair_s8_cmd.set_abc_period, (0,), "FE 06 00 1F 00 00 AC 03"),
]


@pytest.mark.parametrize(("build", "args", "expected"), COMMANDS)
def test_command_builders_match_the_reference(build, args: tuple, expected: str) -> None:
    frame = build(*args)
    assert frame == bytes.fromhex(expected)
    assert modbus.split_request(frame) == (frame, 8)


@pytest.mark.parametrize(
    ("build", "register", "value"),
    [
        (senseair_s8_cmd.background_calibration, 0x0001, 0x7C06),
        (senseair_s8_cmd.zero_calibration, 0x0001, 0x7C07),
        (senseair_s8_cmd.clear_ack, 0x0000, 0x0000),
    ],
)
def test_calibration_commands_write_the_right_register(build, register: int, value: int) -> None:
    assert modbus.parse_request(build()) == (0xFE, 6, register, value)


def test_set_abc_period_refuses_out_of_range_hours() -> None:
    assert modbus.parse_request(senseair_s8_cmd.set_abc_period(180))[3] == 180
    with pytest.raises(ValueError, match="4800"):
        senseair_s8_cmd.set_abc_period(5000)
