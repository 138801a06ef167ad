"""Driver base class."""

from __future__ import annotations

from collections.abc import Callable

from airq_core.readings import Sample
from gateway.config import SensorConfig
from gateway.serial_link import SerialLink


class SilentSensorError(RuntimeError):
    """The sensor sent nothing usable in time: check its wiring and power (5 V for PM fans)."""


class Driver:
    default_warmup: float = 0.0

    def __init__(
        self,
        cfg: SensorConfig,
        link: SerialLink,
        emit: Callable[[Sample], None],
        wait: Callable[[float], bool],
    ) -> None:
        self.cfg = cfg
        self.link = link
        self.emit = emit
        self.wait = wait

    @property
    def warmup(self) -> float:
        return self.default_warmup if self.cfg.warmup is None else self.cfg.warmup

    @property
    def reply_timeout(self) -> float:
        return 2.0

    def setup(self) -> None:
        """Called each time the port (re)opens."""

    def cycle(self) -> None:
        raise NotImplementedError
