"""Sensirion SPS30 over UART (SHDLC): 115200 baud 8N1, device address 0x00.

Host -> device (MOSI): ``7E ADR CMD LEN DATA… CHK 7E``.
Device -> host (MISO): ``7E ADR CMD STATE LEN DATA… CHK 7E``.
CHK is the bitwise NOT of the 8-bit sum of the bytes between the ``7E`` markers, computed
*before* byte stuffing. Stuffing then replaces, between the markers (CHK included),
``7E 7D 11 13`` by ``7D`` followed by the byte XOR 0x20 — even a command can be stuffed:
wake-up (0x11) goes out as ``7E 00 7D 31 00 EE 7E``.

:func:`decode` takes a reply to ``commands.sps30.read`` and returns pm1, pm2_5, pm4, pm10 (µg/m³),
nc0_5, nc1, nc2_5, nc4, nc10 (#/cm³, particles from 0.3 µm up to the size) and tps (µm).
Two outcomes are not samples and raise their own :class:`~airq_core.errors.DecodeError`
subclasses, so a gateway that drops every DecodeError stays correct:

* :class:`NoNewDataError` — an empty read reply: no new measurement since the last read;
* :class:`DeviceStateError` — STATE ≠ 0: the device refused the command (code and meaning in
  the message, e.g. 0x43 "command not allowed in current state": not measuring).

A read reply whose ten values are all zero is what the sensor returns in the first seconds
after "start measurement" (Sensirion gives 8–30 s of start-up time; issue 15's third-party
captures): its sample carries the flag ``"warmup"``, never a plain zero reading
(``sample_flags``, which the sensor.community importer and airrohr bodies apply too).

Bit 7 of STATE is the device-error flag (fan or laser problem; read the device status
register): [UNVERIFIED] beyond the SHDLC driver. A read reply with only that bit set is still
decoded, with the flag ``"device_error"``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing
from airq_core.readings import Sample

__all__ = [
    "BAUDRATE",
    "NAME",
    "DeviceStateError",
    "NoNewDataError",
    "Reply",
    "decode",
    "encode_reply",
    "parse_command",
    "parse_reply",
    "sample_flags",
    "split_command",
    "split_frame",
    "stuff",
    "unstuff",
]

NAME = "sps30"
BAUDRATE = 115200
ADDRESS = 0x00
FLAG, ESCAPE = 0x7E, 0x7D
_STUFFED = (0x7E, 0x7D, 0x11, 0x13)
MAX_FRAME = 2 + 2 * (5 + 255)  # both markers, everything stuffed

CMD_START, CMD_STOP, CMD_READ = 0x00, 0x01, 0x03
CMD_SLEEP, CMD_WAKE, CMD_FAN_CLEANING = 0x10, 0x11, 0x56
CMD_DEVICE_INFO, CMD_RESET = 0xD0, 0xD3
COMMAND_NAMES = {
    CMD_START: "start measurement",
    CMD_STOP: "stop measurement",
    CMD_READ: "read measured values",
    CMD_SLEEP: "sleep",
    CMD_WAKE: "wake-up",
    CMD_FAN_CLEANING: "start fan cleaning",
    CMD_DEVICE_INFO: "device information",
    CMD_RESET: "reset",
}
INFO_PRODUCT_TYPE, INFO_SERIAL = 0x00, 0x03

STATE_OK, STATE_NOT_ALLOWED = 0x00, 0x43
STATE_NAMES = {
    0x01: "wrong data length for this command",
    0x02: "unknown command",
    0x03: "no access right for command",
    0x04: "illegal command parameter or parameter out of allowed range",
    0x28: "internal function argument out of range",
    0x43: "command not allowed in current state",
}
DEVICE_ERROR_BIT = 0x80

FIELDS = ("pm1", "pm2_5", "pm4", "pm10", "nc0_5", "nc1", "nc2_5", "nc4", "nc10", "tps")
QUANTITIES = FIELDS
FLOAT_DATA_LEN, UINT16_DATA_LEN = 40, 20


class NoNewDataError(DecodeError):
    """The read reply is empty: no new measurement since the last read. Read again in 1 s."""


class DeviceStateError(DecodeError):
    """The reply's STATE byte is an error code: the device refused the command.

    For 0x43 (not allowed in current state), start the measurement or wake the sensor first.
    """

    def __init__(self, message: str, state: int) -> None:
        super().__init__(message)
        self.state = state


def checksum(body: bytes) -> int:
    """Bitwise NOT of the 8-bit sum of ``body`` (the unstuffed bytes between the markers)."""
    return ~sum(body) & 0xFF


def stuff(data: bytes) -> bytes:
    """Escape ``7E 7D 11 13`` as ``7D (byte ^ 0x20)``."""
    out = bytearray()
    for b in data:
        if b in _STUFFED:
            out += bytes([ESCAPE, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def unstuff(data: bytes) -> bytes:
    """Undo :func:`stuff`. Raises FrameFormatError on a bad or dangling escape."""
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == FLAG:
            raise FrameFormatError("SPS30 unescaped 0x7E inside a frame")
        if b == ESCAPE:
            nxt = next(it, None)
            if nxt is None or nxt ^ 0x20 not in _STUFFED:
                shown = "end of frame" if nxt is None else f"0x{nxt:02X}"
                raise FrameFormatError(f"SPS30 bad escape sequence 0x7D then {shown}")
            out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


def wrap(body: bytes) -> bytes:
    return bytes([FLAG]) + stuff(body + bytes([checksum(body)])) + bytes([FLAG])


def encode_reply(
    cmd: int, data: bytes = b"", state: int = STATE_OK, address: int = ADDRESS
) -> bytes:
    """A MISO frame as the device sends it (virtual sensors and tests)."""
    return wrap(bytes([address, cmd, state, len(data)]) + data)


def _content_ok(content: bytes, header: int) -> bool:
    """``content`` (unstuffed, CHK included) has the announced length and a good checksum."""
    return (
        len(content) > header
        and len(content) == header + 1 + content[header - 1]
        and checksum(content[:-1]) == content[-1]
    )


def _split(buffer: bytes, header: int) -> tuple[bytes | None, int]:
    def size(buf: bytes, i: int) -> int:
        # a frame runs to the next 7E; a bad candidate's closing 7E opens the next candidate
        end = buf.find(FLAG, i + 1, i + MAX_FRAME)
        if end < 0:
            return framing.NEED_MORE if len(buf) - i < MAX_FRAME else framing.NOT_A_FRAME
        return end + 1 - i

    def valid(cand: bytes) -> bool:
        try:
            return _content_ok(unstuff(cand[1:-1]), header)
        except FrameFormatError:
            return False

    return framing.scan(buffer, sync=bytes([FLAG]), size=size, valid=valid)


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """First MISO frame (``7E`` … ``7E``) whose length and checksum are right.

    The frame is returned as received (stuffed, markers included). A closing ``7E`` of a bad
    candidate is tried as the opening marker of the next one.
    """
    return _split(buffer, 4)


def split_command(buffer: bytes) -> tuple[bytes | None, int]:
    """Like :func:`split_frame`, for MOSI frames (host -> device; virtual sensors)."""
    return _split(buffer, 3)


def _unwrap(frame: bytes, header: int) -> bytes:
    frame = bytes(frame)
    if len(frame) < header + 3:
        raise IncompleteFrameError(f"SPS30 frame too short: {len(frame)} bytes")
    if frame[0] != FLAG or frame[-1] != FLAG:
        raise FrameFormatError(
            f"SPS30 frame must start and end with 0x7E, got 0x{frame[0]:02X} … 0x{frame[-1]:02X}"
        )
    content = unstuff(frame[1:-1])
    if len(content) < header + 1:
        raise IncompleteFrameError(f"SPS30 frame too short: {len(content)} bytes unstuffed")
    expected_len = header + 1 + content[header - 1]
    if len(content) < expected_len:
        raise IncompleteFrameError(
            f"SPS30 frame too short: LEN announces {content[header - 1]} data bytes, "
            f"got {len(content) - header - 1}"
        )
    if len(content) > expected_len:
        raise FrameFormatError(
            f"SPS30 frame too long: LEN announces {content[header - 1]} data bytes, "
            f"got {len(content) - header - 1}"
        )
    expected = checksum(content[:-1])
    if content[-1] != expected:
        raise ChecksumError(f"SPS30 bad checksum 0x{content[-1]:02X}, expected 0x{expected:02X}")
    return content


@dataclass(frozen=True, slots=True)
class Reply:
    """A checked MISO frame."""

    address: int
    command: int
    state: int
    data: bytes


def parse_reply(frame: bytes) -> Reply:
    """Check a MISO frame (any command) and return its fields; STATE is not interpreted."""
    content = _unwrap(frame, 4)
    return Reply(content[0], content[1], content[2], content[4:-1])


def parse_command(frame: bytes) -> tuple[int, int, bytes]:
    """A MOSI frame -> (address, command, data)."""
    content = _unwrap(frame, 3)
    return content[0], content[1], content[3:-1]


def _state_error(reply: Reply) -> DeviceStateError:
    code = reply.state & ~DEVICE_ERROR_BIT
    what = COMMAND_NAMES.get(reply.command, f"command 0x{reply.command:02X}")
    meaning = STATE_NAMES.get(code, "unknown error")
    return DeviceStateError(
        f"SPS30 refused {what}: error state 0x{reply.state:02X} ({meaning})", reply.state
    )


def decode(frame: bytes) -> Sample:
    """A reply to ``commands.sps30.read`` -> Sample.

    Float output (40 data bytes, the ``commands.sps30.start`` default) and uint16 output (20 bytes;
    [UNVERIFIED] firmware support; there tps arrives in nm) are both accepted.

    Raises:
        NoNewDataError: empty reply, nothing new since the last read.
        DeviceStateError: STATE carries an error code.
        IncompleteFrameError, FrameFormatError, ChecksumError: not a valid read reply.
    """
    reply = parse_reply(frame)
    if reply.state & ~DEVICE_ERROR_BIT:
        raise _state_error(reply)
    if reply.command != CMD_READ:
        what = COMMAND_NAMES.get(reply.command, f"command 0x{reply.command:02X}")
        raise FrameFormatError(f"SPS30 frame is a reply to {what}, not a measurement")
    if not reply.data:
        raise NoNewDataError("SPS30 has no new measurement yet (empty read reply)")
    if len(reply.data) == FLOAT_DATA_LEN:
        raw = struct.unpack(">10f", reply.data)
        numbers = [float(f"{v:.7g}") if math.isfinite(v) else v for v in raw]
    elif len(reply.data) == UINT16_DATA_LEN:
        numbers = [float(v) for v in struct.unpack(">10H", reply.data)]
        numbers[-1] /= 1000  # nm -> µm
    else:
        raise FrameFormatError(
            f"SPS30 read reply has {len(reply.data)} data bytes, expected 40 (float) or 20"
        )
    for name, v in zip(FIELDS, numbers, strict=True):
        if not math.isfinite(v):
            raise FrameFormatError(f"SPS30 {name} is not a finite number ({v})")
    values = dict(zip(FIELDS, numbers, strict=True))
    flags = ("device_error",) if reply.state & DEVICE_ERROR_BIT else ()
    return Sample(NAME, values, (*sample_flags(values), *flags))


def sample_flags(values: Mapping[str, float]) -> tuple[str, ...]:
    """Flags of an SPS30 measurement: ``("warmup",)`` when its ten values (masses, counts and
    typical size) are all 0, the fan still starting; else none. With any of them missing
    nothing is flagged (a missing value is not a zero)."""
    if all(values.get(f) == 0 for f in FIELDS):
        return ("warmup",)
    return ()


def encode_measurement(values: dict[str, float]) -> bytes:
    """The float read reply a sensor would send for ``values`` (virtual sensors and tests)."""
    return encode_reply(CMD_READ, struct.pack(">10f", *(values[f] for f in FIELDS)))


def parse_device_info(frame: bytes) -> str:
    """Reply to ``commands.sps30.device_info`` -> the NUL-terminated ASCII string it carries."""
    reply = parse_reply(frame)
    if reply.state & ~DEVICE_ERROR_BIT:
        raise _state_error(reply)
    if reply.command != CMD_DEVICE_INFO:
        raise FrameFormatError("SPS30 frame is not a device information reply")
    return reply.data.split(b"\0", 1)[0].decode("ascii", "replace")
