"""Virtual Winsen MH-Z19B: answers reads; ABC, zero calibration and range commands.

Pre-heat: during the first ``preheat_s`` seconds (180 s on the real sensor) every read
returns the fixed ``preheat_ppm``. Real sensors differ by firmware (410 or 500 ppm, 388 then
555 ppm, or zeros are all reported); a fixed 410 ppm is the default here, so a gateway that
does not discard the first 3 minutes shows a tell-tale flat line.
Config commands are answered with ``FF cmd 00 … cs``: [UNVERIFIED] on the real sensor.
Zero calibration makes the current reading 400 ppm.
"""

from __future__ import annotations

from airq_core.protocols import mhz19 as proto
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander


class VirtualMHZ19B:
    baudrate = proto.BAUDRATE

    def __init__(
        self,
        sensor: str = "mhz19b",
        seed: int = 0,
        co2: float = 650.0,
        preheat_s: float = proto.PREHEAT_S,
        preheat_ppm: int = 410,
        started: float | None = None,
    ) -> None:
        self.sensor = sensor
        self.preheat_s = preheat_s
        self.preheat_ppm = preheat_ppm
        self.started = started
        self.abc = True  # factory default
        self.range = 5000
        self._offset = 0.0
        self._host = HostCommands(proto.split_command)
        self._co2 = Wander(co2, co2 * 0.3, 300.0, 5000.0, seed=seed, decimals=0)
        self._temp = Wander(26.0, 2.0, 0.0, 60.0, seed=seed + 1, decimals=0)
        self.emitted: list[tuple[float, Sample]] = []
        self.commands: list[int] = []

    def _read(self, now: float) -> bytes:
        if self.started is None:
            self.started = now
        if now < self.started + self.preheat_s:
            co2 = self.preheat_ppm
        else:
            co2 = round(min(self.range, max(0.0, self._co2.next(now) + self._offset)))
        frame = proto.encode_read_reply(co2, round(self._temp.next(now)))
        self.emitted.append((now, proto.decode(frame)))
        return frame

    def on_bytes(self, data: bytes, now: float) -> bytes:
        if self.started is None:
            self.started = now
        out = b""
        for frame in self._host.feed(data):
            cmd, args = proto.parse_command(frame)
            self.commands.append(cmd)
            if cmd == proto.CMD_READ:
                out += self._read(now)
                continue
            if cmd == proto.CMD_ABC:
                self.abc = args[0] == 0xA0
            elif cmd == proto.CMD_ZERO:
                self._offset = 400.0 - self._co2.next(now)
            elif cmd == proto.CMD_RANGE:
                requested = int.from_bytes(args[3:5], "big")
                if requested in proto.RANGES:
                    self.range = requested
            out += proto.encode_reply(cmd)
        return out

    def tick(self, now: float) -> bytes:
        if self.started is None:
            self.started = now  # power-on
        return b""
