from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import rd200m
from airq_core.protocols.commands import rd200m as rd200m_cmd

FAMILY = "rd200m"
FRAME = bytes.fromhex("02 10 04 01 1E 01 15 B6")


def test_decode_golden_frames(golden: dict) -> None:
    sample = rd200m.decode(golden["frame"])
    assert sample.sensor == "rd200m"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])
    for key, value in golden.get("meta", {}).items():
        assert sample.meta[key] == value


def test_radon_is_pci_per_litre_times_37() -> None:
    sample = rd200m.decode(FRAME)
    assert sample.meta["pci_l"] == 1.21
    assert sample.values["radon"] == pytest.approx(1.21 * 37)


def test_unknown_status_keeps_the_value_with_a_flag() -> None:
    sample = rd200m.decode(rd200m.encode_data(0x05, 10, 1.0))
    assert sample.flags == ("unknown_status",)
    assert sample.values["radon"] == 37.0


def _replace(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index] = value
    return bytes(b)


def _resum(frame: bytes) -> bytes:
    return frame[:-1] + bytes([rd200m.checksum(frame[1:-1])])


BROKEN = [
    pytest.param(FRAME[:5], IncompleteFrameError, "too short: 5 bytes", id="short"),
    pytest.param(FRAME + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(_replace(FRAME, 0, 0x03), FrameFormatError, "start byte 0x03", id="header"),
    pytest.param(_resum(_replace(FRAME, 2, 0x05)), FrameFormatError, "command/length", id="length"),
    pytest.param(_replace(FRAME, 7, 0xB7), ChecksumError, "0xB7, expected 0xB6", id="chk"),
    pytest.param(
        _resum(_replace(FRAME, 6, 100)), FrameFormatError, "hundredths byte 100", id="cents"
    ),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        rd200m.decode(frame)


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    got, stream = replay(rd200m, golden_frames, seed, garbage=b"\x02\x10\x04\x02")
    assert got == [*golden_frames, golden_frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=20))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        rd200m.decode(data)


@given(st.binary(max_size=40))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = rd200m.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


COMMANDS = [
    (rd200m_cmd.read, (), "02 01 00 FE"),
    (rd200m_cmd.reset, (), "02 A0 00 5F"),
    (rd200m_cmd.set_period, (10,), "02 A1 01 0A 53"),
]


@pytest.mark.parametrize(("build", "args", "expected"), COMMANDS)
def test_command_builders_match_the_reference(build, args: tuple, expected: str) -> None:
    frame = build(*args)
    assert frame == bytes.fromhex(expected)
    assert rd200m.split_command(b"\x07" + frame) == (frame, len(frame) + 1)
    assert rd200m.parse_command(frame) == (frame[1], frame[3:-1])


def test_set_period_computes_the_checksum_for_every_period() -> None:
    # one Arduino library hard-codes 0x53 whatever the period: a bug
    assert rd200m_cmd.set_period(30) == bytes.fromhex("02 A1 01 1E 3F")
    with pytest.raises(ValueError, match="1 to 255"):
        rd200m_cmd.set_period(0)
