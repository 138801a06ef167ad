"""Modbus RTU helpers shared by the Modbus sensors (Senseair S8, Sensirion SCD30).

Request (host -> device): ``addr fc regH regL valH valL crcL crcH`` for function codes 03
(read holding registers), 04 (read input registers) and 06 (write single register).
Responses (device -> host):

* 03 / 04: ``addr fc count data×count crcL crcH`` (``count`` = 2 × registers);
* 06: the request echoed, 8 bytes;
* exception: ``addr fc|0x80 code crcL crcH``, 5 bytes.

CRC-16/MODBUS: init 0xFFFF, reflected polynomial 0xA001, appended low byte first.
A frame carries no start marker, so :func:`split_frame` tries every offset and keeps the
first complete frame whose function code, length and CRC agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from airq_core.errors import ChecksumError, DecodeError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing

__all__ = [
    "ModbusExceptionError",
    "Response",
    "crc16",
    "exception_response",
    "parse_request",
    "parse_response",
    "read_response",
    "split_frame",
    "split_request",
    "with_crc",
]

READ_HOLDING, READ_INPUT, WRITE_SINGLE = 0x03, 0x04, 0x06
FUNCTIONS = (READ_HOLDING, READ_INPUT, WRITE_SINGLE)
EXCEPTION_BIT = 0x80
MAX_READ_BYTES = 250  # 125 registers, the Modbus limit

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
}


class ModbusExceptionError(DecodeError):
    """The device answered with a Modbus exception: it refused the request.

    Check the register, count or value sent (``code`` 2 or 3), or retry later (``code`` 6).
    """

    def __init__(self, message: str, function: int, code: int) -> None:
        super().__init__(message)
        self.function = function
        self.code = code


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS of ``data`` (init 0xFFFF, reflected polynomial 0xA001)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


def _crc_ok(frame: bytes) -> bool:
    return crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def _response_length(buffer: bytes, i: int) -> int:
    """Length of the response that would start at ``i``; 0 if impossible, -1 if unknown yet."""
    if len(buffer) - i < 2:
        return -1
    function = buffer[i + 1]
    if function in (READ_HOLDING, READ_INPUT):
        if len(buffer) - i < 3:
            return -1
        count = buffer[i + 2]
        return 5 + count if count and count % 2 == 0 and count <= MAX_READ_BYTES else 0
    if function == WRITE_SINGLE:
        return 8
    if function & EXCEPTION_BIT and function & ~EXCEPTION_BIT in FUNCTIONS:
        return 5
    return 0


def split_frame(buffer: bytes, address: int | None = None) -> tuple[bytes | None, int]:
    """Find the first complete response with a valid CRC (any address, or ``address`` only).

    A candidate still waiting for bytes does not block a complete frame found further on (the
    candidate was then garbage); with no complete frame, ``consumed`` stops at the first
    candidate that may still complete.
    """

    def size(buf: bytes, i: int) -> int:
        if address is not None and buf[i] != address:
            return framing.NOT_A_FRAME
        return _response_length(buf, i)

    return framing.scan(buffer, sync=b"", size=size, valid=_crc_ok, pending_blocks=False)


def split_request(buffer: bytes, address: int | None = None) -> tuple[bytes | None, int]:
    """Like :func:`split_frame`, for 8-byte requests (host -> device; virtual sensors)."""

    def size(buf: bytes, i: int) -> int:
        if address is not None and buf[i] not in (address, 0xFE):
            return framing.NOT_A_FRAME
        return 8

    return framing.scan(
        buffer, sync=b"", size=size, valid=lambda cand: cand[1] in FUNCTIONS and _crc_ok(cand)
    )


def parse_request(frame: bytes) -> tuple[int, int, int, int]:
    """An 8-byte request -> (address, function, register, value or count)."""
    frame = bytes(frame)
    if len(frame) != 8 or frame[1] not in FUNCTIONS:
        raise FrameFormatError("Modbus request must be 8 bytes with function 03, 04 or 06")
    if not _crc_ok(frame):
        raise ChecksumError("Modbus request has a bad CRC")
    return (
        frame[0],
        frame[1],
        int.from_bytes(frame[2:4], "big"),
        int.from_bytes(frame[4:6], "big"),
    )


@dataclass(frozen=True, slots=True)
class Response:
    """A checked Modbus response.

    ``data`` holds the register bytes of a read (03/04), or register and value of a write (06).
    """

    address: int
    function: int
    data: bytes

    @property
    def registers(self) -> list[int]:
        return [int.from_bytes(self.data[k : k + 2], "big") for k in range(0, len(self.data), 2)]


def parse_response(frame: bytes, who: str = "Modbus") -> Response:
    """Check a response frame and return its content.

    Raises:
        IncompleteFrameError, FrameFormatError, ChecksumError: not a valid response.
        ModbusExceptionError: a valid exception response (the device refused the request).
    """
    frame = bytes(frame)
    if len(frame) < 5:
        raise IncompleteFrameError(f"{who} frame too short: {len(frame)} bytes, need 5 or more")
    size = _response_length(frame, 0)
    if size == 0:
        if frame[1] in (READ_HOLDING, READ_INPUT):
            raise FrameFormatError(f"{who} bad byte count {frame[2]} (even, 2..250 expected)")
        raise FrameFormatError(f"{who} unexpected function code 0x{frame[1]:02X}")
    if len(frame) < size:
        raise IncompleteFrameError(f"{who} frame too short: {len(frame)} bytes, expected {size}")
    if len(frame) > size:
        raise FrameFormatError(f"{who} frame too long: {len(frame)} bytes, expected {size}")
    got, expected = int.from_bytes(frame[-2:], "little"), crc16(frame[:-2])
    if got != expected:
        # shown as on the wire (low byte first)
        raise ChecksumError(
            f"{who} bad CRC {frame[-2:].hex(' ').upper()}, "
            f"expected {expected.to_bytes(2, 'little').hex(' ').upper()}"
        )
    function = frame[1]
    if function & EXCEPTION_BIT:
        code = frame[2]
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        raise ModbusExceptionError(
            f"{who} refused function 0x{function & 0x7F:02X}: exception {code} ({name})",
            function & 0x7F,
            code,
        )
    if function == WRITE_SINGLE:
        return Response(frame[0], function, frame[2:6])
    return Response(frame[0], function, frame[3:-2])


def exception_response(address: int, function: int, code: int) -> bytes:
    """Build an exception response (virtual sensors)."""
    return with_crc(bytes([address, function | EXCEPTION_BIT, code]))


def read_response(address: int, function: int, registers: list[int]) -> bytes:
    """Build a 03/04 response carrying ``registers`` (virtual sensors)."""
    data = b"".join((r & 0xFFFF).to_bytes(2, "big") for r in registers)
    return with_crc(bytes([address, function, len(data)]) + data)
