"""Virtual Plantower PMS5003 / PMS7003 / PMS5003T / PMS5003ST: active and passive modes,
sleep and wake. A ``pms5003t`` sends 4 size bins then temperature and humidity, a
``pms5003st`` 40-byte frames with formaldehyde, temperature and humidity.

* Active mode (factory default): one data frame every ``period`` seconds.
* Passive mode (``42 4D E1 00 00``): acked with ``42 4D 00 04 E1 00 …``; a frame per read.
* Sleep (``E4 00``): acked, no output, only the wake command is heard. Wake (``E4 01``) is
  not acked; frames resume (active mode).
* For ``warmup_s`` seconds after power-on or wake, frames carry an all-zero payload, as a
  real sensor does while its fan spins up.

CF=1 and atmospheric series are equal below 30 µg/m³ and CF=1 grows faster above: a made-up
relation (the real one is [UNVERIFIED]) that keeps the two series distinct in tests.
"""

from __future__ import annotations

from airq_core.protocols import plantower as proto
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander


class VirtualPMS:
    baudrate = proto.BAUDRATE

    def __init__(
        self,
        sensor: str = "pms5003",
        seed: int = 0,
        period: float = 1.0,
        warmup_s: float = 0.0,
        pm2_5: float = 9.0,
        pm10: float = 16.0,
        temperature: float = 19.5,
        humidity: float = 52.0,
    ) -> None:
        self.sensor = sensor
        self.temperature, self.humidity = temperature, humidity
        self.period = period
        self.warmup_s = warmup_s
        self.active = True
        self.awake = True
        self._woke_at: float | None = None
        self._next = 0.0
        self._host = HostCommands(proto.split_command)
        self._pm25 = Wander(pm2_5, pm2_5 * 0.6, 0.0, 999.0, seed=seed, decimals=0)
        self._coarse = Wander(pm10 - pm2_5, (pm10 - pm2_5) * 0.6, 0.0, 999.0, seed=seed + 1)
        self.emitted: list[tuple[float, Sample]] = []
        self.commands: list[tuple[int, int]] = []

    def _measure(self, now: float) -> bytes:
        if self._woke_at is None:
            self._woke_at = now
        if now < self._woke_at + self.warmup_s:
            frame = self._encode((0, 0, 0), (0, 0, 0), (0, 0, 0, 0, 0, 0))
        else:
            pm25 = self._pm25.next(now)
            coarse = self._coarse.next(now)
            atm = (round(pm25 * 0.7), round(pm25), round(pm25 + coarse))
            cf1 = tuple(v if v < 30 else round(30 + (v - 30) * 1.5) for v in atm)
            counts = (
                round(26 * pm25 + 2 * coarse),
                round(9 * pm25 + 2 * coarse),
                round(5.5 * pm25 + coarse),
                round(3.5 * pm25 + coarse),
                round(0.3 * coarse),
                round(0.1 * coarse),
            )
            frame = self._encode((cf1[0], cf1[1], cf1[2]), atm, counts)
        self.emitted.append((now, proto.decode(frame, self.sensor)))
        return frame

    def _encode(
        self,
        cf1: tuple[int, int, int],
        atm: tuple[int, int, int],
        counts: tuple[int, int, int, int, int, int],
    ) -> bytes:
        if self.sensor == "pms5003t":
            return proto.encode_t_data(cf1, atm, counts[:4], self.temperature, self.humidity)
        if self.sensor == "pms5003st":
            hcho = 15  # µg/m³
            return proto.encode_st_data(cf1, atm, counts, hcho, self.temperature, self.humidity)
        return proto.encode_data(cf1, atm, counts)

    def on_bytes(self, data: bytes, now: float) -> bytes:
        if self._woke_at is None:
            self._woke_at = now
        out = b""
        for frame in self._host.feed(data):
            cmd, value = proto.parse_command(frame)
            self.commands.append((cmd, value))
            if not self.awake and not (cmd == proto.CMD_SLEEP and value == 1):
                continue  # asleep: only the wake command is heard
            if cmd == proto.CMD_MODE:
                self.active = value == 1
                if self.active:
                    self._next = now
                else:
                    out += proto.encode_ack(cmd, value & 0xFF)
            elif cmd == proto.CMD_READ:
                out += self._measure(now)
            elif cmd == proto.CMD_SLEEP:
                if value == 0:
                    self.awake = False
                    out += proto.encode_ack(cmd, 0)
                elif not self.awake:
                    self.awake = True
                    self._woke_at = now
                    self._next = now + self.period
        return out

    def tick(self, now: float) -> bytes:
        if not (self.active and self.awake) or now < self._next:
            return b""
        self._next = max(self._next + self.period, now - self.period)
        return self._measure(now)
