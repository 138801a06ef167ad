"""Pty runner and the emulator registry (read from ``airq_core.sensors.SENSORS``)."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from airq_core.sensors import SENSORS, load
from firmware_tools.virtual.host import Emulator, HostCommands

__all__ = ["EMULATORS", "Emulator", "HostCommands", "PtySensor", "make_emulator"]

log = logging.getLogger(__name__)


def _emulator_class(sensor: str) -> Callable[..., Emulator]:
    spec = SENSORS.get(sensor)
    if spec is None or spec.emulator is None:
        raise KeyError(sensor)
    factory = load(spec.emulator)
    if not callable(factory):
        raise TypeError(f"{spec.emulator} (virtual {sensor}) is not callable")
    return factory


class _Emulators(Mapping[str, Callable[..., Emulator]]):
    """Sensor model -> emulator class, read from the registry (``SENSORS[model].emulator``)
    and imported on first use. A class is built with ``sensor=<model>`` and its options."""

    def __getitem__(self, sensor: str) -> Callable[..., Emulator]:
        return _emulator_class(sensor)

    def __iter__(self) -> Iterator[str]:
        return (name for name, spec in SENSORS.items() if spec.emulator is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


EMULATORS: Mapping[str, Callable[..., Emulator]] = _Emulators()


def make_emulator(sensor: str, **options: Any) -> Emulator:
    """A virtual ``sensor`` built with ``options`` (seed, period, warm-up…)."""
    try:
        factory = EMULATORS[sensor]
    except KeyError:
        raise ValueError(
            f"no virtual sensor for {sensor!r}; available: {', '.join(sorted(EMULATORS))}"
        ) from None
    return factory(sensor=sensor, **options)


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
