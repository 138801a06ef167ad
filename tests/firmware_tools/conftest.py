"""Fixtures for the virtual-sensor tests: an emulator on a real pty, read with pyserial."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import serial

from firmware_tools.virtual.base import Emulator, PtySensor

Split = Callable[[bytes], tuple[bytes | None, int]]


class Line:
    """The host end of a serial line to a virtual sensor."""

    def __init__(self, pty: PtySensor, port: serial.Serial) -> None:
        self.pty = pty
        self.port = port
        self._rest = b""

    def send(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def frames(self, split: Split, count: int, timeout: float = 5.0) -> list[bytes]:
        """Read until ``count`` frames are split out of the line (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        buf, out = self._rest, []
        while True:
            while len(out) < count:
                frame, consumed = split(buf)
                buf = buf[consumed:]
                if frame is None:
                    break
                out.append(frame)
            if len(out) >= count:
                self._rest = buf
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(out)} of {count} frames; pending {buf.hex(' ')}")
            buf += self.port.read(self.port.in_waiting or 1)

    def until(self, split: Split, wanted: Callable[[bytes], bool], timeout: float = 3.0) -> bytes:
        """Skip frames until one is ``wanted`` (e.g. the ack behind frames in flight)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.frames(split, 1, max(0.0, deadline - time.monotonic()))[0]
            if wanted(frame):
                return frame

    def ask(self, request: bytes, split: Split, timeout: float = 3.0) -> bytes:
        """Send ``request`` and return the first frame that comes back."""
        self.send(request)
        return self.frames(split, 1, timeout)[0]

    def quiet(self, duration: float) -> bytes:
        """Everything the sensor sends during ``duration`` seconds (b"" for silence)."""
        deadline = time.monotonic() + duration
        got = self._rest
        self._rest = b""
        while time.monotonic() < deadline:
            got += self.port.read(self.port.in_waiting or 1)
        return got

    def drain(self) -> None:
        self._rest = b""
        self.port.reset_input_buffer()


@pytest.fixture
def line() -> Iterator[Callable[[Emulator], Line]]:
    """``line(emulator)`` runs the emulator on a pty and opens its port with pyserial."""
    with ExitStack() as stack:

        def open_line(emulator: Emulator) -> Line:
            pty = stack.enter_context(PtySensor(emulator, tick_s=0.01))
            port = stack.enter_context(serial.Serial(pty.port, emulator.baudrate, timeout=0.05))
            return Line(pty, port)

        yield open_line
