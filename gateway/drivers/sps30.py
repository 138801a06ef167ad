"""Sensirion SPS30 driver (UART, SHDLC): start measurement once, read measured values.

Setup, each time the port opens: wake (a ``0xFF`` pulse, then wake-up: harmless when awake),
stop (back to idle from any state), start measurement (float output). Each cycle reads the
measured values; an empty reply (:class:`~airq_core.protocols.sps30.NoNewDataError`: the
sensor measures once a second) is read again every ``retry_delay`` seconds for up to
``no_data_timeout`` seconds. A "not allowed in current state" refusal (the sensor was reset
or lost power) restarts the measurement once and reads again.

The SPS30 is rated for more than 10 years of continuous measurement, so it keeps measuring
unless the interval is long (``interval >= max(300 s, warmup + 10 s)``, ``mode`` not
``active``): then it sleeps between readings — wake, start, ``warmup`` seconds (30 s
default: the start-up time the datasheet gives for low concentrations, [UNVERIFIED] here),
read, stop, sleep. This saves power (≈ 60 mA → < 0.1 mA) rather than the fan.

Fan cleaning is left to the sensor: it runs 10 s of full-speed fan every 168 h of
measurement by default (the auto-cleaning interval). The counter restarts when the sensor
loses power, and sleeping sensors may never reach it ([UNVERIFIED]); a station that sleeps
between readings, or that is power-cycled weekly, may need a manual cleaning
(``commands.sps30.fan_cleaning()``) — not done here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from airq_core.errors import DecodeError
from airq_core.protocols import sps30 as proto
from airq_core.protocols.commands import sps30 as cmd
from gateway.drivers.base import Driver

log = logging.getLogger(__name__)

SLEEP_MIN_INTERVAL = 300.0


def _reply_to(command: int) -> Callable[[bytes], bool]:
    def want(frame: bytes) -> bool:
        try:
            return proto.parse_reply(frame).command == command
        except DecodeError:
            return False

    return want


class Sps30Driver(Driver):
    default_warmup = 30.0
    no_data_timeout = 3.0
    retry_delay = 0.5

    @property
    def duty_cycle(self) -> bool:
        return self.cfg.mode != "active" and self.cfg.interval >= max(
            SLEEP_MIN_INTERVAL, self.warmup + 10
        )

    def _command(self, frame: bytes, command: int) -> proto.Reply | None:
        reply = self.request(frame, _reply_to(command))
        return None if reply is None else proto.parse_reply(reply)

    def _wake(self) -> None:
        self.link.send(cmd.WAKE_PULSE)  # a sleeping sensor's UART is off: this switches it on
        # An awake sensor may refuse wake-up or not answer: either is fine.
        self.request(cmd.wake(), _reply_to(proto.CMD_WAKE), attempts=1, timeout=0.5)

    def _start(self) -> None:
        reply = self._command(cmd.start(), proto.CMD_START)
        if reply is None:
            raise self.silent("does not answer the start command")
        if reply.state & ~proto.DEVICE_ERROR_BIT:
            log.warning("%s refused to start measuring (state 0x%02X)", self.label, reply.state)

    def _stop(self) -> None:
        if self._command(cmd.stop(), proto.CMD_STOP) is None:
            raise self.silent("does not answer commands")

    def setup(self) -> None:
        self._wake()
        self._stop()
        if self.duty_cycle:
            self._command(cmd.sleep(), proto.CMD_SLEEP)
            return
        self._start()
        self.wait(self.warmup)

    def _read(self) -> None:
        deadline = time.monotonic() + self.no_data_timeout
        restarted = False
        while True:
            frame = self.request(cmd.read(), _reply_to(proto.CMD_READ))
            if frame is None:
                raise self.silent("does not answer reads")
            try:
                sample = proto.decode(frame)
            except proto.NoNewDataError:
                if time.monotonic() >= deadline:
                    raise
            except proto.DeviceStateError as exc:
                if restarted or exc.state & ~proto.DEVICE_ERROR_BIT != proto.STATE_NOT_ALLOWED:
                    raise
                log.info("%s is not measuring (reset or power loss?): starting it", self.label)
                self._start()
                restarted = True
                deadline = time.monotonic() + self.no_data_timeout
            else:
                self.emit(sample)
                return
            if self.wait(self.retry_delay):
                return

    def close(self) -> None:
        self._stop()
        self._command(cmd.sleep(), proto.CMD_SLEEP)

    def cycle(self) -> None:
        if self.duty_cycle:
            self._wake()
            self._start()
            if self.wait(self.warmup):
                return
        self._read()
        if self.duty_cycle:
            self._stop()
            self._command(cmd.sleep(), proto.CMD_SLEEP)
