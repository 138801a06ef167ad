from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import sps30
from airq_core.protocols.commands import sps30 as sps30_cmd
from airq_core.quantities import QUANTITIES

FAMILY = "sps30"
CAPTURE = bytes.fromhex(
    "7E 00 03 00 28 40 A7 83 20 41 17 77 BB 41 4A 5F 83 41 54 8D DD 41 D2 83 3E 42 7D 33 FC 85"
    " 42 26 17 22 42 29 A4 D9 42 2A 29 BC 3F 55 B7 E7 9E 7E"
)


def test_decode_golden_frames(golden: dict) -> None:
    sample = sps30.decode(golden["frame"])
    assert sample.sensor == "sps30"
    assert sample.values == pytest.approx(golden["values"], abs=5e-4)
    assert sample.flags == tuple(golden["flags"])


def test_every_value_is_a_known_quantity() -> None:
    assert all(name in QUANTITIES for name in sps30.QUANTITIES)


def test_decode_rounds_floats_to_float32_precision() -> None:
    assert sps30.decode(CAPTURE).values["tps"] == 0.8348374


@pytest.mark.parametrize(
    ("raw", "stuffed"),
    [
        ("7E", "7D 5E"),
        ("7D", "7D 5D"),
        ("11", "7D 31"),
        ("13", "7D 33"),
        ("00 11 00 7E 7F", "00 7D 31 00 7D 5E 7F"),
    ],
)
def test_stuff_and_unstuff_are_inverse(raw: str, stuffed: str) -> None:
    assert sps30.stuff(bytes.fromhex(raw)) == bytes.fromhex(stuffed)
    assert sps30.unstuff(bytes.fromhex(stuffed)) == bytes.fromhex(raw)


@given(st.binary(max_size=64))
def test_stuffing_round_trips_and_hides_markers(data: bytes) -> None:
    stuffed = sps30.stuff(data)
    assert sps30.unstuff(stuffed) == data
    assert b"\x7e" not in stuffed and b"\x11" not in stuffed and b"\x13" not in stuffed


def test_empty_read_reply_means_no_new_data() -> None:
    with pytest.raises(sps30.NoNewDataError, match="no new measurement"):
        sps30.decode(bytes.fromhex("7E 00 03 00 00 FC 7E"))


def test_error_state_raises_with_its_code() -> None:
    with pytest.raises(sps30.DeviceStateError, match=r"0x43 \(command not allowed") as exc:
        sps30.decode(bytes.fromhex("7E 00 03 43 00 B9 7E"))
    assert exc.value.state == 0x43
    assert isinstance(exc.value, DecodeError)


def test_device_error_bit_keeps_the_data_with_a_flag() -> None:
    values = {name: 1.0 for name in sps30.FIELDS}
    data = sps30.parse_reply(sps30.encode_measurement(values)).data
    frame = sps30.encode_reply(sps30.CMD_READ, data, state=0x80)
    sample = sps30.decode(frame)
    assert sample.flags == ("device_error",)
    assert sample.values["pm2_5"] == 1.0


def _replace(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index] = value
    return bytes(b)


NAN_FRAME = sps30.encode_reply(sps30.CMD_READ, b"\x7f\xc0\x00\x00" + bytes(36))

BROKEN = [
    pytest.param(b"\x7e\x7e", IncompleteFrameError, "too short", id="empty"),
    pytest.param(CAPTURE[:30] + b"\x7e", IncompleteFrameError, "LEN announces 40", id="short"),
    pytest.param(CAPTURE[1:], FrameFormatError, "start and end with 0x7E", id="no-start"),
    pytest.param(CAPTURE[:-1], FrameFormatError, "start and end with 0x7E", id="no-stop"),
    pytest.param(
        _replace(CAPTURE, 4, 0x20), FrameFormatError, "too long: LEN announces 32", id="bad-length"
    ),
    pytest.param(
        _replace(CAPTURE, -2, 0x9F), ChecksumError, "bad checksum 0x9F, expected 0x9E", id="bad-chk"
    ),
    pytest.param(_replace(CAPTURE, 27, 0x34), FrameFormatError, "bad escape", id="bad-escape"),
    pytest.param(
        bytes.fromhex("7E 00 00 00 00 FF 7E"), FrameFormatError, "start measurement", id="start"
    ),
    pytest.param(
        sps30.encode_reply(sps30.CMD_READ, bytes(12)), FrameFormatError, "12 data bytes", id="len12"
    ),
    pytest.param(NAN_FRAME, FrameFormatError, "pm1 is not a finite number", id="nan"),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        sps30.decode(frame)


def test_split_frame_tries_a_bad_candidate_closing_marker_as_an_opening_one() -> None:
    ok = bytes.fromhex("7E 00 00 00 00 FF 7E")
    assert sps30.split_frame(b"\x7e\x01\x02" + ok) == (ok, 10)
    assert sps30.split_frame(b"\x7e\x7e" + ok[:-1]) == (None, 2)


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    frames = [*golden_frames, bytes.fromhex("7E 00 00 43 00 BC 7E")]
    got, stream = replay(sps30, frames, seed, garbage=b"\x7e\x00\x03")
    assert got == [*frames, frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=80))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        sps30.decode(data)


@given(st.binary(max_size=80).map(lambda b: b"\x7e" + b + b"\x7e"))
def test_decode_random_framed_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        sps30.decode(data)


@given(st.binary(max_size=120))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = sps30.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame
        sps30.parse_reply(frame)


COMMANDS = [
    (sps30_cmd.start, "7E 00 00 02 01 03 F9 7E"),
    (sps30_cmd.stop, "7E 00 01 00 FE 7E"),
    (sps30_cmd.read, "7E 00 03 00 FC 7E"),
    (sps30_cmd.sleep, "7E 00 10 00 EF 7E"),
    (sps30_cmd.wake, "7E 00 7D 31 00 EE 7E"),
    (sps30_cmd.fan_cleaning, "7E 00 56 00 A9 7E"),
    (sps30_cmd.device_info, "7E 00 D0 01 03 2B 7E"),
    (sps30_cmd.reset, "7E 00 D3 00 2C 7E"),
]


@pytest.mark.parametrize(("build", "expected"), COMMANDS, ids=lambda x: getattr(x, "__name__", ""))
def test_command_builders_match_the_reference(build, expected: str) -> None:
    frame = build()
    assert frame == bytes.fromhex(expected)
    assert sps30.split_command(b"\x00" + frame) == (frame, len(frame) + 1)
    address, cmd, _ = sps30.parse_command(frame)
    assert address == 0 and cmd == sps30.unstuff(frame[1:-1])[1]


def test_uint16_start_command() -> None:
    assert sps30_cmd.start(uint16=True) == bytes.fromhex("7E 00 00 02 01 05 F7 7E")


def test_parse_device_info_reads_the_serial_number() -> None:
    frame = sps30.encode_reply(sps30.CMD_DEVICE_INFO, b"ABCDEF0123\x00")
    assert sps30.parse_device_info(frame) == "ABCDEF0123"
