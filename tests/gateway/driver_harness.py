"""A gateway driver wired to a virtual sensor on a real pty, as the SensorRunner wires it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airq_core.readings import Sample
from airq_core.sensors import SENSORS
from firmware_tools.virtual import PtySensor, make_emulator
from gateway.config import SensorConfig
from gateway.drivers import DRIVERS, Driver
from gateway.serial_link import SerialLink


class Rig:
    def __init__(self, emulator: Any, pty: PtySensor, link: SerialLink, cfg: SensorConfig) -> None:
        self.emu = emulator
        self.pty = pty
        self.link = link
        self.samples: list[Sample] = []  # what the driver emitted
        self.stop = threading.Event()  # the gateway's "stopping" event
        self.driver: Driver = DRIVERS[cfg.type](cfg, link, self.samples.append, self.stop.wait)

    @property
    def emitted(self) -> list[Sample]:
        """Every measurement the virtual sensor sent, in order."""
        return [s for _, s in self.emu.emitted]


@contextmanager
def driver_rig(sensor: str, emulator: dict[str, Any] | None = None, **cfg: Any) -> Iterator[Rig]:
    """``emulator``: options of the virtual sensor; ``cfg``: SensorConfig fields."""
    emu = make_emulator(sensor, **(emulator or {}))
    pty = PtySensor(emu).start()
    model = SENSORS[sensor]
    assert model.protocol is not None
    link = SerialLink(pty.port, model.protocol.BAUDRATE, model.protocol)
    try:
        link.open()
        yield Rig(emu, pty, link, SensorConfig(type=sensor, port=pty.port, **cfg))
    finally:
        link.close()
        pty.close()
