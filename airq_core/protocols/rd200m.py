"""FTLab RD200M radon module (inside the RadonEye RD200): 19200 baud 8N1.

Frame: ``02 cmd len data×len cs`` with cs = 0xFF − (cmd + len + data) mod 256.
Data reply (cmd ``0x10``, len 4): ``02 10 04 status minutes int hundredths cs``;
radon pCi/L = int + hundredths/100, stored in Bq/m³ (× 37). Source: FTLab RD200M datasheet
v1.2 and application note v1.1.

Status byte -> sample flags:

* ``00`` power-on to 200 s, ``01`` 200 s to 1 h: ``("warmup",)``;
* ``10`` less than 30 min and already more than 10 counts: ``("warmup", "warning")`` — the
  value is an early estimate, and the datasheet raises it as a warning of a high level;
* ``02`` normal (after 1 h): no flag;
* ``E0`` vibration detected: ``("vibration",)``;
* any other byte: ``("unknown_status",)``.

The sensor updates its value every 10 minutes; ``minutes`` (elapsed measuring time) and the
status byte are kept in ``meta``.
"""

from __future__ import annotations

from airq_core.errors import ChecksumError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing
from airq_core.readings import Sample

__all__ = [
    "BAUDRATE",
    "NAME",
    "decode",
    "encode_data",
    "parse_command",
    "split_command",
    "split_frame",
]

NAME = "rd200m"
BAUDRATE = 19200
STX = 0x02
CMD_READ, CMD_DATA, CMD_RESET, CMD_PERIOD = 0x01, 0x10, 0xA0, 0xA1
COMMANDS = (CMD_READ, CMD_RESET, CMD_PERIOD)
DATA_LEN = 8
BQ_PER_PCI_L = 37.0

STATUS_PREHEAT, STATUS_WARMUP, STATUS_NORMAL = 0x00, 0x01, 0x02
STATUS_WARNING, STATUS_VIBRATION = 0x10, 0xE0
STATUS_FLAGS: dict[int, tuple[str, ...]] = {
    STATUS_PREHEAT: ("warmup",),
    STATUS_WARMUP: ("warmup",),
    STATUS_WARNING: ("warmup", "warning"),
    STATUS_NORMAL: (),
    STATUS_VIBRATION: ("vibration",),
}


def checksum(body: bytes) -> int:
    """0xFF − (sum of cmd, len and data) mod 256."""
    return 0xFF - (sum(body) & 0xFF)


def _data_size(buffer: bytes, i: int) -> int:
    if len(buffer) - i < 2:
        return framing.NEED_MORE
    if buffer[i + 1] != CMD_DATA:
        return framing.NOT_A_FRAME
    if len(buffer) - i < 3:
        return framing.NEED_MORE
    return DATA_LEN if buffer[i + 2] == DATA_LEN - 4 else framing.NOT_A_FRAME


def _sum_ok(cand: bytes) -> bool:
    return checksum(cand[1:-1]) == cand[-1]


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """First data frame ``02 10 04 …`` with a valid checksum; see the package contract."""
    return framing.scan(buffer, sync=bytes([STX]), size=_data_size, valid=_sum_ok)


def _check(frame: bytes) -> None:
    if len(frame) < DATA_LEN:
        raise IncompleteFrameError(f"RD200M frame too short: {len(frame)} bytes, expected 8")
    if len(frame) > DATA_LEN:
        raise FrameFormatError(f"RD200M frame too long: {len(frame)} bytes, expected 8")
    if frame[0] != STX:
        raise FrameFormatError(f"RD200M bad start byte 0x{frame[0]:02X}, expected 0x02")
    if frame[1] != CMD_DATA or frame[2] != DATA_LEN - 4:
        raise FrameFormatError(
            f"RD200M bad command/length 0x{frame[1]:02X} 0x{frame[2]:02X}, expected 0x10 0x04"
        )
    expected = checksum(frame[1:7])
    if frame[7] != expected:
        raise ChecksumError(f"RD200M bad checksum 0x{frame[7]:02X}, expected 0x{expected:02X}")


def decode(frame: bytes) -> Sample:
    """A data frame -> Sample with radon in Bq/m³, flags from the status byte."""
    frame = bytes(frame)
    _check(frame)
    status, minutes, whole, hundredths = frame[3:7]
    if hundredths > 99:
        raise FrameFormatError(f"RD200M hundredths byte {hundredths} is above 99")
    pci_l = whole + hundredths / 100
    flags = STATUS_FLAGS.get(status, ("unknown_status",))
    meta: dict[str, object] = {"status": status, "minutes": minutes, "pci_l": pci_l}
    return Sample(NAME, {"radon": round(pci_l * BQ_PER_PCI_L, 2)}, flags, meta)


def encode_data(status: int, minutes: int, pci_l: float) -> bytes:
    """The data frame a module would send (virtual sensors and tests)."""
    cents = max(0, min(255 * 100 + 99, round(pci_l * 100)))
    body = bytes([CMD_DATA, 4, status, min(minutes, 255), cents // 100, cents % 100])
    return bytes([STX]) + body + bytes([checksum(body)])


def _command_size(buffer: bytes, i: int) -> int:
    if len(buffer) - i < 4:
        return framing.NEED_MORE
    size = 4 + buffer[i + 2]
    return size if buffer[i + 1] in COMMANDS and size <= 5 else framing.NOT_A_FRAME


def split_command(buffer: bytes) -> tuple[bytes | None, int]:
    """Like :func:`split_frame`, for host commands (virtual sensors)."""
    return framing.scan(buffer, sync=bytes([STX]), size=_command_size, valid=_sum_ok)


def parse_command(frame: bytes) -> tuple[int, bytes]:
    """A host command -> (cmd, data)."""
    frame = bytes(frame)
    if len(frame) < 4 or frame[0] != STX or len(frame) != 4 + frame[2]:
        raise FrameFormatError("RD200M command must be 02 cmd len data… cs")
    if checksum(frame[1:-1]) != frame[-1]:
        raise ChecksumError("RD200M command has a bad checksum")
    return frame[1], frame[3:-1]
