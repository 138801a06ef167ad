"""Senseair S8 driver (Modbus RTU): CO₂ and meter status in one read, ABC as configured.

Each cycle reads input registers IR1..IR4 in one request: IR4 is the CO₂ (ppm) and the IR1
meter-status bits become the sample's flags (``out_of_range``, ``fatal_error``…), so a
reading the sensor itself doubts is kept but marked. A Modbus exception reply is a decode
error (counted by the gateway); no reply at all is a silent sensor.

ABC (automatic baseline correction, factory period 180 h) is left as the sensor has it
unless the config says ``abc = false`` (period set to 0) or ``abc = true`` (180 h when it
was off). The period is read first and written only when it must change: it lives in the
sensor's EEPROM. ``warmup`` (default 0) drops the readings of the first seconds after the
port opens, for sensors powered with their port.
"""

from __future__ import annotations

import logging

from airq_core.protocols import modbus
from airq_core.protocols import senseair_s8 as proto
from airq_core.protocols.commands import senseair_s8 as cmd
from gateway.drivers.base import Driver, modbus_reply

log = logging.getLogger(__name__)

FACTORY_ABC_PERIOD_H = 180


class SenseairS8Driver(Driver):
    def _set_abc(self, on: bool) -> None:
        frame = self.request(cmd.read_abc_period(), modbus_reply(modbus.READ_HOLDING))
        if frame is None:
            raise self.silent("does not answer")
        try:
            period = proto.parse_abc_period(frame)
        except modbus.ModbusExceptionError as exc:
            log.warning("%s: cannot read the ABC period: %s", self.label, exc)
            return
        if bool(period) == on:
            return
        hours = FACTORY_ABC_PERIOD_H if on else 0
        echo = self.request(
            cmd.set_abc_period(hours),
            modbus_reply(modbus.WRITE_SINGLE, register=proto.HR_ABC_PERIOD),
        )
        try:
            ok = echo is not None and proto.parse_abc_period(echo) == hours
        except modbus.ModbusExceptionError:
            ok = False
        if not ok:
            log.warning("%s: could not set the ABC period to %d h", self.label, hours)
        else:
            log.info("%s: ABC period set to %d h", self.label, hours)

    def setup(self) -> None:
        abc = self.cfg.abc
        if abc is not None:
            self._set_abc(abc)

    def cycle(self) -> None:
        self.drain()
        self.read_and_emit(cmd.read_status(), modbus_reply(modbus.READ_INPUT), proto.decode)
