"""The rollup state that survives a crash: windows a batch adds are journaled before the batch
is acknowledged; a snapshot replaces the journal after each recompute."""

from __future__ import annotations

import json
from pathlib import Path

from airq_core.readings import Reading
from ingest import journal
from ingest.rollup import Roller
from ingest.windows import DirtyWindows

# Fixed: the roller's clock is injected (T0) and nothing is written to InfluxDB.
T0 = 1_774_656_000  # 2026-03-28T00:00:00Z


def _roller(state: Path) -> Roller:
    # no recompute runs here: the writer is never used
    return Roller(None, DirtyWindows(), tiers=("1m", "1h"), state_path=state, clock=lambda: T0)  # type: ignore[arg-type]


def _readings(minutes: range, station: str = "lens-01") -> list[Reading]:
    return [Reading(station, "sds011", T0 + 60 * m + 5, {"pm2_5": 3.0}) for m in minutes]


def test_a_crash_keeps_every_window_marked(tmp_path: Path) -> None:
    state = tmp_path / "rollup-w1.json"
    a = _roller(state)
    a.mark(_readings(range(3)), T0)
    a.mark(_readings(range(2, 5)), T0)  # minute 2 and the hour again: journaled once
    journal = state.with_suffix(".journal").read_text().splitlines()
    assert len(journal) == 5 + 1  # five minutes and their hour
    assert not state.exists()  # no snapshot before a recompute
    # the process dies here (nothing saved on the way out); the next one finds them all
    b = _roller(state)
    assert b.load_state() == 6
    assert sorted(b.dirty.keys()) == sorted(a.dirty.keys())


def test_the_snapshot_replaces_the_journal_and_a_cut_line_is_skipped(tmp_path: Path) -> None:
    state = tmp_path / "rollup-w2.json"
    a = _roller(state)
    a.mark(_readings(range(2)), T0)
    a.save_state(force=True)  # what a recompute does
    assert state.with_suffix(".journal").read_text() == ""
    assert len(json.loads(state.read_text())["windows"]) == 3
    a.mark(_readings(range(10, 11)), T0)
    with state.with_suffix(".journal").open("a") as f:
        f.write("1m 17746")  # a write cut short by the crash
    b = _roller(state)
    assert b.load_state() == 4  # 3 in the snapshot, 1 journaled, the cut line skipped
    assert ("1m", (T0 + 600) * 1000) in set(b.dirty.keys())


def test_a_long_journal_is_folded_into_the_snapshot(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(journal, "JOURNAL_MAX_LINES", 10)
    state = tmp_path / "rollup-w3.json"
    a = _roller(state)
    for m in range(0, 30, 3):
        a.mark(_readings(range(m, m + 3)), T0)
    lines = state.with_suffix(".journal").read_text().splitlines()
    assert len(lines) <= 10 + 3  # folded as soon as it went past 10
    b = _roller(state)
    assert b.load_state() == 30 + 1
