"""Sensirion SCD30 driver (Modbus RTU): continuous measurement, data-ready, read.

Setup, each time the port opens: automatic self-calibration as configured (``abc``; left
alone when unset, written only when it differs), start continuous measurement with the
ambient pressure :attr:`Scd30Driver.pressure_mbar` (0: no compensation, the default — a
station of the Hauts-de-France plain sits below 300 m, where the error stays within the
sensor's accuracy; [UNVERIFIED] figure), then read the sensor's measurement interval (2 s
from the factory; left as it is, since changing it affects the calibration).

Each cycle polls data-ready every ``poll_delay`` seconds for up to 1.5 measurement intervals
(+1 s), then reads the measurement (CO₂ ppm, °C, % RH). Never ready in that time: the sensor
was probably reset, so the start command is sent again and the cycle ends without a sample.
``warmup`` (default 0) drops the readings of the first seconds after the port opens.
"""

from __future__ import annotations

import logging
import time

from airq_core.protocols import modbus
from airq_core.protocols import scd30 as proto
from airq_core.protocols.commands import modbus as modbus_cmd
from airq_core.protocols.commands import scd30 as cmd
from gateway.drivers.base import Driver, modbus_reply

log = logging.getLogger(__name__)


class Scd30Driver(Driver):
    pressure_mbar = 0  # ambient pressure compensation, 700-1400 mbar; 0 = none
    poll_delay = 0.25
    measurement_interval = 2.0  # the sensor's own interval, read in setup

    def _write(self, frame: bytes, register: int) -> bool:
        echo = self.request(frame, modbus_reply(modbus.WRITE_SINGLE, register=register))
        if echo is None:
            raise self.silent("does not answer")
        try:
            modbus.parse_response(echo, "SCD30")
        except modbus.ModbusExceptionError as exc:
            log.warning("%s refused a write to 0x%04X: %s", self.label, register, exc)
            return False
        return True

    def _read_register(self, register: int) -> int | None:
        frame = self.request(
            modbus_cmd.read_holding_registers(proto.ADDRESS, register, 1),
            modbus_reply(modbus.READ_HOLDING, nbytes=2),
        )
        if frame is None:
            raise self.silent("does not answer")
        try:
            return modbus.parse_response(frame, "SCD30").registers[0]
        except modbus.ModbusExceptionError as exc:
            log.warning("%s refused to read 0x%04X: %s", self.label, register, exc)
            return None

    def _start(self) -> None:
        self._write(cmd.start(self.pressure_mbar), proto.REG_START)

    def setup(self) -> None:
        abc = self.cfg.abc
        if abc is not None and self._read_register(proto.REG_ASC) != int(abc):
            self._write(cmd.asc(abc), proto.REG_ASC)
        self._start()
        interval = self._read_register(proto.REG_INTERVAL)
        if interval:
            self.measurement_interval = float(interval)

    def cycle(self) -> None:
        deadline = time.monotonic() + 1.5 * self.measurement_interval + 1.0
        while True:
            frame = self.request(cmd.data_ready(), modbus_reply(modbus.READ_HOLDING, nbytes=2))
            if frame is None:
                raise self.silent("does not answer")
            if proto.parse_data_ready(frame):
                break
            if time.monotonic() >= deadline:
                log.info("%s has no new measurement: starting it again", self.label)
                self._start()
                return
            if self.wait(self.poll_delay):
                return
        self.read_and_emit(cmd.read(), modbus_reply(modbus.READ_HOLDING, nbytes=12), proto.decode)
