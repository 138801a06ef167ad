"""Winsen MH-Z19B driver: request/reply CO₂ reads, pre-heat, ABC as configured.

Pre-heat: for about 3 minutes after power-on the sensor reports meaningless values (a flat
410 or 500 ppm, or zeros) and the frame does not say so. A USB-powered sensor is powered when
its port appears, so the readings of the first ``warmup`` seconds after the port opens are
dropped (default :data:`airq_core.protocols.mhz19.PREHEAT_S`, 180 s). The sensor is still
read during pre-heat, so a silent sensor is noticed at once.

ABC (automatic baseline correction, on from the factory) re-bases the lowest reading of each
24 h to 400 ppm: right outdoors or in rooms aired daily, wrong in rooms that never air out.
The driver leaves it as the sensor has it unless the config says ``abc = false`` (or
``true``); it then sends the ABC command each time the port opens (the reply to that command
is undocumented, so a missing reply is only logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from airq_core.protocols import mhz19 as proto
from airq_core.protocols.commands import mhz19 as cmd
from gateway.drivers.base import Driver

log = logging.getLogger(__name__)


def _reply_to(command: int) -> Callable[[bytes], bool]:
    return lambda frame: frame[1] == command


class Mhz19bDriver(Driver):
    default_warmup = proto.PREHEAT_S

    def setup(self) -> None:
        abc = self.cfg.abc
        if abc is not None:
            request = cmd.abc_on() if abc else cmd.abc_off()
            if self.request(request, _reply_to(proto.CMD_ABC)) is None:
                log.warning(
                    "%s: no reply to the ABC %s command", self.label, "on" if abc else "off"
                )

    def cycle(self) -> None:
        self.drain()
        self.read_and_emit(cmd.read(), _reply_to(proto.CMD_READ), proto.decode, "pre-heat")
