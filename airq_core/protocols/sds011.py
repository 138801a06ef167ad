"""Nova Fitness SDS011 (also SDS018/SDS021): 9600 baud 8N1, 10-byte frames.

Data frame (sensor -> host): ``AA C0 pm25_lo pm25_hi pm10_lo pm10_hi id id cs AB``
(values ×10, little-endian; cs = sum of bytes 2..7 mod 256).

A data frame with PM2.5 and PM10 both 0.0 is what the sensor sends while its fan spins up
after power-on or wake (the first frames after "work"; sds011lib docs, airrohr discards the
first 15 s): its sample carries the flag ``"warmup"``, never a plain zero reading
(``sample_flags``, which the sensor.community archive importer applies to archive rows too).
Reply frame: ``AA C5 cmd d1 d2 d3 id id cs AB``.
Command frame (host -> sensor), 19 bytes: ``AA B4 cmd d1 d2 00×10 id_hi id_lo cs AB``
(cs = sum of bytes 2..16 mod 256; id ``FF FF`` addresses every sensor).
"""

from __future__ import annotations

from dataclasses import dataclass

from airq_core.errors import ChecksumError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing
from airq_core.readings import Sample

NAME = "sds011"
BAUDRATE = 9600
FRAME_LEN = 10
HEAD, TAIL = 0xAA, 0xAB
DATA, REPLY, COMMAND = 0xC0, 0xC5, 0xB4

CMD_REPORTING_MODE = 0x02
CMD_QUERY = 0x04
CMD_SET_ID = 0x05
CMD_SLEEP_WORK = 0x06
CMD_FIRMWARE = 0x07
CMD_WORKING_PERIOD = 0x08


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def _frame_ok(cand: bytes) -> bool:
    return cand[1] in (DATA, REPLY) and cand[9] == TAIL and checksum(cand[2:8]) == cand[8]


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    return framing.scan(buffer, sync=bytes([HEAD]), size=FRAME_LEN, valid=_frame_ok)


def _check(frame: bytes) -> None:
    if len(frame) < FRAME_LEN:
        raise IncompleteFrameError(f"SDS011 frame too short: {len(frame)} bytes, expected 10")
    if len(frame) > FRAME_LEN:
        raise FrameFormatError(f"SDS011 frame too long: {len(frame)} bytes, expected 10")
    if frame[0] != HEAD:
        raise FrameFormatError(f"SDS011 bad header 0x{frame[0]:02X}, expected 0xAA")
    if frame[9] != TAIL:
        raise FrameFormatError(f"SDS011 bad tail 0x{frame[9]:02X}, expected 0xAB")
    if frame[1] not in (DATA, REPLY):
        raise FrameFormatError(f"SDS011 bad command byte 0x{frame[1]:02X}, expected 0xC0 or 0xC5")
    expected = checksum(frame[2:8])
    if frame[8] != expected:
        raise ChecksumError(f"SDS011 bad checksum 0x{frame[8]:02X}, expected 0x{expected:02X}")


def is_reply(frame: bytes) -> bool:
    return len(frame) > 1 and frame[1] == REPLY


def decode(frame: bytes) -> Sample:
    """A data frame (``AA C0``) or a query reply -> Sample with pm2_5 and pm10 in µg/m³."""
    frame = bytes(frame)
    _check(frame)
    if frame[1] != DATA:
        raise FrameFormatError(
            f"SDS011 frame is a command reply (0xC5, command 0x{frame[2]:02X}), not a measurement"
        )
    pm25 = int.from_bytes(frame[2:4], "little") / 10
    pm10 = int.from_bytes(frame[4:6], "little") / 10
    return Sample(
        NAME,
        {"pm2_5": pm25, "pm10": pm10},
        sample_flags(pm25, pm10),
        {"device_id": frame[6:8].hex()},
    )


def sample_flags(pm2_5: float | None, pm10: float | None) -> tuple[str, ...]:
    """Flags of an SDS011 measurement: ``("warmup",)`` when PM2.5 and PM10 are both 0.0 (the
    sensor's output while its fan spins up, or with no data), else none. A missing value
    (``None``) is not a zero: nothing to flag."""
    return ("warmup",) if pm2_5 == 0 and pm10 == 0 else ()


@dataclass(frozen=True, slots=True)
class Reply:
    command: int
    data: bytes
    device_id: bytes


def parse_reply(frame: bytes) -> Reply:
    frame = bytes(frame)
    _check(frame)
    if frame[1] != REPLY:
        raise FrameFormatError("SDS011 frame is a measurement, not a command reply")
    return Reply(frame[2], frame[3:6], frame[6:8])


def encode_data(pm2_5: float, pm10: float, device_id: bytes = b"\x58\xd9") -> bytes:
    """Build the data frame a sensor would send (used by virtual sensors and tests)."""
    body = (
        min(round(pm2_5 * 10), 0xFFFF).to_bytes(2, "little")
        + min(round(pm10 * 10), 0xFFFF).to_bytes(2, "little")
        + device_id
    )
    return bytes([HEAD, DATA]) + body + bytes([checksum(body), TAIL])


def encode_reply(command: int, data: bytes, device_id: bytes = b"\x58\xd9") -> bytes:
    body = bytes([command]) + data[:3].ljust(3, b"\0") + device_id
    return bytes([HEAD, REPLY]) + body + bytes([checksum(body), TAIL])


def parse_command(frame: bytes) -> tuple[int, int, int, int]:
    """A 19-byte host command -> (cmd, d1, d2, device_id). Used by virtual sensors."""
    frame = bytes(frame)
    if len(frame) != 19 or frame[0] != HEAD or frame[1] != COMMAND or frame[18] != TAIL:
        raise FrameFormatError("SDS011 command frame must be 19 bytes AA B4 … AB")
    if checksum(frame[2:17]) != frame[17]:
        raise ChecksumError("SDS011 command frame has a bad checksum")
    return frame[2], frame[3], frame[4], int.from_bytes(frame[15:17], "big")


def _command_ok(cand: bytes) -> bool:
    return cand[1] == COMMAND and cand[18] == TAIL and checksum(cand[2:17]) == cand[17]


def split_command(buffer: bytes) -> tuple[bytes | None, int]:
    """Like split_frame, for the host -> sensor direction (virtual sensors)."""
    return framing.scan(buffer, sync=bytes([HEAD]), size=19, valid=_command_ok)
