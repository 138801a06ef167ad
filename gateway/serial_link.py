"""A serial port carrying one sensor's frames (pyserial), with the protocol's FrameStream."""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from collections.abc import Callable
from types import ModuleType

import serial

from airq_core.protocols import FrameStream

log = logging.getLogger(__name__)


class PortError(OSError):
    """The serial port cannot be used; ``hint`` says how a person can fix it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def explain_open_error(port: str, exc: Exception) -> PortError:
    """Turn pyserial/OS errors into messages a workshop can act on."""
    err = getattr(exc, "errno", None)
    text = str(exc)
    if err == errno.ENOENT or "No such file" in text:
        return PortError(
            f"port {port} not found",
            "check the USB cable (some cables carry power only) and the port name "
            "(ls /dev/ttyUSB* /dev/ttyACM*)",
        )
    if err == errno.EACCES or "Permission denied" in text:
        return PortError(
            f"permission denied on {port}",
            "add your user to the dialout group: sudo usermod -aG dialout $USER, "
            "then log out and back in",
        )
    if err == errno.EBUSY or "busy" in text.lower():
        return PortError(f"port {port} is busy", "another program uses it; close it first")
    return PortError(f"cannot open {port}: {text}", "")


class SerialLink:
    def __init__(self, port: str, baudrate: int, protocol: ModuleType) -> None:
        self.port = port
        self.baudrate = baudrate
        self.protocol = protocol
        self.stream = FrameStream(protocol)
        self._ser: serial.Serial | None = None

    def open(self) -> None:
        try:
            self._ser = serial.Serial(self.port, self.baudrate, timeout=0.05, write_timeout=2)
            self._ser.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            self._ser = None
            raise explain_open_error(self.port, exc) from exc
        self.stream = FrameStream(self.protocol)

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def close(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._ser.close()
            self._ser = None

    def send(self, data: bytes) -> None:
        assert self._ser is not None
        try:
            self._ser.write(data)
            self._ser.flush()
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"write to {self.port} failed: {exc}") from exc

    def read_frames(self, timeout: float) -> list[bytes]:
        """Frames available within ``timeout`` seconds (returns as soon as there is one)."""
        assert self._ser is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                n = self._ser.in_waiting
                data = self._ser.read(max(1, min(n, 4096)))
            except (serial.SerialException, OSError, TypeError) as exc:
                raise PortError(f"read from {self.port} failed: {exc}") from exc
            frames = self.stream.feed(data) if data else []
            if frames or time.monotonic() >= deadline:
                return frames

    def wait_for(self, want: Callable[[bytes], bool], timeout: float) -> bytes | None:
        """The first frame for which ``want(frame)`` is true, within ``timeout`` seconds.
        Other frames are dropped (e.g. data frames interleaved with a command reply)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for f in self.read_frames(left):
                if want(f):
                    return f
