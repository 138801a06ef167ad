"""Virtual Sensirion SPS30 (UART, SHDLC): idle, measurement and sleep modes.

* Idle after power-on or reset. ``start`` (idle only) begins measuring: a new measurement
  every second; ``read`` returns it once, then an empty reply until the next one.
* ``read`` and ``fan cleaning`` outside measurement mode, ``start`` while measuring and
  ``sleep`` outside idle are refused with STATE 0x43, as the datasheet describes.
* Asleep, the UART is off: the first byte received (send :data:`commands.sps30.WAKE_PULSE`) only
  switches it on for 100 ms, and only the wake-up command is answered.
"""

from __future__ import annotations

from airq_core.protocols import sps30 as proto
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander

IDLE, MEASURING, SLEEPING = "idle", "measuring", "sleeping"


class VirtualSPS30:
    baudrate = proto.BAUDRATE

    def __init__(
        self,
        sensor: str = "sps30",
        seed: int = 0,
        period: float = 1.0,
        pm2_5: float = 9.0,
        serial: str = "A1B2C3D4E5F6",
        warmup_s: float = 0.0,
    ) -> None:
        self.sensor = sensor
        self.period = period
        self.serial = serial
        self.warmup_s = warmup_s  # after "start measurement", reads return all zeros
        self._started_at = 0.0
        self.state = IDLE
        self._uart_on_until = 0.0
        self._next = 0.0
        self._fresh = False
        self._last = b""
        self._host = HostCommands(proto.split_command, max_buffer=1024)
        self._pm25 = Wander(pm2_5, pm2_5 * 0.6, 0.0, 999.0, seed=seed, decimals=3)
        self.emitted: list[tuple[float, Sample]] = []
        self.commands: list[int] = []

    def _measure(self, now: float) -> None:
        pm25 = self._pm25.next(now)
        values = {
            "pm1": pm25 * 0.55,
            "pm2_5": pm25,
            "pm4": pm25 * 1.34,
            "pm10": pm25 * 1.4,
            "nc0_5": pm25 * 2.8,
            "nc1": pm25 * 3.9,
            "nc2_5": pm25 * 4.4,
            "nc4": pm25 * 4.48,
            "nc10": pm25 * 4.49,
            "tps": 0.6 + pm25 / 50,
        }
        if now < self._started_at + self.warmup_s:
            values = dict.fromkeys(values, 0.0)
        self._last = proto.encode_measurement(values)
        self._fresh = True

    def _handle(self, cmd: int, data: bytes, now: float) -> bytes:
        refuse = proto.encode_reply(cmd, state=proto.STATE_NOT_ALLOWED)
        if cmd == proto.CMD_START:
            if self.state != IDLE:
                return refuse
            self.state = MEASURING
            self._started_at = now
            self._next = now + self.period
            return proto.encode_reply(cmd)
        if cmd == proto.CMD_STOP:
            self.state = IDLE
            return proto.encode_reply(cmd)
        if cmd == proto.CMD_READ:
            if self.state != MEASURING:
                return refuse
            self.tick(now)
            if not self._fresh:
                return proto.encode_reply(cmd)
            self._fresh = False
            self.emitted.append((now, proto.decode(self._last)))
            return self._last
        if cmd == proto.CMD_SLEEP:
            if self.state != IDLE:
                return refuse
            self.state = SLEEPING
            return proto.encode_reply(cmd)
        if cmd == proto.CMD_WAKE:
            self.state = IDLE
            return proto.encode_reply(cmd)
        if cmd == proto.CMD_FAN_CLEANING:
            return proto.encode_reply(cmd) if self.state == MEASURING else refuse
        if cmd == proto.CMD_DEVICE_INFO:
            text = self.serial if data[:1] == b"\x03" else "00080000"
            return proto.encode_reply(cmd, text.encode() + b"\0")
        if cmd == proto.CMD_RESET:
            self.state = IDLE
            self._fresh = False
            return proto.encode_reply(cmd)
        return proto.encode_reply(cmd, state=0x02)  # unknown command

    def on_bytes(self, data: bytes, now: float) -> bytes:
        if self.state == SLEEPING and now > self._uart_on_until:
            self._uart_on_until = now + 0.1  # this first byte only wakes the UART
            self._host.clear()
            data = data[1:]
        out = b""
        for frame in self._host.feed(data):
            _, cmd, payload = proto.parse_command(frame)
            self.commands.append(cmd)
            if self.state == SLEEPING and cmd != proto.CMD_WAKE:
                continue
            out += self._handle(cmd, payload, now)
        return out

    def tick(self, now: float) -> bytes:
        if self.state == MEASURING and now >= self._next:
            self._next = max(self._next + self.period, now - self.period)
            self._measure(now)
        return b""  # the SPS30 never talks unasked
