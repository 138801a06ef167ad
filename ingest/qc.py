"""Quality control of the readings (pure): humidity flag and correction of PM, kept *beside* the
raw values.

The hackAIR correction (sensors.md §4, proposed for airrohr in sensors-software PR #678 and
rejected there by the maintainer as "doesn't work well") divides the optical PM reading by a
hygroscopic growth factor of the relative humidity::

    PM10c  = PM10  / (1 + 0.81559 · (RH/100)^5.83411)
    PM2.5c = PM2.5 / (1 + 0.48756 · (RH/100)^8.60068)

It was fitted for the SDS011; it is indicative only, and the raw value always stays stored.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from airq_core.flags import FOREIGN_BOARD
from airq_core.readings import Reading
from airq_core.storage import FIELD_QC_RH, HCORR_QUANTITIES, QC_FLAG_HUMID, hcorr_field

__all__ = ["HACKAIR", "HumidityQC", "hackair_correct"]

# quantity -> (a, b) in value / (1 + a · (RH/100)^b)
HACKAIR: dict[str, tuple[float, float]] = {
    "pm10": (0.81559, 5.83411),
    "pm2_5": (0.48756, 8.60068),
}
_HCORR = {q: hcorr_field(q) for q in HCORR_QUANTITIES}


def hackair_correct(quantity: str, value: float, rh: float) -> float:
    """The hackAIR humidity-corrected value of ``pm2_5`` or ``pm10`` at ``rh`` percent."""
    a, b = HACKAIR[quantity]
    # the base is in [0, 1], so the power is real (float ** float is typed Any for complex results)
    factor: float = (min(max(rh, 0.0), 100.0) / 100.0) ** b
    return value / (1.0 + a * factor)


class HumidityQC:
    """Adds the corrected PM and the humidity flag to PM readings of stations that measure
    humidity (with any of their sensors).

    The rule, the same on every path (the importer's too): a PM reading takes the station's
    humidity at the same instant, else its latest before, within ``max_age_s``; never a later
    one. The humidity readings it can take are those of its own batch, all of them whatever
    the batch spans (a backlog of hours in one batch is matched reading by reading), and those
    of earlier batches that the QC holds: per station, the last ``history_s`` before the
    station's newest humidity, at most ``max_held`` readings (the bound on memory, applied
    after each batch). So for readings that arrive in time order the result does not depend
    on how they are cut into batches, as long as the readings of one instant are not split: a
    humidity arriving in a later batch than a PM reading of its own instant cannot be used for
    it (that reading is already stored with the latest humidity before). Readings without a
    humidity match are left unchanged. Humidity flagged ``foreign_board`` (another station's
    board) is not the station's: it is not held.
    """

    max_held = 4096

    def __init__(
        self, threshold: float = 75.0, max_age_s: float = 300.0, history_s: float = 6 * 3600
    ) -> None:
        self.threshold = threshold
        self.max_age_s = max_age_s
        self._history_s = history_s
        self._ts: dict[str, list[float]] = {}
        self._rh: dict[str, list[float]] = {}
        self.flagged = 0
        self.corrected = 0

    def held(self, station: str) -> int:
        """How many humidity readings of ``station`` are held for the next batches."""
        return len(self._ts.get(station, ()))

    def _remember(self, station: str, ts: float, rh: float) -> None:
        """Adds a humidity reading, in time order (the last one wins at an instant)."""
        tss = self._ts.get(station)
        if tss is None:
            self._ts[station] = [ts]
            self._rh[station] = [rh]
            return
        rhs = self._rh[station]
        if ts > tss[-1]:
            tss.append(ts)
            rhs.append(rh)
            return
        i = bisect.bisect_left(tss, ts)
        if tss[i] == ts:
            rhs[i] = rh
        else:
            tss.insert(i, ts)
            rhs.insert(i, rh)

    def _trim(self, station: str) -> None:
        """Keeps the last ``history_s`` of the station's humidity, at most ``max_held``."""
        tss = self._ts[station]
        if len(tss) > self.max_held or tss[0] < tss[-1] - self._history_s:
            cut = max(len(tss) - self.max_held, bisect.bisect_left(tss, tss[-1] - self._history_s))
            del tss[:cut]
            del self._rh[station][:cut]

    def humidity_at(self, station: str, ts: float) -> float | None:
        """The station's humidity at ``ts`` by the rule: the same instant, else the latest
        before, within ``max_age_s``; ``None`` when there is none."""
        tss = self._ts.get(station)
        if not tss:
            return None
        i = bisect.bisect_right(tss, ts)  # tss[i - 1] is the same instant or the latest before
        if i and ts - tss[i - 1] <= self.max_age_s:
            return self._rh[station][i - 1]
        return None

    def apply(self, readings: Iterable[Reading]) -> list[Reading]:
        """The readings, PM ones completed with ``<pm>_hcorr``, ``qc_rh`` and the ``humid``
        flag when a humidity is known. Humidity readings of the batch count for the batch."""
        readings = list(readings)
        grown: set[str] = set()  # stations whose held humidity grew: trimmed after the batch
        pm_seen = False
        for r in readings:
            v = r.values
            rh = v.get("humidity")
            # another station's board (pushed with this station's credentials): its humidity
            # is not this station's air, so it corrects none of the station's PM
            if rh is not None and FOREIGN_BOARD not in r.flags:
                self._remember(r.station, r.ts, rh)
                grown.add(r.station)
            if not pm_seen and ("pm2_5" in v or "pm10" in v):
                pm_seen = True
        try:
            if not pm_seen or not self._ts:
                return readings
            out = []
            for r in readings:
                v = r.values
                if ("pm2_5" in v or "pm10" in v) and r.station in self._ts:
                    rh = self.humidity_at(r.station, r.ts)
                    if rh is not None:
                        r = self._correct(r, rh)
                out.append(r)
            return out
        finally:
            for station in grown:
                self._trim(station)

    def _correct(self, r: Reading, rh: float) -> Reading:
        values = dict(r.values)
        for q, field in _HCORR.items():
            x = values.get(q)
            if x is not None:
                values[field] = round(hackair_correct(q, x, rh), 3)
        values[FIELD_QC_RH] = rh
        flags = r.flags
        if rh > self.threshold and QC_FLAG_HUMID not in flags:
            flags = (*flags, QC_FLAG_HUMID)
            self.flagged += 1
        self.corrected += 1
        return Reading(r.station, r.sensor, r.ts, values, r.seq, flags)
