"""Plantower PMS5003 / PMS7003 driver: passive mode with sleep/wake duty cycling.

The laser lasts about 8000 h, so, as with the SDS011, the sensor sleeps between readings when
``interval`` allows it (``interval >= warmup + 10 s``): wake it, let the fan run ``warmup``
seconds (30 s by default), set passive mode again, read one frame, put it back to sleep.
With a shorter interval it stays awake in passive mode and is read once per cycle;
``mode = "active"`` takes the sensor's own stream (the freshest frame each cycle).

Warm-up frames: right after power-on or wake the sensor sends frames whose 12 data words are
all zero (the protocol module flags them ``"warmup"``). Until the first frame with data after
each wake (or port opening) such frames are dropped and the read is retried every second for
up to ``settle_timeout`` seconds. Once the sensor has sent data, an all-zero frame is emitted
as decoded, ``"warmup"`` flag included: real air, however clean, still counts particles, and
the flag is the decoder's to set (the rollups leave flagged values out of the means).

The sample carries the configured model name (``pms5003`` or ``pms7003``): the frame does not
say which model sent it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from airq_core.protocols import plantower as proto
from airq_core.protocols.commands import plantower as cmd
from gateway.drivers.base import Driver


def _is_data(frame: bytes) -> bool:
    return len(frame) == proto.DATA_LEN


def _is_ack(command: int) -> Callable[[bytes], bool]:
    def want(frame: bytes) -> bool:
        return len(frame) == proto.ACK_LEN and frame[4] == command

    return want


class PlantowerDriver(Driver):
    default_warmup = 30.0
    settle_timeout = 10.0  # extra seconds to wait for data when frames are still all zero
    retry_delay = 1.0
    settled = False  # a frame with data arrived since the last wake (or port opening)

    @property
    def active(self) -> bool:
        return self.cfg.mode == "active"

    @property
    def duty_cycle(self) -> bool:
        return not self.active and self.cfg.interval >= self.warmup + 10

    def _passive(self) -> bool:
        return self.request(cmd.passive(), _is_ack(proto.CMD_MODE)) is not None

    def _wake(self) -> None:
        # A sleeping sensor hears only "wake"; it does not acknowledge it.
        self.link.send(cmd.wake())
        self.settled = False

    def _sleep(self) -> None:
        self.request(cmd.sleep(), _is_ack(proto.CMD_SLEEP))

    def close(self) -> None:
        self._sleep()

    def setup(self) -> None:
        self._wake()
        if self.active:
            self.link.send(cmd.active())
            if self.link.wait_for(_is_data, max(self.reply_timeout, 3.0)) is None:
                raise self.silent("sends no data")
        elif not self._passive():
            raise self.silent("does not answer commands")
        elif self.duty_cycle:
            self._sleep()
        if not self.duty_cycle:
            self.wait(self.warmup)  # the fan must flush the chamber before the first reading

    def _frame(self) -> bytes:
        if self.active:
            self.drain()  # the backlog since the last cycle: only a fresh frame counts
            frame = self.link.wait_for(_is_data, max(self.reply_timeout, 3.0))
            if frame is None:
                raise self.silent("sends no data")
            return frame
        frame = self.request(cmd.read(), _is_data)
        if frame is None:
            raise self.silent("does not answer reads")
        return frame

    def _read(self) -> None:
        deadline = time.monotonic() + self.settle_timeout
        while True:
            sample = proto.decode(self._frame(), sensor=self.cfg.type)
            if "warmup" not in sample.flags:
                self.settled = True
            if self.settled:  # after data, an all-zero frame is kept, flagged as decoded
                self.emit(sample)
                return
            self.drop(sample, "warm-up frame, all zero")
            if time.monotonic() >= deadline or self.wait(self.retry_delay):
                return

    def cycle(self) -> None:
        if self.duty_cycle:
            self._wake()
            if self.wait(self.warmup):
                return
            if not self._passive():  # wake may bring the sensor back in active mode
                raise self.silent("does not wake up")
        self._read()
        if self.duty_cycle:
            self._sleep()
