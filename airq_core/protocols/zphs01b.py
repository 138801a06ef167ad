"""Winsen ZPHS01B multi-sensor module: 9600 baud 8N1, request/response.

Request: ``FF 01 86 00 00 00 00 00 79`` (the MH-Z19B read command). Reply, 26 bytes::

    FF 86  pm1 pm2_5 pm10 co2  voc  temp rh  ch2o co o3 no2  reserved  cs

Words are big-endian; ``voc`` is one byte (grade 0–3); ``cs`` is the two's complement of the
sum of bytes 1..24 (as MH-Z19B). Layout from two independent implementations; the datasheet
was not seen. Conversions chosen here:

* temperature = (raw − 500) × 0.1 °C, as in the reference's worked frame. One
  implementation uses −435 instead (a 6.5 °C difference): [UNVERIFIED]. Check against a
  thermometer before trusting it; ``TEMPERATURE_OFFSET`` is the one place to change.
* CH₂O raw × 0.001 mg/m³ -> ``ch2o`` in µg/m³ (× 1000).
* CO raw × 0.1 ppm, O₃ raw × 0.01 ppm, NO₂ raw × 0.01 ppm, converted to µg/m³ at 20 °C and
  101.3 kPa (1 ppb = 1.164, 1.995 and 1.912 µg/m³). Units believed ppm: [UNVERIFIED].

The NO₂ step (0.01 ppm ≈ 19 µg/m³) is too coarse for background air: every sample carrying
``no2`` has the flag ``"coarse_no2"``.
"""

from __future__ import annotations

from airq_core.errors import ChecksumError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing, mhz19
from airq_core.readings import Sample

__all__ = ["BAUDRATE", "NAME", "decode", "encode_reply", "split_frame"]

NAME = "zphs01b"
BAUDRATE = 9600
FRAME_LEN = 26
HEAD = b"\xff\x86"
TEMPERATURE_OFFSET = 500
UGM3_PER_PPB = {"co": 1.164, "o3": 1.995, "no2": 1.912}
QUANTITIES = (
    *("pm1", "pm2_5", "pm10", "co2", "voc_grade", "temperature", "humidity"),
    *("ch2o", "co", "o3", "no2"),
)


def _reply_size(buffer: bytes, i: int) -> int:
    if len(buffer) - i < 2:
        return framing.NEED_MORE
    return FRAME_LEN if buffer[i + 1] == HEAD[1] else framing.NOT_A_FRAME


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """First 26-byte ``FF 86`` reply with a valid checksum; see the package contract."""
    return framing.scan(
        buffer,
        sync=HEAD[:1],
        size=_reply_size,
        valid=lambda cand: mhz19.checksum(cand[1:25]) == cand[25],
    )


def _check(frame: bytes) -> None:
    if len(frame) < FRAME_LEN:
        raise IncompleteFrameError(f"ZPHS01B frame too short: {len(frame)} bytes, expected 26")
    if len(frame) > FRAME_LEN:
        raise FrameFormatError(f"ZPHS01B frame too long: {len(frame)} bytes, expected 26")
    if frame[:2] != HEAD:
        raise FrameFormatError(f"ZPHS01B bad header 0x{frame[:2].hex().upper()}, expected 0xFF86")
    expected = mhz19.checksum(frame[1:25])
    if frame[25] != expected:
        raise ChecksumError(f"ZPHS01B bad checksum 0x{frame[25]:02X}, expected 0x{expected:02X}")


def decode(frame: bytes) -> Sample:
    """A 26-byte reply -> Sample (PM µg/m³, co2 ppm, °C, %, gases µg/m³, voc_grade)."""
    frame = bytes(frame)
    _check(frame)

    def word(k: int) -> int:
        return int.from_bytes(frame[k : k + 2], "big")

    values = {
        "pm1": float(word(2)),
        "pm2_5": float(word(4)),
        "pm10": float(word(6)),
        "co2": float(word(8)),
        "voc_grade": float(frame[10]),
        "temperature": round((word(11) - TEMPERATURE_OFFSET) * 0.1, 1),
        "humidity": float(word(13)),
        "ch2o": float(word(15)),  # 0.001 mg/m³ = 1 µg/m³
        "co": round(word(17) * 100 * UGM3_PER_PPB["co"], 1),  # 0.1 ppm = 100 ppb
        "o3": round(word(19) * 10 * UGM3_PER_PPB["o3"], 2),  # 0.01 ppm = 10 ppb
        "no2": round(word(21) * 10 * UGM3_PER_PPB["no2"], 2),
    }
    # CO₂ 0 ppm (its NDIR cell is an MH-Z19B's): still pre-heating, as with the MH-Z19B
    flags = ("coarse_no2", "warmup") if values["co2"] == 0 else ("coarse_no2",)
    return Sample(NAME, values, flags, meta={"reserved": frame[23:25].hex()})


def encode_reply(
    pm: tuple[int, int, int],
    co2: int,
    voc_grade: int,
    temperature: float,
    humidity: int,
    ch2o_raw: int,
    co_raw: int,
    o3_raw: int,
    no2_raw: int,
) -> bytes:
    """The 26-byte reply a module would send, from raw wire units (virtual sensors, tests)."""

    def w(v: float) -> bytes:
        return max(0, min(0xFFFF, round(v))).to_bytes(2, "big")

    body = HEAD[1:] + w(pm[0]) + w(pm[1]) + w(pm[2]) + w(co2) + bytes([voc_grade & 0xFF])
    body += w(temperature * 10 + TEMPERATURE_OFFSET) + w(humidity) + w(ch2o_raw) + w(co_raw)
    body += w(o3_raw) + w(no2_raw) + b"\0\0"
    return HEAD[:1] + body + bytes([mhz19.checksum(body)])
