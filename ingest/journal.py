"""The pending aggregate windows of one worker, on disk: what a crash must not lose.

Two files side by side, named after the worker (``rollup-<client id>.json``):

* the **snapshot** ``rollup-<id>.json``: ``{"windows": [[tier, start_ms], ...]}``, replaced
  atomically (written to ``.tmp``, then renamed);
* the **journal** ``rollup-<id>.journal``: one ``<tier> <start_ms>`` line per window added since
  the snapshot, appended with one write per batch (it survives a SIGKILL once ``append``
  returned). Rewriting the whole set for every batch cost ~15 µs per message in a backlog drain,
  where the set grows until the drain ends (bench/ingest_drain.py).

Writing a snapshot empties the journal it covers. A crash between the two leaves journal lines
the snapshot holds already: those windows are marked twice, which is harmless. A last journal
line cut short by a crash is skipped when reading.

This module knows files and keys, not readings, tiers' meaning or InfluxDB: the roller
(``ingest.rollup``) decides what is pending; this keeps it across restarts.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Container, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["JOURNAL_MAX_LINES", "PendingJournal", "WindowKey"]

WindowKey = tuple[str, int]  # (tier, window start in ms)

# windows appended to the journal before it should be folded into the snapshot (a long backlog
# drain postpones the recomputes, which otherwise fold it)
JOURNAL_MAX_LINES = 20_000


class PendingJournal:
    """The snapshot and the journal of one worker's pending windows (thread-safe).

    ``append`` and ``write_snapshot`` exclude each other, so a window appended while a snapshot
    is being written is either in that snapshot or in the journal after it, never lost.
    """

    def __init__(self, snapshot_path: Path, max_lines: int | None = None) -> None:
        self.snapshot_path = snapshot_path
        self.journal_path = snapshot_path.with_suffix(".journal")
        self.max_lines = max_lines
        self._lock = threading.Lock()
        self._lines = 0  # journal lines since the last snapshot

    @property
    def lines(self) -> int:
        return self._lines

    def append(self, keys: Iterable[WindowKey]) -> bool:
        """Appends windows to the journal in one write; True when the journal has grown past
        its limit (``max_lines``, else ``JOURNAL_MAX_LINES``) and a snapshot should fold it."""
        lines = [f"{tier} {start}\n" for tier, start in keys]
        with self._lock:
            with self.journal_path.open("a") as f:
                f.write("".join(lines))
            self._lines += len(lines)
            limit = JOURNAL_MAX_LINES if self.max_lines is None else self.max_lines
            return self._lines > limit

    def write_snapshot(self, collect: Callable[[], Iterable[WindowKey] | None]) -> bool:
        """Replaces the snapshot with the windows ``collect`` returns (called under the lock,
        so that no append slips between collecting and emptying the journal), then empties the
        journal. ``collect`` returning None writes nothing. True when a snapshot was written."""
        with self._lock:
            keys = collect()
            if keys is None:
                return False
            tmp = self.snapshot_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"windows": sorted(keys)}))
            os.replace(tmp, self.snapshot_path)
            # a crash here leaves journal lines the snapshot holds already: marked twice
            self.journal_path.write_text("")
            self._lines = 0
            return True

    def read(self, tiers: Container[str]) -> set[WindowKey]:
        """The windows of ``tiers`` left by a previous run (snapshot and journal). Creates the
        folder when missing; an unreadable snapshot is logged and ignored."""
        self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
        keys: set[WindowKey] = set()
        try:
            data = json.loads(self.snapshot_path.read_text())
            keys.update((str(t), int(s)) for t, s in data["windows"] if t in tiers)
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable rollup state %s: %s", self.snapshot_path, exc)
        keys.update(self._read_journal(tiers))
        return keys

    def _read_journal(self, tiers: Container[str]) -> list[WindowKey]:
        """The windows of the journal; a last line cut short by a crash is skipped."""
        try:
            text = self.journal_path.read_text()
        except FileNotFoundError:
            return []
        keys = []
        for line in text.split("\n")[:-1]:  # the last piece: "" or a line cut short
            tier, _, start = line.partition(" ")
            if tier in tiers and start.isdigit():
                keys.append((tier, int(start)))
        with self._lock:
            self._lines = len(keys)
        return keys
