"""Pty runner and the emulator registry."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from typing import Any, Protocol

from airq_core.readings import Sample

log = logging.getLogger(__name__)


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


def _sds011(**kw: Any) -> Emulator:
    from firmware_tools.virtual.sds011 import VirtualSDS011

    return VirtualSDS011(**kw)


def _pms(sensor: str) -> Callable[..., Emulator]:
    def factory(**kw: Any) -> Emulator:
        from firmware_tools.virtual.plantower import VirtualPMS

        return VirtualPMS(sensor=sensor, **kw)

    return factory


def _sps30(**kw: Any) -> Emulator:
    from firmware_tools.virtual.sps30 import VirtualSPS30

    return VirtualSPS30(**kw)


def _mhz19b(**kw: Any) -> Emulator:
    from firmware_tools.virtual.mhz19 import VirtualMHZ19B

    return VirtualMHZ19B(**kw)


def _senseair_s8(**kw: Any) -> Emulator:
    from firmware_tools.virtual.senseair_s8 import VirtualS8

    return VirtualS8(**kw)


def _scd30(**kw: Any) -> Emulator:
    from firmware_tools.virtual.scd30 import VirtualSCD30

    return VirtualSCD30(**kw)


def _rd200m(**kw: Any) -> Emulator:
    from firmware_tools.virtual.rd200m import VirtualRD200M

    return VirtualRD200M(**kw)


def _zphs01b(**kw: Any) -> Emulator:
    from firmware_tools.virtual.zphs01b import VirtualZPHS01B

    return VirtualZPHS01B(**kw)


# name -> factory; a factory takes keyword options (seed, period, ...) and returns an emulator.
EMULATORS: dict[str, Callable[..., Emulator]] = {
    "sds011": _sds011,
    "pms5003": _pms("pms5003"),
    "pms7003": _pms("pms7003"),
    "sps30": _sps30,
    "mhz19b": _mhz19b,
    "senseair_s8": _senseair_s8,
    "scd30": _scd30,
    "rd200m": _rd200m,
    "zphs01b": _zphs01b,
}


def make_emulator(sensor: str, **options: Any) -> Emulator:
    try:
        factory = EMULATORS[sensor]
    except KeyError:
        raise ValueError(
            f"no virtual sensor for {sensor!r}; available: {', '.join(sorted(EMULATORS))}"
        ) from None
    return factory(**options)


class PtySensor:
    """Runs an emulator on a pseudo-terminal in a background thread.

    ``port`` is the slave device path (e.g. /dev/pts/7). ``close()`` stops the thread and closes
    the master, which the reader sees as a port that vanished (an unplugged cable);
    ``reopen()``-style tests create a new PtySensor.
    """

    def __init__(self, emulator: Emulator, tick_s: float = 0.02) -> None:
        self.emulator = emulator
        self._tick_s = tick_s
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        attrs = termios.tcgetattr(self._slave)
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.silent = False  # when True, the sensor sends nothing (a dead sensor)
        self._thread = threading.Thread(
            target=self._run, name=f"pty-{emulator.sensor}", daemon=True
        )

    def start(self) -> PtySensor:
        self._thread.start()
        return self

    def __enter__(self) -> PtySensor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inject(self, data: bytes) -> None:
        """Write raw bytes on the line (garbage, partial frames) as if the sensor sent them."""
        with self._lock:
            os.write(self._master, data)

    def _write(self, data: bytes) -> None:
        if data and not self.silent:
            with self._lock:
                try:
                    os.write(self._master, data)
                except OSError:
                    log.debug("pty write failed", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], self._tick_s)
            except (OSError, ValueError):
                return
            now = time.time()
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if data:
                    self._write(self.emulator.on_bytes(data, now))
            self._write(self.emulator.tick(now))

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
