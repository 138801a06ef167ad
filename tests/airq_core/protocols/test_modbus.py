from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import modbus
from airq_core.protocols.commands import modbus as modbus_cmd

READ_400 = bytes.fromhex("FE 04 02 01 90 AC D8")


@pytest.mark.parametrize(
    ("body", "crc"),
    [
        ("FE 04 00 03 00 01", 0xC5D5),
        ("61 03 00 28 00 06", 0x604C),
        ("01 03 00 00 00 0A", 0xCDC5),  # the classic textbook request
    ],
)
def test_crc16_matches_known_frames(body: str, crc: int) -> None:
    assert modbus.crc16(bytes.fromhex(body)) == crc


def test_crc16_check_value() -> None:
    assert modbus.crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS catalogue check value


@pytest.mark.parametrize(
    ("frame", "function", "data"),
    [
        ("FE 04 02 01 90 AC D8", 4, "01 90"),
        ("FE 06 00 1F 00 00 AC 03", 6, "00 1F 00 00"),
    ],
)
def test_parse_response(frame: str, function: int, data: str) -> None:
    r = modbus.parse_response(bytes.fromhex(frame))
    assert (r.address, r.function, r.data) == (0xFE, function, bytes.fromhex(data))


def test_exception_response_raises_with_its_code() -> None:
    frame = modbus.exception_response(0xFE, 0x04, 2)
    assert modbus.split_frame(frame) == (frame, 5)
    with pytest.raises(modbus.ModbusExceptionError, match="exception 2 \\(illegal data address\\)"):
        modbus.parse_response(frame)


BROKEN = [
    pytest.param(READ_400[:4], IncompleteFrameError, "too short: 4 bytes", id="tiny"),
    pytest.param(
        bytes.fromhex("FE 04 04 01 90 AC D8"), IncompleteFrameError, "expected 9", id="short"
    ),
    pytest.param(READ_400 + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(
        bytes.fromhex("FE 04 03 01 90 AC D8 00"), FrameFormatError, "byte count 3", id="odd"
    ),
    pytest.param(
        bytes.fromhex("FE 10 02 01 90 AC D8"), FrameFormatError, "function code 0x10", id="fc"
    ),
    pytest.param(
        bytes.fromhex("FE 04 02 01 90 AC D9"),
        ChecksumError,
        "bad CRC AC D9, expected AC D8",
        id="crc",
    ),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_parse_response_rejects_broken_frames(frame: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        modbus.parse_response(frame)


def test_split_frame_does_not_wait_on_a_garbage_candidate_when_a_frame_follows() -> None:
    # 0x03 0xF0 announces a 245-byte response that will never come
    buffer = b"\x11\x03\xf0" + READ_400
    assert modbus.split_frame(buffer) == (READ_400, len(buffer))


def test_split_frame_keeps_a_candidate_that_may_complete() -> None:
    assert modbus.split_frame(b"\x00" + READ_400[:5]) == (None, 1)
    # 01 06 … could be the start of an 8-byte write echo from address 1
    assert modbus.split_frame(b"\x01\x06" + READ_400[:5]) == (None, 0)
    assert modbus.split_frame(b"\x01\x06" + READ_400[:5], address=0xFE) == (None, 2)


@given(st.binary(max_size=80), st.sampled_from([None, 0xFE, 0x61]))
def test_split_frame_never_raises(data: bytes, address: int | None) -> None:
    frame, consumed = modbus.split_frame(data, address)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


@given(st.binary(max_size=40))
def test_parse_response_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        modbus.parse_response(data)


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(1, 125))
def test_requests_round_trip(address: int, register: int, count: int) -> None:
    for build, function in (
        (modbus_cmd.read_holding_registers, 3),
        (modbus_cmd.read_input_registers, 4),
    ):
        frame = build(address, register, count)
        assert modbus.split_request(frame) == (frame, 8)
        assert modbus.parse_request(frame) == (address, function, register, count)


def test_request_builders_refuse_out_of_range_arguments() -> None:
    with pytest.raises(ValueError, match="1 to 125"):
        modbus_cmd.read_input_registers(0xFE, 0, 126)
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        modbus_cmd.write_single_register(0xFE, 0, 70000)
