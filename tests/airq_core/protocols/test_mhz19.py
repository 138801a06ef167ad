from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import mhz19
from airq_core.protocols.commands import mhz19 as mhz19_cmd

FAMILY = "mhz19"
CAPTURE = bytes.fromhex("FF 86 02 7C 42 00 00 00 BA")


def test_decode_golden_frames(golden: dict) -> None:
    sample = mhz19.decode(golden["frame"])
    assert sample.sensor == "mhz19b"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])
    for key, value in golden.get("meta", {}).items():
        assert sample.meta[key] == value


def test_internal_temperature_is_meta_not_a_value() -> None:
    sample = mhz19.decode(CAPTURE)
    assert "temperature" not in sample.values
    assert sample.meta["internal_temperature"] == 26


def _replace(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index] = value
    return bytes(b)


BROKEN = [
    pytest.param(CAPTURE[:8], IncompleteFrameError, "too short: 8 bytes", id="short"),
    pytest.param(CAPTURE + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(_replace(CAPTURE, 0, 0xFE), FrameFormatError, "start byte 0xFE", id="header"),
    pytest.param(
        _replace(CAPTURE, 8, 0xBB), ChecksumError, "bad checksum 0xBB, expected 0xBA", id="chk"
    ),
    pytest.param(_replace(CAPTURE, 3, 0x7D), ChecksumError, "checksum", id="corrupted"),
    pytest.param(mhz19.encode_reply(0x79), FrameFormatError, "command 0x79", id="abc-reply"),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        mhz19.decode(frame)


def test_split_frame_ignores_host_commands_echoed_on_the_line() -> None:
    assert mhz19.split_frame(mhz19_cmd.read() + CAPTURE) == (CAPTURE, 18)


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    got, stream = replay(mhz19, golden_frames, seed, garbage=b"\xff\x86\x02")
    assert got == [*golden_frames, golden_frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=40))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        mhz19.decode(data)


@given(st.binary(max_size=60))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = mhz19.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


@given(st.integers(0, 0xFFFF), st.integers(-40, 215))
def test_encode_read_reply_round_trips(co2: int, temperature: int) -> None:
    sample = mhz19.decode(mhz19.encode_read_reply(co2, temperature))
    assert sample.values == {"co2": co2}
    assert sample.meta["internal_temperature"] == temperature


COMMANDS = [
    (mhz19_cmd.read, (), "FF 01 86 00 00 00 00 00 79"),
    (mhz19_cmd.abc_on, (), "FF 01 79 A0 00 00 00 00 E6"),
    (mhz19_cmd.abc_off, (), "FF 01 79 00 00 00 00 00 86"),
    (mhz19_cmd.zero_calibration, (), "FF 01 87 00 00 00 00 00 78"),
    (mhz19_cmd.detection_range, (2000,), "FF 01 99 00 00 00 07 D0 8F"),
    (mhz19_cmd.detection_range, (5000,), "FF 01 99 00 00 00 13 88 CB"),
    (mhz19_cmd.detection_range, (10000,), "FF 01 99 00 00 00 27 10 2F"),
]


@pytest.mark.parametrize(("build", "args", "expected"), COMMANDS)
def test_command_builders_match_the_reference(build, args: tuple, expected: str) -> None:
    frame = build(*args)
    assert frame == bytes.fromhex(expected)
    assert mhz19.split_command(b"\x00\xff" + frame) == (frame, 11)
    assert mhz19.parse_command(frame) == (frame[2], frame[3:8])


def test_detection_range_refuses_an_unknown_range() -> None:
    with pytest.raises(ValueError, match="2000, 5000, 10000"):
        mhz19_cmd.detection_range(3000)
