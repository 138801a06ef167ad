"""Live downsampling: which aggregate windows stored readings touched, and recomputing the due
ones.

``Roller`` is the bookkeeping between the writer loop and the recompute step:

* ``mark`` (writer loop): the (tier, window, station) touched by a stored batch become dirty
  (``windows.DirtyWindows``) and the windows it adds are appended to the worker's journal
  (``ingest.journal``) before the batch is acknowledged, so a crash between storage and rollup
  loses no window;
* ``run_due`` (rollup thread, ``ingest.rollup_thread``): the windows that are due (closed, plus
  a grace, see ``DirtyWindows``) are recomputed from the source of truth
  (``ingest.recompute``) and their aggregate points overwritten; failed windows are put back;
  a snapshot of what is still pending replaces the journal.

A late reading re-marks its (already closed) window, which is then recomputed again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from airq_core.readings import Reading
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.journal import PendingJournal, WindowKey
from ingest.recompute import RecomputeCounts, read_raw_fields, recompute, time_range
from ingest.windows import TIER_ORDER, DirtyWindows, Pending

log = logging.getLogger(__name__)

# ``time_range`` stays importable from here for the benchmarks (bench/rebuild.py)
__all__ = ["Roller", "time_range"]

RAW_FIELDS_TTL_S = 60.0  # how long the list of raw fields is reused before asking again


class Roller:
    """Marks dirty windows (writer thread) and recomputes the due ones (rollup thread)."""

    def __init__(
        self,
        writer: InfluxWriter,
        dirty: DirtyWindows,
        tiers: Sequence[str] = TIER_ORDER,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        max_lag_s: float = 60.0,
    ) -> None:
        self.writer = writer
        self.max_lag_s = max_lag_s
        self.backlog_at = float("-inf")  # monotonic time of the writer's last full batch
        self.dirty = dirty
        self.tiers = tuple(t for t in TIER_ORDER if t in tiers)
        self.state_path = state_path
        self.journal = None if state_path is None else PendingJournal(state_path)
        self._clock = clock
        self._saved_version = self._collected_version = -1
        self._in_progress: list[Pending] = []
        self._fields: tuple[float, list[str]] = (0.0, [])
        self.counts = RecomputeCounts()
        self.failures = 0
        self.busy_s = 0.0

    @property
    def windows(self) -> Counter[str]:
        """Tier -> windows recomputed."""
        return self.counts.windows

    @property
    def points(self) -> int:
        """Aggregate points written."""
        return self.counts.points

    # -- writer side ------------------------------------------------------------------------
    def mark(self, readings: Iterable[Reading], now: float) -> None:
        """Marks the windows of stored readings dirty and journals the new ones (returns once
        they are on disk)."""
        minutes: dict[int, tuple[set[str], set[str]]] = {}
        for r in readings:
            m = round(r.ts * 1000)
            m -= m % 60_000
            e = minutes.get(m)
            if e is None:
                minutes[m] = e = (set(), set())
            e[0].add(r.station)
            e[1].update(r.values)
        if minutes:
            added = self.dirty.mark_minutes(minutes, now, self.tiers)
            if added and self.journal is not None and self.journal.append(added):
                self.save_state(force=True)  # a long journal is folded into the snapshot

    def note_backlog(self, mono: float) -> None:
        """The writer took a full batch at monotonic time ``mono``: it drains a backlog."""
        self.backlog_at = mono

    # -- crash safety -----------------------------------------------------------------------
    def _pending_keys(self, force: bool) -> set[WindowKey] | None:
        """Called under the journal's lock: the windows a snapshot must hold, or None when they
        did not change since the last one (and ``force`` is false)."""
        version = self.dirty.version
        if version == self._saved_version and not force:
            return None
        self._collected_version = version
        return set(self.dirty.keys()) | {(p.tier, p.start_ms) for p in self._in_progress}

    def save_state(self, force: bool = False) -> None:
        """Writes a snapshot of the pending windows if they changed (atomic replace), then
        empties the journal it covers."""
        if self.journal is not None and self.journal.write_snapshot(
            lambda: self._pending_keys(force)
        ):
            self._saved_version = self._collected_version

    def load_state(self) -> int:
        """Marks the windows left pending by a previous run (all stations); their number."""
        if self.journal is None:
            return 0
        keys = self.journal.read(self.tiers)
        self.dirty.mark_all(sorted(keys), self._clock())
        if keys:
            log.info(
                "%d aggregate windows left pending by the last run will be recomputed", len(keys)
            )
        return len(keys)

    # -- recompute --------------------------------------------------------------------------
    def _raw_fields(self) -> list[str]:
        at, fields = self._fields
        if time.monotonic() - at > RAW_FIELDS_TTL_S or not fields:
            fields = read_raw_fields(self.writer)
            self._fields = (time.monotonic(), fields)
        return fields

    @property
    def lag(self) -> float:
        """While the writer drains a backlog (full batches), recomputes wait up to
        ``max_lag_s``: raw readings first, then the aggregates in fewer, larger queries."""
        return self.max_lag_s if time.monotonic() - self.backlog_at < 1.0 else 0.0

    def run_due(self) -> int:
        """Recomputes the due windows once; the number done. Failed windows are put back and
        the InfluxWriteError raised."""
        due = self.dirty.pop_due(self._clock() - self.lag)
        if not due:
            return 0
        self._in_progress = due
        t0 = time.monotonic()
        try:
            recompute(self.writer, due, self.tiers, self._raw_fields, self.counts)
        except InfluxWriteError:
            self.failures += 1
            self.dirty.requeue(due, self._clock())
            raise
        finally:
            self._in_progress = []
            self.busy_s += time.monotonic() - t0
        self.save_state(force=True)
        return len(due)
