"""Sensor protocol families, one pure module each.

Every module exposes:
    NAME        the protocol family name
    BAUDRATE    the UART speed the sensor uses (when it has a UART)
    split_frame(buffer) -> (frame | None, consumed)
        Find the first valid frame in ``buffer``. ``consumed`` bytes are to be dropped from the
        front of the buffer (garbage and the frame itself). With no complete frame, ``frame`` is
        None and ``consumed`` counts leading bytes that can never start a frame.
    decode(frame) -> Sample       raises DecodeError with a message that says what is wrong
The bytes a host sends to a sensor are built in :mod:`airq_core.protocols.commands`, one
module per family with the same name.

``FrameStream`` turns a byte stream (any chunking, garbage included) into frames.

Conversion modules (``b43f`` for an analog cell, ``bme280`` for an I²C sensor) have no UART:
their ``BAUDRATE`` is None and they expose ``convert(...) -> Sample`` instead of
``split_frame``/``decode``. ``modbus`` holds the Modbus RTU helpers of ``senseair_s8`` and
``scd30``.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["FrameStream"]


class FrameStream:
    """Accumulates bytes from a serial line and yields the complete, valid frames in order.

    Garbage and frames that fail their checksum are skipped and counted in ``skipped_bytes``.
    The buffer is bounded: a line that never produces a frame cannot grow memory.
    """

    def __init__(self, protocol: ModuleType, max_buffer: int = 4096) -> None:
        self._protocol = protocol
        self._buffer = bytearray()
        self._max_buffer = max_buffer
        self.skipped_bytes = 0
        self.frames = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        out: list[bytes] = []
        while self._buffer:
            frame, consumed = self._protocol.split_frame(bytes(self._buffer))
            if frame is None:
                if consumed:
                    self.skipped_bytes += consumed
                    del self._buffer[:consumed]
                break
            self.skipped_bytes += consumed - len(frame)
            del self._buffer[:consumed]
            self.frames += 1
            out.append(frame)
        if len(self._buffer) > self._max_buffer:
            excess = len(self._buffer) - self._max_buffer
            self.skipped_bytes += excess
            del self._buffer[:excess]
        return out

    @property
    def pending(self) -> int:
        """Bytes held back while waiting for the rest of a frame."""
        return len(self._buffer)
