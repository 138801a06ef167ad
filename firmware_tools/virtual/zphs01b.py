"""Virtual Winsen ZPHS01B: answers the read request with a 26-byte reply."""

from __future__ import annotations

from airq_core.protocols import mhz19
from airq_core.protocols import zphs01b as proto
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander


class VirtualZPHS01B:
    baudrate = proto.BAUDRATE

    def __init__(
        self, sensor: str = "zphs01b", seed: int = 0, pm2_5: float = 9.0, co2: float = 650.0
    ) -> None:
        self.sensor = sensor
        self._host = HostCommands(mhz19.split_command)
        self._pm25 = Wander(pm2_5, pm2_5 * 0.6, 0.0, 999.0, seed=seed, decimals=0)
        self._co2 = Wander(co2, co2 * 0.3, 400.0, 5000.0, seed=seed + 1, decimals=0)
        self._temp = Wander(21.0, 3.0, -10.0, 50.0, seed=seed + 2)
        self._rh = Wander(50.0, 15.0, 0.0, 100.0, seed=seed + 3, decimals=0)
        self._no2 = Wander(2.0, 2.0, 0.0, 50.0, seed=seed + 4, decimals=0)  # raw, 0.01 ppm
        self.emitted: list[tuple[float, Sample]] = []
        self.commands: list[int] = []

    def _read(self, now: float) -> bytes:
        pm25 = self._pm25.next(now)
        frame = proto.encode_reply(
            (round(pm25 * 0.7), round(pm25), round(pm25 * 1.6)),
            round(self._co2.next(now)),
            1,
            self._temp.next(now),
            round(self._rh.next(now)),
            12,
            3,
            2,
            round(self._no2.next(now)),
        )
        self.emitted.append((now, proto.decode(frame)))
        return frame

    def on_bytes(self, data: bytes, now: float) -> bytes:
        out = b""
        for frame in self._host.feed(data):
            cmd, _ = mhz19.parse_command(frame)
            self.commands.append(cmd)
            if cmd == mhz19.CMD_READ:
                out += self._read(now)
        return out

    def tick(self, now: float) -> bytes:
        return b""
