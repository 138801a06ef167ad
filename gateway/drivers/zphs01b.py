"""Winsen ZPHS01B multi-sensor driver: one request, one 26-byte reply per cycle.

Every sample carries the protocol's ``"coarse_no2"`` flag (a 0.01 ppm ≈ 19 µg/m³ step, too
coarse for background NO₂): it is kept, so that dashboards show its NO₂ as indicative only.

Pre-heat: the module holds an NDIR CO₂ cell like the MH-Z19B's and electrochemical cells;
its datasheet was not seen, so the MH-Z19B's 180 s (``warmup`` to change it) is used:
readings of the first ``warmup`` seconds after the port opens are dropped ([UNVERIFIED]).
"""

from __future__ import annotations

from airq_core.protocols import mhz19
from airq_core.protocols import zphs01b as proto
from airq_core.protocols.commands import zphs01b as cmd
from gateway.drivers.base import Driver


class Zphs01bDriver(Driver):
    default_warmup = mhz19.PREHEAT_S

    def cycle(self) -> None:
        self.drain()
        # only replies split
        self.read_and_emit(cmd.read(), lambda _frame: True, proto.decode, "pre-heat")
