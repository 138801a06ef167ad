"""Plantower PMS5003 / PMS7003 (and PMSA003): 9600 baud 8N1, 32-byte frames.

Data frame (sensor -> host), big-endian 16-bit words::

    42 4D 00 1C  pm1_cf1 pm2_5_cf1 pm10_cf1  pm1 pm2_5 pm10  n0_3 n0_5 n1 n2_5 n5 n10
    reserved  checksum

The checksum is the 16-bit sum of bytes 0..29. The first PM series is "CF=1" (factory
standard particle), the second the "atmospheric environment" series that airrohr and
sensor.community publish; both are kept (``pm1_cf1``… and ``pm1``…). Counts are particles
larger than the size per 0.1 L of air, turned into #/cm³ (divided by 100).

Ack frame (reply to passive mode and sleep), 8 bytes: ``42 4D 00 04 cmd data csH csL``.
Command frame (host -> sensor), 7 bytes: ``42 4D cmd dataH dataL csH csL``.

A frame whose 12 data words are all zero comes from a sensor still warming up: its sample
carries the flag ``"warmup"``. A zero PM reading with non-zero counts is a real value.
The reserved word (PMS7003: version and error code, [UNVERIFIED]) is kept in ``meta``.
"""

from __future__ import annotations

from dataclasses import dataclass

from airq_core.errors import ChecksumError, FrameFormatError, IncompleteFrameError
from airq_core.readings import Sample

__all__ = [
    "BAUDRATE",
    "NAME",
    "Ack",
    "cmd_active",
    "cmd_passive",
    "cmd_read",
    "cmd_sleep",
    "cmd_wake",
    "decode",
    "encode_ack",
    "encode_data",
    "parse_ack",
    "parse_command",
    "split_command",
    "split_frame",
]

NAME = "plantower"
SENSORS = ("pms5003", "pms7003")
BAUDRATE = 9600
HEAD = b"\x42\x4d"
DATA_LEN, ACK_LEN, COMMAND_LEN = 32, 8, 7

CMD_MODE = 0xE1  # data 0 = passive, 1 = active
CMD_READ = 0xE2  # read one frame in passive mode
CMD_SLEEP = 0xE4  # data 0 = sleep, 1 = wake
COMMANDS = (CMD_MODE, CMD_READ, CMD_SLEEP)

PM_FIELDS = ("pm1_cf1", "pm2_5_cf1", "pm10_cf1", "pm1", "pm2_5", "pm10")
COUNT_FIELDS = ("n0_3", "n0_5", "n1", "n2_5", "n5", "n10")
QUANTITIES = PM_FIELDS + COUNT_FIELDS


def _sum16(data: bytes) -> int:
    return sum(data) & 0xFFFF


def _frame_length(buffer: bytes, i: int) -> int:
    """Total length announced by the frame starting at ``i`` (0 when not a sensor frame)."""
    length = int.from_bytes(buffer[i + 2 : i + 4], "big")
    return {DATA_LEN - 4: DATA_LEN, ACK_LEN - 4: ACK_LEN}.get(length, 0)


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """Find the first data or ack frame with a valid checksum; see the package contract."""
    i, n = 0, len(buffer)
    while True:
        i = buffer.find(HEAD[0], i)
        if i < 0:
            return None, n
        if n - i < 2:
            return None, i
        if buffer[i + 1] != HEAD[1]:
            i += 1
            continue
        if n - i < 4:
            return None, i
        size = _frame_length(buffer, i)
        if size:
            if n - i < size:
                return None, i
            cand = buffer[i : i + size]
            if _sum16(cand[:-2]) == int.from_bytes(cand[-2:], "big"):
                return cand, i + size
        i += 1


def _check(frame: bytes, who: str = "PMS") -> None:
    if len(frame) < 4:
        raise IncompleteFrameError(f"{who} frame too short: {len(frame)} bytes")
    if frame[:2] != HEAD:
        raise FrameFormatError(f"{who} bad header 0x{frame[:2].hex().upper()}, expected 0x424D")
    length = int.from_bytes(frame[2:4], "big")
    if length not in (DATA_LEN - 4, ACK_LEN - 4):
        raise FrameFormatError(f"{who} bad frame length field {length}, expected 28 or 4")
    size = length + 4
    if len(frame) < size:
        raise IncompleteFrameError(f"{who} frame too short: {len(frame)} bytes, expected {size}")
    if len(frame) > size:
        raise FrameFormatError(f"{who} frame too long: {len(frame)} bytes, expected {size}")
    got, expected = int.from_bytes(frame[-2:], "big"), _sum16(frame[:-2])
    if got != expected:
        raise ChecksumError(f"{who} bad checksum 0x{got:04X}, expected 0x{expected:04X}")


def decode(frame: bytes, sensor: str = "pms5003") -> Sample:
    """A 32-byte data frame -> Sample (µg/m³ for PM, #/cm³ for counts).

    Args:
        frame: the frame as returned by :func:`split_frame`.
        sensor: the registry name stamped on the sample (``pms5003`` or ``pms7003``): the
            frame itself does not say which model sent it.

    Raises:
        IncompleteFrameError, FrameFormatError, ChecksumError: the frame is not a valid data
            frame (an ack frame raises FrameFormatError).
    """
    frame = bytes(frame)
    _check(frame, sensor.upper())
    if len(frame) != DATA_LEN:
        raise FrameFormatError(
            f"{sensor.upper()} frame is an ack (command 0x{frame[4]:02X}), not a measurement"
        )
    words = [int.from_bytes(frame[k : k + 2], "big") for k in range(4, 28, 2)]
    values: dict[str, float] = dict(zip(PM_FIELDS, map(float, words[:6]), strict=True))
    values.update(zip(COUNT_FIELDS, (w / 100 for w in words[6:]), strict=True))
    flags = ("warmup",) if not any(words) else ()
    return Sample(sensor, values, flags, meta={"reserved": frame[28:30].hex()})


@dataclass(frozen=True, slots=True)
class Ack:
    """The 8-byte acknowledgement of a passive-mode or sleep command."""

    command: int
    data: int


def parse_ack(frame: bytes) -> Ack:
    """An 8-byte ack frame -> Ack. Raises DecodeError subclasses like :func:`decode`."""
    frame = bytes(frame)
    _check(frame)
    if len(frame) != ACK_LEN:
        raise FrameFormatError("PMS frame is a measurement, not an ack")
    return Ack(frame[4], frame[5])


def _with_sum(body: bytes) -> bytes:
    return body + _sum16(body).to_bytes(2, "big")


def encode_data(
    pm_cf1: tuple[int, int, int],
    pm_atm: tuple[int, int, int],
    counts: tuple[int, int, int, int, int, int],
    reserved: bytes = b"\x97\x00",
) -> bytes:
    """Build the data frame a sensor would send (virtual sensors and tests).

    Counts are per 0.1 L, as on the wire. Values are clamped to 0..65535.
    """
    words = (*pm_cf1, *pm_atm, *counts)
    body = b"".join(max(0, min(0xFFFF, int(w))).to_bytes(2, "big") for w in words)
    return _with_sum(HEAD + b"\x00\x1c" + body + reserved[:2].ljust(2, b"\0"))


def encode_ack(command: int, data: int = 0) -> bytes:
    return _with_sum(HEAD + b"\x00\x04" + bytes([command, data]))


def command(cmd: int, data: int = 0) -> bytes:
    """A 7-byte host command: ``42 4D cmd dataH dataL csH csL``."""
    return _with_sum(HEAD + bytes([cmd]) + data.to_bytes(2, "big"))


def cmd_passive() -> bytes:
    """Passive mode: the sensor answers :func:`cmd_read` only. Acked with ``42 4D 00 04``."""
    return command(CMD_MODE, 0)


def cmd_active() -> bytes:
    """Active mode (factory default): the sensor streams data frames."""
    return command(CMD_MODE, 1)


def cmd_read() -> bytes:
    """Ask for one data frame (passive mode)."""
    return command(CMD_READ)


def cmd_sleep() -> bytes:
    """Stop fan and laser. Acked with ``42 4D 00 04``."""
    return command(CMD_SLEEP, 0)


def cmd_wake() -> bytes:
    """Restart fan and laser; allow tens of seconds before trusting the data."""
    return command(CMD_SLEEP, 1)


def split_command(buffer: bytes) -> tuple[bytes | None, int]:
    """Like :func:`split_frame`, for the host -> sensor direction (virtual sensors)."""
    i, n = 0, len(buffer)
    while True:
        i = buffer.find(HEAD[0], i)
        if i < 0:
            return None, n
        if n - i < COMMAND_LEN:
            return None, i
        cand = buffer[i : i + COMMAND_LEN]
        if (
            cand[1] == HEAD[1]
            and cand[2] in COMMANDS
            and _sum16(cand[:5]) == int.from_bytes(cand[5:], "big")
        ):
            return cand, i + COMMAND_LEN
        i += 1


def parse_command(frame: bytes) -> tuple[int, int]:
    """A 7-byte host command -> (cmd, data)."""
    frame = bytes(frame)
    if len(frame) != COMMAND_LEN or frame[:2] != HEAD:
        raise FrameFormatError("PMS command frame must be 7 bytes 42 4D …")
    if _sum16(frame[:5]) != int.from_bytes(frame[5:], "big"):
        raise ChecksumError("PMS command frame has a bad checksum")
    return frame[2], int.from_bytes(frame[3:5], "big")
