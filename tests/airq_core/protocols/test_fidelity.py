"""Sensor fidelity: warm-up frames of every serial sensor are flagged, never plain zeros;
PMS5003T and PMS5003ST frames are read with their own layouts; an unknown Plantower variant
is refused with a message naming its length. Frames are built by hand from the datasheets'
layouts; checksums are recomputed here, independently of the encoders."""

from __future__ import annotations

import struct

import pytest

from airq_core.errors import FrameFormatError
from airq_core.protocols import (
    FrameStream,
    framing,
    mhz19,
    modbus,
    plantower,
    scd30,
    sds011,
    senseair_s8,
    sps30,
    zphs01b,
)
from tests.airq_core.protocols.conftest import load_golden


def _pms(length: int, words: list[int]) -> bytes:
    """A Plantower frame from its words, checksum = 16-bit sum of every byte before it."""
    body = b"BM" + length.to_bytes(2, "big") + b"".join(w.to_bytes(2, "big") for w in words)
    return body + (sum(body) & 0xFFFF).to_bytes(2, "big")


@pytest.mark.parametrize(
    ("family", "model"), [("plantower_t", "pms5003t"), ("plantower_st", "pms5003st")]
)
def test_plantower_variants_decode_their_golden_frames(family: str, model: str) -> None:
    for case in load_golden(family):
        frame, consumed = plantower.split_frame(b"\x00\x42" + case["frame"])
        assert frame == case["frame"] and consumed == len(case["frame"]) + 2
        sample = plantower.decode(frame, model)
        assert sample.sensor == model
        assert sample.values == pytest.approx(case["values"])
        assert sample.flags == tuple(case["flags"])


def test_pms5003t_frame_is_built_as_the_maker_documents() -> None:
    # 6 PM words, 4 size bins, temperature ×10 (signed), humidity ×10, reserved
    words = [5, 12, 18, 5, 12, 18, 1035, 310, 95, 12, 217, 483, 0]
    frame = _pms(28, words)
    assert frame == bytes.fromhex(load_golden("plantower_t")[0]["hex"])
    sample = plantower.decode(frame, "pms5003t")
    assert sample.values["temperature"] == 21.7 and sample.values["humidity"] == 48.3
    assert "n5" not in sample.values and "n10" not in sample.values
    # read as a PMS5003 the same bytes would give counts where the maker put T and RH
    assert plantower.decode(frame, "pms5003").values["n5"] == 2.17


def test_pms5003st_frame_carries_formaldehyde_temperature_humidity() -> None:
    words = [5, 12, 18, 5, 12, 18, 1035, 310, 95, 12, 4, 1, 12, 224, 551, 0, 0x0102]
    frame = _pms(36, words)
    assert len(frame) == 40
    sample = plantower.decode(frame, "pms5003st")
    assert sample.values["ch2o"] == 12.0  # 0.012 mg/m³
    assert (sample.values["temperature"], sample.values["humidity"]) == (22.4, 55.1)
    assert sample.meta["version"] == 1 and sample.meta["error_code"] == 2


def test_a_pms5003st_frame_on_a_pms5003_is_refused_naming_what_was_seen() -> None:
    frame = bytes.fromhex(load_golden("plantower_st")[0]["hex"])
    with pytest.raises(FrameFormatError, match=r"40-byte frame \(length field 36\).*PMS5003ST"):
        plantower.decode(frame, "pms5003")
    with pytest.raises(FrameFormatError, match="PMS5003ST sends 40-byte frames"):
        plantower.decode(bytes.fromhex(load_golden("plantower")[0]["hex"]), "pms5003st")


def test_an_unknown_plantower_variant_is_split_then_refused_with_its_length() -> None:
    frame = _pms(24, list(range(1, 12)))  # 28 bytes: no model we know sends that
    stream = FrameStream(plantower)
    assert stream.feed(b"\x13" + frame) == [frame] and stream.skipped_bytes == 1
    with pytest.raises(FrameFormatError, match=r"length field 24 \(28-byte frames: an unknown"):
        plantower.decode(frame, "pms5003")


@pytest.mark.parametrize("model", ["pms5003", "pms5003t", "pms5003st"])
def test_plantower_warmup_is_flagged_for_every_variant(model: str) -> None:
    length = 36 if model == "pms5003st" else 28
    words = [0] * (len(plantower.LAYOUTS[model].extra) + 6 + plantower.LAYOUTS[model].counts)
    if model != "pms5003":
        words[-3 if model == "pms5003t" else -4] = 201  # temperature already read
    sample = plantower.decode(_pms(length, words), model)
    assert sample.flags == ("warmup",)


WARMUP_FRAMES = [
    # SDS011: PM2.5 = PM10 = 0.0, checksum (sum of bytes 2..7) 0x58 + 0xD9 = 0x131 -> 31
    pytest.param(sds011.decode, "AA C0 00 00 00 00 58 D9 31 AB", id="sds011"),
    # MH-Z19B: 0 ppm, T byte 0x42; checksum 0x100 - (0x86 + 0x42) = 0x38
    pytest.param(mhz19.decode, "FF 86 00 00 42 00 00 00 38", id="mhz19b"),
    # SPS30: a float read reply whose ten values are 0.0; CHK = ~(0x03 + 0x28) = 0xD4
    pytest.param(sps30.decode, "7E 00 03 00 28" + " 00" * 40 + " D4 7E", id="sps30"),
]


@pytest.mark.parametrize(("decode", "hexframe"), WARMUP_FRAMES)
def test_warmup_frames_are_flagged_not_plain_zeros(decode, hexframe: str) -> None:
    sample = decode(bytes.fromhex(hexframe))
    assert "warmup" in sample.flags


def test_modbus_co2_of_zero_is_flagged() -> None:
    s8 = modbus.with_crc(bytes.fromhex("FE 04 02 00 00"))
    assert senseair_s8.decode(s8).flags == ("warmup",)
    s8_status = modbus.with_crc(bytes.fromhex("FE 04 08 00 00 00 00 00 00 00 00"))
    assert senseair_s8.decode(s8_status).flags == ("warmup",)
    reply = modbus.with_crc(bytes([0x61, 3, 12]) + struct.pack(">fff", 0.0, 21.5, 40.0))
    assert scd30.decode(reply).flags == ("warmup",)
    assert senseair_s8.decode(bytes.fromhex("FE 04 02 01 90 AC D8")).flags == ()


def test_zphs01b_zero_co2_is_flagged_warmup() -> None:
    frame = zphs01b.encode_reply((0, 0, 0), 0, 0, 21.0, 40, 0, 0, 0, 0)
    assert zphs01b.decode(frame).flags == ("coarse_no2", "warmup")


def test_real_low_values_keep_no_flag() -> None:
    assert sds011.decode(bytes.fromhex("AA C0 00 00 03 00 58 D9 34 AB")).flags == ()
    assert mhz19.decode(bytes.fromhex("FF 86 02 7C 42 00 00 00 BA")).flags == ()


# -- the shared frame scan --------------------------------------------------------------------


def _valid(frame: bytes) -> bool:
    return frame[-1] == sum(frame[1:-1]) & 0xFF


def test_scan_skips_garbage_and_false_sync_bytes() -> None:
    frame = bytes([0xAA, 1, 2, 3])
    frame = frame + bytes([6])
    buf = b"\x00\xaa\x09\x09\x09\x09" + frame
    got, consumed = framing.scan(buf, sync=b"\xaa", size=5, valid=_valid)
    assert got == frame and consumed == len(buf)


def test_scan_waits_for_the_rest_of_a_frame_and_reports_garbage_before_it() -> None:
    assert framing.scan(b"\x00\x00\xaa\x01", sync=b"\xaa", size=5, valid=_valid) == (None, 2)
    assert framing.scan(b"\x01\x02\x42", sync=b"BM", size=8, valid=_valid) == (None, 2)
    assert framing.scan(b"\x01\x02", sync=b"\xaa", size=5, valid=_valid) == (None, 2)


def test_scan_without_sync_takes_a_later_frame_over_a_pending_candidate() -> None:
    def size(buf: bytes, i: int) -> int:
        return 5 if buf[i] == 0xAA else framing.NOT_A_FRAME

    frame = bytes([0xAA, 1, 2, 3, 6])
    got, consumed = framing.scan(
        b"\xaa\xaa" + frame, sync=b"", size=size, valid=_valid, pending_blocks=False
    )
    assert got == frame and consumed == 7
    assert framing.scan(
        b"\x00\xaa\x01", sync=b"", size=size, valid=_valid, pending_blocks=False
    ) == (
        None,
        1,
    )
