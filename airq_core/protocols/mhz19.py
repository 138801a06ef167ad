"""Winsen MH-Z19B (NDIR CO₂): 9600 baud 8N1, request/response, 9-byte frames.

Host -> sensor: ``FF 01 cmd d3 d4 d5 d6 d7 cs``; sensor -> host: ``FF cmd b2 … b7 cs``.
The checksum (both directions) is the two's complement of the sum of bytes 1..7.
Read reply: ``FF 86 co2_H co2_L T S U_H U_L cs``; CO₂ ppm = H×256+L; T − 40 is the
sensor's *internal* temperature (undocumented). It is not the air temperature (the NDIR lamp
heats the module), so it is kept in ``meta["internal_temperature"]`` rather than as the
``temperature`` quantity a station's dashboard would show.

Pre-heat: for about 3 minutes after power-on the readings are meaningless (reports vary by
firmware: a fixed 410 or 500 ppm, 388 then 555 ppm, or zeros). The frame does not say it is
warming up; the caller discards readings taken in the first 180 s (``PREHEAT_S``). A reply
of 0 ppm (outdoor air holds about 420 ppm) is flagged ``"warmup"`` whenever it comes.
The replies to the ABC, calibration and range commands are not documented: [UNVERIFIED].
"""

from __future__ import annotations

from airq_core.errors import ChecksumError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing
from airq_core.readings import Sample

__all__ = [
    "BAUDRATE",
    "NAME",
    "checksum",
    "decode",
    "encode_read_reply",
    "parse_command",
    "split_command",
    "split_frame",
]

NAME = "mhz19b"
BAUDRATE = 9600
FRAME_LEN = 9
START, SENSOR_NUMBER = 0xFF, 0x01
PREHEAT_S = 180.0

CMD_READ = 0x86
CMD_ABC = 0x79  # d3 = A0 on, 00 off
CMD_ZERO = 0x87  # zero point = 400 ppm in fresh air
CMD_SPAN = 0x88
CMD_RANGE = 0x99
COMMANDS = (CMD_READ, CMD_ABC, CMD_ZERO, CMD_SPAN, CMD_RANGE)
RANGES = (2000, 5000, 10000)


def checksum(body: bytes) -> int:
    """Two's complement of the 8-bit sum of ``body`` (bytes 1.. before the checksum)."""
    return (0x100 - (sum(body) & 0xFF)) & 0xFF


def _reply_size(buffer: bytes, i: int) -> int:
    if len(buffer) - i < 2:
        return framing.NEED_MORE
    return FRAME_LEN if buffer[i + 1] in COMMANDS else framing.NOT_A_FRAME


def _sum_ok(cand: bytes) -> bool:
    return checksum(cand[1:8]) == cand[8]


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """First sensor reply (``FF`` + known command byte) with a valid checksum."""
    return framing.scan(buffer, sync=bytes([START]), size=_reply_size, valid=_sum_ok)


def _check(frame: bytes) -> None:
    if len(frame) < FRAME_LEN:
        raise IncompleteFrameError(f"MH-Z19B frame too short: {len(frame)} bytes, expected 9")
    if len(frame) > FRAME_LEN:
        raise FrameFormatError(f"MH-Z19B frame too long: {len(frame)} bytes, expected 9")
    if frame[0] != START:
        raise FrameFormatError(f"MH-Z19B bad start byte 0x{frame[0]:02X}, expected 0xFF")
    expected = checksum(frame[1:8])
    if frame[8] != expected:
        raise ChecksumError(f"MH-Z19B bad checksum 0x{frame[8]:02X}, expected 0x{expected:02X}")


def decode(frame: bytes) -> Sample:
    """A read reply (``FF 86``) -> Sample with co2 (ppm); internal temperature in meta."""
    frame = bytes(frame)
    _check(frame)
    if frame[1] != CMD_READ:
        raise FrameFormatError(
            f"MH-Z19B frame is a reply to command 0x{frame[1]:02X}, not a read (0x86)"
        )
    co2 = int.from_bytes(frame[2:4], "big")
    meta: dict[str, object] = {"internal_temperature": frame[4] - 40, "status": frame[5]}
    flags = ("warmup",) if co2 == 0 else ()  # 0 ppm: pre-heat, never a real reading
    return Sample(NAME, {"co2": float(co2)}, flags, meta)


def encode_read_reply(co2: int, internal_temperature: int = 26) -> bytes:
    """The reply to ``commands.mhz19.read`` a sensor would send (virtual sensors and tests)."""
    body = bytes([CMD_READ]) + max(0, min(0xFFFF, co2)).to_bytes(2, "big")
    body += bytes([max(0, min(0xFF, internal_temperature + 40)), 0, 0, 0])
    return bytes([START]) + body + bytes([checksum(body)])


def encode_reply(cmd: int, data: bytes = b"") -> bytes:
    """A generic 9-byte reply ``FF cmd data…`` (virtual sensors)."""
    body = bytes([cmd]) + data[:6].ljust(6, b"\0")
    return bytes([START]) + body + bytes([checksum(body)])


def split_command(buffer: bytes) -> tuple[bytes | None, int]:
    """Like :func:`split_frame`, for host commands ``FF 01 …`` (virtual sensors)."""
    return framing.scan(
        buffer,
        sync=bytes([START]),
        size=FRAME_LEN,
        valid=lambda cand: cand[1] == SENSOR_NUMBER and _sum_ok(cand),
    )


def parse_command(frame: bytes) -> tuple[int, bytes]:
    """A 9-byte host command -> (cmd, d3..d7)."""
    frame = bytes(frame)
    if len(frame) != FRAME_LEN or frame[0] != START or frame[1] != SENSOR_NUMBER:
        raise FrameFormatError("MH-Z19B command must be 9 bytes FF 01 …")
    if checksum(frame[1:8]) != frame[8]:
        raise ChecksumError("MH-Z19B command has a bad checksum")
    return frame[2], frame[3:8]
