from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import plantower
from airq_core.protocols.commands import plantower as plantower_cmd
from airq_core.quantities import QUANTITIES

FAMILY = "plantower"
CAPTURE = bytes.fromhex(
    "42 4D 00 1C 00 00 00 08 00 08 00 00 00 08 00 08"
    " 00 D2 00 46 00 2D 00 1E 00 00 00 00 97 00 02 C5"
)


def test_decode_golden_frames(golden: dict) -> None:
    sample = plantower.decode(golden["frame"])
    assert sample.sensor == "pms5003"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])
    assert set(sample.values) == set(plantower.QUANTITIES)


def test_every_value_is_a_known_quantity() -> None:
    assert all(name in QUANTITIES for name in plantower.QUANTITIES)


def test_decode_names_the_model_it_is_told() -> None:
    assert plantower.decode(CAPTURE, sensor="pms7003").sensor == "pms7003"


def test_decode_keeps_a_real_zero_as_a_value() -> None:
    sample = plantower.decode(CAPTURE)
    assert sample.values["pm1"] == 0.0
    assert "warmup" not in sample.flags


def test_decode_keeps_the_reserved_word_in_meta() -> None:
    assert plantower.decode(CAPTURE).meta["reserved"] == "9700"


def _with(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index] = value
    return bytes(b)


BROKEN = [
    pytest.param(b"", IncompleteFrameError, "too short", id="empty"),
    pytest.param(CAPTURE[:20], IncompleteFrameError, "expected 32", id="short"),
    pytest.param(_with(CAPTURE, 0, 0x43), FrameFormatError, "header", id="wrong-header"),
    pytest.param(_with(CAPTURE, 3, 0x14), FrameFormatError, "length field 20", id="pms3003-length"),
    pytest.param(CAPTURE + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(
        _with(CAPTURE, 31, 0xC6),
        ChecksumError,
        "PMS5003 bad checksum 0x02C6, expected 0x02C5",
        id="bad-checksum",
    ),
    pytest.param(_with(CAPTURE, 10, 0x01), ChecksumError, "checksum", id="corrupted-value"),
    pytest.param(plantower.encode_ack(0xE1), FrameFormatError, "ack", id="ack-frame"),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        plantower.decode(frame)


def test_split_frame_returns_acks_and_parse_ack_reads_them() -> None:
    ack = bytes.fromhex("42 4D 00 04 E1 00 01 74")
    frame, consumed = plantower.split_frame(b"\x00\x42" + ack + CAPTURE[:5])
    assert (frame, consumed) == (ack, 10)
    assert plantower.parse_ack(ack) == plantower.Ack(0xE1, 0x00)
    with pytest.raises(FrameFormatError, match="measurement"):
        plantower.parse_ack(CAPTURE)


def test_split_frame_waits_for_the_rest_of_a_frame() -> None:
    assert plantower.split_frame(b"\x11\x22" + CAPTURE[:31]) == (None, 2)
    assert plantower.split_frame(b"\x11\x42") == (None, 1)
    assert plantower.split_frame(b"\x11\x42\x11") == (None, 3)


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    ack = plantower.encode_ack(0xE4)
    frames = [*golden_frames, ack]
    got, stream = replay(plantower, frames, seed, garbage=b"\x42\x4d\x00\x1c\x42")
    assert got == [*frames, frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=80))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        plantower.decode(data)


@given(st.binary(max_size=120))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = plantower.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


@given(
    st.tuples(*[st.integers(0, 0xFFFF)] * 6),
    st.tuples(*[st.integers(0, 0xFFFF)] * 6),
)
def test_encode_data_round_trips(pm: tuple, counts: tuple) -> None:
    frame = plantower.encode_data(pm[:3], pm[3:], counts)
    assert plantower.split_frame(frame) == (frame, 32)
    values = plantower.decode(frame).values
    assert [values[f] for f in plantower.PM_FIELDS] == list(pm)
    assert [values[f] for f in plantower.COUNT_FIELDS] == pytest.approx([c / 100 for c in counts])


COMMANDS = [
    (plantower_cmd.passive, "42 4D E1 00 00 01 70"),
    (plantower_cmd.active, "42 4D E1 00 01 01 71"),
    (plantower_cmd.read, "42 4D E2 00 00 01 71"),
    (plantower_cmd.sleep, "42 4D E4 00 00 01 73"),
    (plantower_cmd.wake, "42 4D E4 00 01 01 74"),
]


@pytest.mark.parametrize(("build", "expected"), COMMANDS, ids=lambda x: getattr(x, "__name__", ""))
def test_command_builders_match_the_reference(build, expected: str) -> None:
    frame = build()
    assert frame == bytes.fromhex(expected)
    assert plantower.split_command(b"\x00" + frame) == (frame, 8)
    assert plantower.parse_command(frame) == (frame[2], frame[4])
