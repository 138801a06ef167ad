"""SDS011 driver: query mode with duty cycling, as the makers intend (laser ≈ 8000 h).

With ``interval`` long enough (≥ warm-up + 10 s) the sensor sleeps between readings: wake,
let the fan run ``warmup`` seconds (15 s, as airrohr does), query one frame, sleep again.
Otherwise it stays awake in query mode. ``mode = "active"`` takes the sensor's own stream.
"""

from __future__ import annotations

from airq_core.protocols import sds011 as proto
from airq_core.protocols.commands import sds011 as cmd
from gateway.drivers.base import Driver, SilentSensorError


def _is_data(frame: bytes) -> bool:
    return frame[1] == proto.DATA


class Sds011Driver(Driver):
    default_warmup = 15.0

    @property
    def duty_cycle(self) -> bool:
        return self.cfg.mode != "active" and self.cfg.interval >= self.warmup + 10

    def _command(self, cmd: bytes, expect_cmd: int) -> bool:
        """Send a command and wait for its reply (data frames in between are ignored)."""
        for _ in range(2):
            self.link.send(cmd)
            reply = self.link.wait_for(
                lambda f: proto.is_reply(f) and f[2] == expect_cmd, self.reply_timeout
            )
            if reply is not None:
                return True
        return False

    def close(self) -> None:
        self._command(cmd.sleep(), proto.CMD_SLEEP_WORK)

    def setup(self) -> None:
        # A sleeping sensor hears only "work": wake it first, then choose the reporting mode.
        self._command(cmd.work(), proto.CMD_SLEEP_WORK)
        if self.cfg.mode == "active":
            ok = self._command(cmd.set_active_mode(), proto.CMD_REPORTING_MODE)
        else:
            ok = self._command(cmd.set_query_mode(), proto.CMD_REPORTING_MODE)
            if ok and self.duty_cycle:
                self._command(cmd.sleep(), proto.CMD_SLEEP_WORK)
        if not ok:
            raise SilentSensorError(f"SDS011 on {self.link.port} does not answer commands")
        if not self.duty_cycle:
            self.wait(self.warmup)  # the fan must flush the chamber before the first reading

    def cycle(self) -> None:
        if self.cfg.mode == "active":
            frame = self.link.wait_for(_is_data, max(self.reply_timeout, 3.0))
            if frame is None:
                raise SilentSensorError(f"SDS011 on {self.link.port} sends no data")
            self.emit(proto.decode(frame))
            return
        if self.duty_cycle:
            if not self._command(cmd.work(), proto.CMD_SLEEP_WORK):
                raise SilentSensorError(f"SDS011 on {self.link.port} does not wake up")
            if self.wait(self.warmup):
                return
        frame = None
        for _ in range(2):
            self.link.send(cmd.query())
            frame = self.link.wait_for(_is_data, self.reply_timeout)
            if frame is not None:
                break
        if frame is None:
            raise SilentSensorError(f"SDS011 on {self.link.port} does not answer queries")
        self.emit(proto.decode(frame))
        if self.duty_cycle:
            self._command(cmd.sleep(), proto.CMD_SLEEP_WORK)
