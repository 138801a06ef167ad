"""Virtual FTLab RD200M radon module: warm-up status, then normal; auto-transfer period.

Status byte: ``00`` for the first 200 s after power-on or reset, ``01`` until 1 h, then
``02`` (normal). ``speed`` runs the sensor's clock faster (60: a minute per second) so tests
can go through warm-up and auto-transfer periods quickly. Reset has no reply and restarts
the warm-up. Auto-transfer is off until the host sets a period.
"""

from __future__ import annotations

from airq_core.protocols import rd200m as proto
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander

PREHEAT_S, WARMUP_S = 200.0, 3600.0


class VirtualRD200M:
    baudrate = proto.BAUDRATE

    def __init__(
        self,
        sensor: str = "rd200m",
        seed: int = 0,
        pci_l: float = 2.0,
        speed: float = 1.0,
        started: float | None = None,
    ) -> None:
        self.sensor = sensor
        self.speed = speed
        self.started = started
        self.period_min = 0  # auto-transfer off
        self._next = 0.0
        self._host = HostCommands(proto.split_command)
        self._value = Wander(pci_l, pci_l * 0.5, 0.0, 99.99, seed=seed, decimals=2)
        self.emitted: list[tuple[float, Sample]] = []
        self.commands: list[int] = []

    def _elapsed(self, now: float) -> float:
        if self.started is None:
            self.started = now
        return (now - self.started) * self.speed

    def _data(self, now: float) -> bytes:
        elapsed = self._elapsed(now)
        if elapsed < PREHEAT_S:
            status = proto.STATUS_PREHEAT
        elif elapsed < WARMUP_S:
            status = proto.STATUS_WARMUP
        else:
            status = proto.STATUS_NORMAL
        frame = proto.encode_data(status, int(elapsed // 60), self._value.next(now))
        self.emitted.append((now, proto.decode(frame)))
        return frame

    def on_bytes(self, data: bytes, now: float) -> bytes:
        self._elapsed(now)
        out = b""
        for frame in self._host.feed(data):
            cmd, args = proto.parse_command(frame)
            self.commands.append(cmd)
            if cmd == proto.CMD_READ:
                out += self._data(now)
            elif cmd == proto.CMD_RESET:
                self.started = now
            elif cmd == proto.CMD_PERIOD and args:
                self.period_min = args[0]
                self._next = now + self.period_min * 60 / self.speed
        return out

    def tick(self, now: float) -> bytes:
        self._elapsed(now)
        if not self.period_min or now < self._next:
            return b""
        self._next = max(self._next, now - 1) + self.period_min * 60 / self.speed
        return self._data(now)
