"""Virtual Sensirion SCD30 on Modbus (address 0x61): continuous measurement, data ready.

After ``start`` (0x0036) a measurement is ready every ``interval`` seconds (0x0025, default
2 s); data ready (0x0027) reads 1 until the measurement (0x0028, 6 registers) is read.
Reading the measurement before any is ready returns the last one (zeros before the first).
``stop`` is 0x0037 = 1. ASC (0x003A) is on by default. Unknown registers: exception 2.
"""

from __future__ import annotations

import struct

from airq_core.protocols import modbus
from airq_core.protocols import scd30 as proto
from airq_core.protocols.commands import modbus as modbus_cmd
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander

FIRMWARE = 0x0342


class VirtualSCD30:
    baudrate = proto.BAUDRATE

    def __init__(
        self, sensor: str = "scd30", seed: int = 0, co2: float = 650.0, interval: int = 2
    ) -> None:
        self.sensor = sensor
        self.interval = interval
        self.measuring = False
        self.pressure = 0
        self.asc = 1
        self._next = 0.0
        self._ready = False
        self._last = (0.0, 0.0, 0.0)
        self._host = HostCommands(lambda b: modbus.split_request(b, proto.ADDRESS))
        self._co2 = Wander(co2, co2 * 0.3, 400.0, 5000.0, seed=seed, decimals=2)
        self._temp = Wander(21.0, 3.0, -10.0, 50.0, seed=seed + 1, decimals=2)
        self._rh = Wander(50.0, 15.0, 0.0, 100.0, seed=seed + 2, decimals=2)
        self.emitted: list[tuple[float, Sample]] = []
        self.requests: list[tuple[int, int, int]] = []

    def _holding(self) -> dict[int, int]:
        words = struct.unpack(">6H", struct.pack(">3f", *self._last))
        regs = {proto.REG_MEASUREMENT + k: w for k, w in enumerate(words)}
        regs |= {proto.REG_INTERVAL: self.interval, proto.REG_DATA_READY: int(self._ready)}
        regs |= {proto.REG_ASC: self.asc, proto.REG_START: self.pressure, 0x0020: FIRMWARE}
        return regs

    def _read(self, register: int, count: int, now: float) -> bytes:
        self.tick(now)
        regs = self._holding()
        wanted = range(register, register + count)
        if not all(r in regs for r in wanted):
            return modbus.exception_response(proto.ADDRESS, modbus.READ_HOLDING, 2)
        reply = modbus.read_response(proto.ADDRESS, modbus.READ_HOLDING, [regs[r] for r in wanted])
        if register == proto.REG_MEASUREMENT and count == 6:
            self._ready = False
            self.emitted.append((now, proto.decode(reply)))
        return reply

    def _write(self, register: int, value: int, now: float) -> bytes:
        if register == proto.REG_START and (value == 0 or 700 <= value <= 1400):
            self.pressure = value
            if not self.measuring:
                self.measuring = True
                self._next = now + self.interval
        elif register == proto.REG_STOP and value == 1:
            self.measuring = False
        elif register == proto.REG_INTERVAL and 2 <= value <= 1800:
            self.interval = value
        elif register == proto.REG_ASC and value in (0, 1):
            self.asc = value
        elif register in (proto.REG_START, proto.REG_STOP, proto.REG_INTERVAL, proto.REG_ASC):
            return modbus.exception_response(proto.ADDRESS, modbus.WRITE_SINGLE, 3)
        else:
            return modbus.exception_response(proto.ADDRESS, modbus.WRITE_SINGLE, 2)
        return modbus_cmd.write_single_register(proto.ADDRESS, register, value)

    def on_bytes(self, data: bytes, now: float) -> bytes:
        out = b""
        for frame in self._host.feed(data):
            address, function, register, value = modbus.parse_request(frame)
            self.requests.append((function, register, value))
            if address != proto.ADDRESS:
                continue
            if function == modbus.READ_HOLDING:
                out += self._read(register, value, now)
            elif function == modbus.WRITE_SINGLE:
                out += self._write(register, value, now)
            else:
                out += modbus.exception_response(proto.ADDRESS, function, 1)
        return out

    def tick(self, now: float) -> bytes:
        if self.measuring and now >= self._next:
            self._next = max(self._next + self.interval, now - self.interval)
            self._last = (self._co2.next(now), self._temp.next(now), self._rh.next(now))
            self._ready = True
        return b""
