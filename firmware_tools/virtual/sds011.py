"""Virtual SDS011: active and query reporting modes, sleep/work, working period, firmware.

For ``warmup_s`` seconds after power-on or "work", data frames carry PM2.5 = PM10 = 0.0, as
a real sensor sends while its fan spins up."""

from __future__ import annotations

from airq_core.protocols import sds011 as proto
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander


class VirtualSDS011:
    baudrate = proto.BAUDRATE

    def __init__(
        self,
        sensor: str = "sds011",
        seed: int = 0,
        period: float = 1.0,
        device_id: bytes = b"\x58\xd9",
        pm2_5: float = 9.0,
        pm10: float = 16.0,
        warmup_s: float = 0.0,
    ) -> None:
        self.sensor = sensor
        self.period = period
        self.warmup_s = warmup_s
        self._woke_at: float | None = None
        self.device_id = device_id
        self.active = True  # factory default: active reporting
        self.working = True
        self.working_period = 0
        self._next = 0.0
        self._host = HostCommands(proto.split_command)
        self._pm25 = Wander(pm2_5, pm2_5 * 0.6, 0.0, 999.9, seed=seed)
        self._pm10 = Wander(pm10 - pm2_5, (pm10 - pm2_5) * 0.6, 0.0, 999.9, seed=seed + 1)
        self.emitted: list[tuple[float, Sample]] = []
        self.commands: list[int] = []

    def _measure(self, now: float) -> bytes:
        if self._woke_at is None:
            self._woke_at = now
        if now < self._woke_at + self.warmup_s:
            frame = proto.encode_data(0.0, 0.0, self.device_id)
        else:
            pm25 = self._pm25.next(now)
            pm10 = round(min(999.9, pm25 + self._pm10.next(now)), 1)
            frame = proto.encode_data(pm25, pm10, self.device_id)
        self.emitted.append((now, proto.decode(frame)))
        return frame

    def _reply(self, cmd: int, d1: int, d2: int) -> bytes:
        return proto.encode_reply(cmd, bytes([d1, d2, 0]), self.device_id)

    def on_bytes(self, data: bytes, now: float) -> bytes:
        if self._woke_at is None:
            self._woke_at = now
        out = b""
        for frame in self._host.feed(data):
            cmd, d1, d2, dev = proto.parse_command(frame)
            if dev not in (0xFFFF, int.from_bytes(self.device_id, "big")):
                continue
            self.commands.append(cmd)
            if not self.working and not (cmd == proto.CMD_SLEEP_WORK and d1 == 1 and d2 == 1):
                continue  # asleep: only the wake command is heard
            if cmd == proto.CMD_REPORTING_MODE:
                if d1 == 1:
                    self.active = d2 == 0
                out += self._reply(cmd, d1, 0 if self.active else 1)
            elif cmd == proto.CMD_QUERY:
                out += self._measure(now)
            elif cmd == proto.CMD_SLEEP_WORK:
                if d1 == 1:
                    if d2 == 1 and not self.working:
                        self._woke_at = now  # the fan starts again: warm-up frames first
                    self.working = d2 == 1
                    if self.working:
                        self._next = now + self.period
                out += self._reply(cmd, d1, 1 if self.working else 0)
            elif cmd == proto.CMD_WORKING_PERIOD:
                if d1 == 1:
                    self.working_period = d2
                out += self._reply(cmd, d1, self.working_period)
            elif cmd == proto.CMD_FIRMWARE:
                out += proto.encode_reply(cmd, bytes([26, 11, 21]), self.device_id)
        return out

    def tick(self, now: float) -> bytes:
        if not (self.active and self.working) or now < self._next:
            return b""
        self._next = max(self._next + self.period, now - self.period)
        return self._measure(now)
