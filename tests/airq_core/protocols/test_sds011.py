from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import sds011
from airq_core.protocols.commands import sds011 as sds011_cmd

FAMILY = "sds011"
FRAME = bytes.fromhex("AA C0 06 00 06 00 58 D9 3D AB")


def test_decode_golden_frames(golden: dict) -> None:
    sample = sds011.decode(golden["frame"])
    assert sample.sensor == "sds011"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])


def test_decode_keeps_the_device_id() -> None:
    assert sds011.decode(FRAME).meta["device_id"] == "58d9"


def _with(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index] = value
    return bytes(b)


BROKEN = [
    pytest.param(b"", IncompleteFrameError, "too short", id="empty"),
    pytest.param(FRAME[:7], IncompleteFrameError, "7 bytes, expected 10", id="short"),
    pytest.param(FRAME + b"\xab", FrameFormatError, "too long", id="long"),
    pytest.param(_with(FRAME, 0, 0xAB), FrameFormatError, "bad header 0xAB", id="wrong-header"),
    pytest.param(_with(FRAME, 9, 0xAA), FrameFormatError, "bad tail 0xAA", id="wrong-tail"),
    pytest.param(_with(FRAME, 1, 0xC1), FrameFormatError, "command byte 0xC1", id="wrong-cmd"),
    pytest.param(
        _with(FRAME, 8, 0x3E), ChecksumError, "bad checksum 0x3E, expected 0x3D", id="bad-checksum"
    ),
    pytest.param(_with(FRAME, 2, 0x07), ChecksumError, "checksum", id="corrupted-value"),
    pytest.param(
        bytes.fromhex("AA C5 02 01 01 00 A1 60 05 AB"),
        FrameFormatError,
        "command reply",
        id="reply-frame",
    ),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        sds011.decode(frame)


def test_parse_reply_reads_the_reference_example() -> None:
    reply = sds011.parse_reply(bytes.fromhex("AA C5 02 01 01 00 A1 60 05 AB"))
    assert reply == sds011.Reply(0x02, b"\x01\x01\x00", b"\xa1\x60")


COMMANDS = [
    (sds011_cmd.set_query_mode(), "AA B4 02 01 01 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB"),
    (sds011_cmd.set_active_mode(), "AA B4 02 01 00 00 00 00 00 00 00 00 00 00 00 FF FF 01 AB"),
    (sds011_cmd.query(), "AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB"),
    (sds011_cmd.sleep(), "AA B4 06 01 00 00 00 00 00 00 00 00 00 00 00 FF FF 05 AB"),
    (sds011_cmd.work(), "AA B4 06 01 01 00 00 00 00 00 00 00 00 00 00 FF FF 06 AB"),
    (sds011_cmd.working_period(5), "AA B4 08 01 05 00 00 00 00 00 00 00 00 00 00 FF FF 0C AB"),
    (sds011_cmd.firmware(), "AA B4 07 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 05 AB"),
]


@pytest.mark.parametrize(("built", "expected"), COMMANDS, ids=lambda x: "")
def test_command_builders_match_the_reference(built: bytes, expected: str) -> None:
    assert built == bytes.fromhex(expected)
    cmd, _d1, _d2, dev = sds011.parse_command(built)
    assert (cmd, dev) == (built[2], 0xFFFF)


def test_working_period_refuses_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0 .* to 30"):
        sds011_cmd.working_period(31)


def test_stream_recovers_every_frame_in_order(replay, golden_frames: list[bytes]) -> None:
    for seed in range(20):
        got, fs = replay(sds011, golden_frames, seed, garbage=b"\xaa\xaa\xc0\xab")
        assert got == [*golden_frames, golden_frames[0]], seed
        assert fs.skipped_bytes > 0


def test_split_frame_resyncs_on_a_false_header_inside_garbage() -> None:
    data = b"\xaa\xc0\x01\x02" + FRAME
    assert sds011.split_frame(data) == (FRAME, len(data))


def test_encode_data_round_trips() -> None:
    assert sds011.decode(sds011.encode_data(12.3, 25.6)).values == {"pm2_5": 12.3, "pm10": 25.6}


@given(st.binary(max_size=40))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        sds011.decode(data)
    frame, consumed = sds011.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert len(frame) == 10
