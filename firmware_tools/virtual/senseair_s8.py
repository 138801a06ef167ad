"""Virtual Senseair S8: a Modbus RTU slave with the S8 register map (see the protocol module).

Answers requests to ``FE`` (any address) or to its own ``address``, with the request's
address in the reply. Unknown registers get exception 2 (illegal data address), bad values
exception 3. A background calibration (HR2 = 0x7C06) makes the current reading 400 ppm and
sets acknowledgement bit 5; a zero calibration (0x7C07) sets bit 6. ``meter_status`` can be
set by a test to raise status flags.
"""

from __future__ import annotations

from airq_core.protocols import modbus
from airq_core.protocols import senseair_s8 as proto
from airq_core.protocols.commands import modbus as modbus_cmd
from airq_core.readings import Sample
from firmware_tools.virtual.host import HostCommands
from firmware_tools.virtual.values import Wander


class VirtualS8:
    baudrate = proto.BAUDRATE

    def __init__(
        self, sensor: str = "senseair_s8", seed: int = 0, co2: float = 650.0, address: int = 0x68
    ) -> None:
        self.sensor = sensor
        self.address = address
        self.meter_status = 0
        self.abc_period = 180
        self.ack = 0
        self._offset = 0.0
        self._host = HostCommands(lambda b: modbus.split_request(b, self.address))
        self._co2 = Wander(co2, co2 * 0.3, 350.0, 2000.0, seed=seed, decimals=0)
        self.emitted: list[tuple[float, Sample]] = []
        self.requests: list[tuple[int, int, int]] = []

    def _co2_now(self, now: float) -> int:
        return max(0, round(self._co2.next(now) + self._offset))

    def _read_input(self, register: int, count: int, now: float) -> list[int] | None:
        regs = {0: self.meter_status, 1: 0, 2: 0, 0x15: 0, 0x19: 0, 0x1A: 0x0101}
        regs |= {0x1B: 0x0001, 0x1C: 0x0100, 0x1D: 0x1234, 0x1E: 0x5678}
        if register <= 3 < register + count:
            regs[3] = self._co2_now(now)
        wanted = range(register, register + count)
        return [regs[r] for r in wanted] if all(r in regs for r in wanted) else None

    def _handle(self, address: int, function: int, register: int, value: int, now: float) -> bytes:
        if function == modbus.READ_INPUT:
            regs = self._read_input(register, value, now)
            if regs is None:
                return modbus.exception_response(address, function, 2)
            reply = modbus.read_response(address, function, regs)
            if register + value - 1 == proto.IR_CO2 and value in (1, 4):
                self.emitted.append((now, proto.decode(reply)))
            return reply
        if function == modbus.READ_HOLDING:
            holding = {proto.HR_ACK: self.ack, proto.HR_SPECIAL: 0}
            holding[proto.HR_ABC_PERIOD] = self.abc_period
            if value != 1 or register not in holding:
                return modbus.exception_response(address, function, 2)
            return modbus.read_response(address, function, [holding[register]])
        echo = modbus_cmd.write_single_register(address, register, value)
        if register == proto.HR_ACK:
            self.ack = value
        elif register == proto.HR_SPECIAL and value == proto.BACKGROUND_CALIBRATION:
            self._offset += 400 - self._co2_now(now)
            self.ack |= proto.ACK_BACKGROUND_CALIBRATION
        elif register == proto.HR_SPECIAL and value == proto.ZERO_CALIBRATION:
            self.ack |= proto.ACK_ZERO_CALIBRATION
        elif register == proto.HR_ABC_PERIOD and value <= proto.MAX_ABC_PERIOD_H:
            self.abc_period = value
        elif register in (proto.HR_SPECIAL, proto.HR_ABC_PERIOD):
            return modbus.exception_response(address, function, 3)
        else:
            return modbus.exception_response(address, function, 2)
        return echo

    def on_bytes(self, data: bytes, now: float) -> bytes:
        out = b""
        for frame in self._host.feed(data):
            address, function, register, value = modbus.parse_request(frame)
            self.requests.append((function, register, value))
            out += self._handle(address, function, register, value, now)
        return out

    def tick(self, now: float) -> bytes:
        return b""
