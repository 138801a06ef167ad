from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import zphs01b
from airq_core.protocols.commands import zphs01b as zphs01b_cmd
from airq_core.quantities import QUANTITIES

FAMILY = "zphs01b"
FRAME = bytes.fromhex(
    "FF 86 00 08 00 0C 00 0F 02 8A 01 02 DF 00 2D 00 0C 00 03 00 02 00 03 00 00 A8"
)


def test_decode_golden_frames(golden: dict) -> None:
    sample = zphs01b.decode(golden["frame"])
    assert sample.sensor == "zphs01b"
    assert sample.values == pytest.approx(golden["values"])
    assert sample.flags == tuple(golden["flags"])


def test_every_value_is_a_known_quantity_in_range() -> None:
    sample = zphs01b.decode(FRAME)
    assert set(sample.values) == set(zphs01b.QUANTITIES)
    for name, value in sample.values.items():
        lo, hi = QUANTITIES[name].plausible
        assert lo <= value <= hi, name


def test_no2_is_converted_from_ppm_at_20_degrees() -> None:
    # 0.03 ppm = 30 ppb; 1 ppb NO2 = 1.912 µg/m³ at 293 K, 101.3 kPa
    assert zphs01b.decode(FRAME).values["no2"] == pytest.approx(30 * 1.912)


def _replace(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index] = value
    return bytes(b)


BROKEN = [
    pytest.param(FRAME[:9], IncompleteFrameError, "too short: 9 bytes", id="mhz19-sized"),
    pytest.param(FRAME + b"\x00", FrameFormatError, "too long", id="long"),
    pytest.param(_replace(FRAME, 1, 0x87), FrameFormatError, "header 0xFF87", id="header"),
    pytest.param(
        _replace(FRAME, 25, 0xA9), ChecksumError, "bad checksum 0xA9, expected 0xA8", id="chk"
    ),
    pytest.param(_replace(FRAME, 22, 0x04), ChecksumError, "checksum", id="corrupted"),
]


@pytest.mark.parametrize(("frame", "error", "message"), BROKEN)
def test_decode_rejects_broken_frames(frame: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        zphs01b.decode(frame)


@pytest.mark.parametrize("seed", range(8))
def test_stream_recovers_every_frame_in_order(seed: int, golden_frames: list, replay) -> None:
    got, stream = replay(zphs01b, golden_frames, seed, garbage=b"\xff\x86\x00")
    assert got == [*golden_frames, golden_frames[0]]
    assert stream.pending == 0


@given(st.binary(max_size=60))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        zphs01b.decode(data)


@given(st.binary(max_size=90))
def test_split_frame_never_raises(data: bytes) -> None:
    frame, consumed = zphs01b.split_frame(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert data[consumed - len(frame) : consumed] == frame


def test_encode_reply_builds_the_reference_frame() -> None:
    assert zphs01b.encode_reply((8, 12, 15), 650, 1, 23.5, 45, 12, 3, 2, 3) == FRAME


def test_command_builder_matches_the_reference() -> None:
    assert zphs01b_cmd.read() == bytes.fromhex("FF 01 86 00 00 00 00 00 79")
