"""What every virtual sensor shares: the emulator interface and the host-command splitter.

Emulator modules import this module only (not the pty runner in ``base``), so that the runner
can find them through the sensor registry without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from airq_core.readings import Sample

__all__ = ["Emulator", "HostCommands"]


class Emulator(Protocol):
    sensor: str
    baudrate: int
    emitted: list[tuple[float, Sample]]

    def on_bytes(self, data: bytes, now: float) -> bytes: ...

    def tick(self, now: float) -> bytes: ...


class HostCommands:
    """Bytes written by the host (the gateway) -> complete command frames, in order.

    ``split`` is the protocol's ``split_command``-style function; garbage is skipped and the
    buffer is bounded, like a sensor's own receive buffer.
    """

    def __init__(
        self, split: Callable[[bytes], tuple[bytes | None, int]], max_buffer: int = 256
    ) -> None:
        self._split = split
        self._max = max_buffer
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buf = (self._buf + data)[-self._max :]
        frames: list[bytes] = []
        while True:
            frame, consumed = self._split(self._buf)
            self._buf = self._buf[consumed:]
            if frame is None:
                return frames
            frames.append(frame)

    def clear(self) -> None:
        self._buf = b""
