"""Driver base class and the helpers every driver shares (request/reply, pre-heat, silence)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from airq_core.protocols import modbus
from airq_core.readings import Sample
from gateway.config import SensorConfig
from gateway.serial_link import SerialLink

log = logging.getLogger(__name__)


class SilentSensorError(RuntimeError):
    """The sensor sent nothing usable in time: check its wiring and power (5 V for PM fans)."""


class Driver:
    default_warmup: float = 0.0
    reply_timeout: float = 2.0  # seconds to wait for one reply (a request is tried twice)

    def __init__(
        self,
        cfg: SensorConfig,
        link: SerialLink,
        emit: Callable[[Sample], None],
        wait: Callable[[float], bool],
    ) -> None:
        self.cfg = cfg
        self.link = link
        self.emit = emit
        self.wait = wait
        self.opened_at = time.monotonic()  # a driver is built each time the port opens
        self.dropped = 0  # samples withheld on purpose (warm-up, pre-heat)

    def close(self) -> None:
        """Called when the gateway stops (the port still open): put the sensor to rest.
        PM sensors sleep, so that a stopped gateway does not wear the laser and the fan."""

    @property
    def warmup(self) -> float:
        return self.default_warmup if self.cfg.warmup is None else self.cfg.warmup

    @property
    def label(self) -> str:
        return f"{self.cfg.type.upper()} on {self.link.port}"

    def silent(self, what: str) -> SilentSensorError:
        """The error to raise when the sensor does not answer (``what`` says to what)."""
        return SilentSensorError(f"{self.label} {what}")

    def request(
        self,
        command: bytes,
        want: Callable[[bytes], bool],
        *,
        attempts: int = 2,
        timeout: float | None = None,
    ) -> bytes | None:
        """Send ``command`` and return the first frame for which ``want(frame)`` is true.

        Tried ``attempts`` times, ``timeout`` (default :attr:`reply_timeout`) each; None when
        the sensor never answers. Frames that are not wanted are dropped.
        """
        for _ in range(attempts):
            self.link.send(command)
            frame = self.link.wait_for(want, self.reply_timeout if timeout is None else timeout)
            if frame is not None:
                return frame
        return None

    def drain(self) -> None:
        """Drop the frames already received (a late reply, an active-mode backlog)."""
        self.link.read_frames(0)

    def preheating(self) -> bool:
        """True during the first ``warmup`` seconds after the port opened."""
        return time.monotonic() - self.opened_at < self.warmup

    def drop(self, sample: Sample, why: str) -> None:
        """Withhold a sample on purpose (counted in :attr:`dropped`, logged at debug)."""
        self.dropped += 1
        log.debug("%s: sample dropped (%s): %s", self.label, why, sample.values)

    def read_and_emit(
        self,
        command: bytes,
        want: Callable[[bytes], bool],
        decode: Callable[[bytes], Sample],
        warmup_name: str = "warm-up",
    ) -> None:
        """One read of a request/reply sensor: send ``command``, decode the reply ``want``
        picks and emit the sample, or withhold it while :meth:`preheating` (``warmup_name``
        in the debug log). Raises :class:`SilentSensorError` when the sensor does not answer."""
        frame = self.request(command, want)
        if frame is None:
            raise self.silent("does not answer reads")
        sample = decode(frame)
        if self.preheating():
            self.drop(sample, warmup_name)
            return
        self.emit(sample)

    def setup(self) -> None:
        """Called each time the port (re)opens."""

    def cycle(self) -> None:
        raise NotImplementedError


def modbus_reply(
    function: int, *, nbytes: int | None = None, register: int | None = None
) -> Callable[[bytes], bool]:
    """A ``want`` predicate for :meth:`Driver.request`: the Modbus response to ``function``
    (or its exception response). ``nbytes``: data bytes of a read; ``register``: the
    register a write (function 06) echoes."""

    def want(frame: bytes) -> bool:
        if frame[1] == function | modbus.EXCEPTION_BIT:
            return True
        if frame[1] != function:
            return False
        if function == modbus.WRITE_SINGLE:
            return register is None or int.from_bytes(frame[2:4], "big") == register
        return nbytes is None or frame[2] == nbytes

    return want
