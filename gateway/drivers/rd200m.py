"""FTLab RD200M radon driver: request all data each cycle; the status byte is honoured.

The module measures continuously and updates its value every 10 minutes: an ``interval`` of
600 s avoids publishing the same value four times (at the default 145 s it is repeated).
Its own auto-transfer is left off; a frame already waiting (auto-transfer set by other
software) is dropped before each request.

The status byte becomes the sample's flags (see :mod:`airq_core.protocols.rd200m`): during
the first hour after power-on the module reports early estimates flagged ``"warmup"`` (and
``"warning"`` for status 0x10: an early high count), ``"vibration"`` when it was shaken.
These readings are *kept* with their flags — radon builds up slowly and an early high count
is worth seeing — so that the ingest, the API and the dashboards can leave them out of
averages. ``warmup`` in the config is not used: the module says itself when it is warm.
"""

from __future__ import annotations

from airq_core.protocols import rd200m as proto
from airq_core.protocols.commands import rd200m as cmd
from gateway.drivers.base import Driver


class Rd200mDriver(Driver):
    def cycle(self) -> None:
        self.drain()
        frame = self.request(cmd.read(), lambda _frame: True)  # only data frames split
        if frame is None:
            raise self.silent("does not answer reads (12 V supply?)")
        self.emit(proto.decode(frame))
