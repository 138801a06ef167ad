"""The rollup thread on its own (ingest.rollup_thread): it retries while InfluxDB is away,
logging once on failure and once on recovery, keeps the windows meanwhile, and saves them on
its way out. A real roller, a dedicated influxd started late; the clock is injected."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from airq.services import InfluxDB, free_port
from airq_core.readings import Reading
from ingest.influx import InfluxWriter
from ingest.rollup import Roller
from ingest.rollup_thread import RollupThread
from ingest.windows import DirtyWindows
from tests.helpers import wait_until

pytestmark = pytest.mark.services

T0 = 1_774_656_000  # 2026-03-28T00:00:00Z: the windows' time, unrelated to today
FAR = T0 + 10 * 86400  # the injected "now": every window is closed


def test_windows_wait_for_influxdb_and_are_saved_on_the_way_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    influx = InfluxDB(tmp_path / "influx", port=free_port())  # not started yet
    writer = InfluxWriter(influx.url, "rollups")
    state = tmp_path / "rollup-w.json"
    roller = Roller(
        writer, DirtyWindows(grace=0, settle=0, stage=0), state_path=state, clock=lambda: FAR
    )
    roller.mark([Reading("lens-01", "sds011", T0 + 30, {"pm2_5": 4.0})], FAR)
    pending = len(roller.dirty)
    assert pending == 4  # its minute, hour, UTC day and Paris day
    thread = RollupThread(roller, lambda: FAR)
    caplog.set_level(logging.INFO, logger="ingest.rollup_thread")
    thread.start()
    try:
        wait_until(lambda: roller.failures >= 2, what="two failed recomputes")
        assert len(roller.dirty) == pending  # put back, not lost
        warnings = [r for r in caplog.records if "cannot recompute aggregates" in r.message]
        assert len(warnings) == 1  # once, not at every retry
        influx.start()
        writer.ensure_database()
        wait_until(lambda: "recomputed again" in caplog.text, timeout=30, what="the recovery")
        assert len(roller.dirty) == 0
        assert sum(roller.windows.values()) == pending
        # new windows, and the thread stopped before they are due: saved on the way out
        roller.dirty.grace = 3600.0
        roller.mark([Reading("lens-01", "sds011", FAR + 30, {"pm2_5": 4.0})], FAR)
    finally:
        thread.stop()
        thread.join()
        writer.close()
        influx.stop()
    assert not thread.is_alive()
    assert len(json.loads(state.read_text())["windows"]) == 4
    assert state.with_suffix(".journal").read_text() == ""


def test_stop_cuts_the_backoff_short(tmp_path: Path) -> None:
    writer = InfluxWriter(f"http://127.0.0.1:{free_port()}", "x")  # nothing listens there
    roller = Roller(writer, DirtyWindows(grace=0, settle=0, stage=0), clock=lambda: FAR)
    roller.mark([Reading("lens-01", "sds011", T0 + 30, {"pm2_5": 4.0})], FAR)
    thread = RollupThread(roller, lambda: FAR)
    thread.start()
    wait_until(lambda: roller.failures >= 2, what="two failed recomputes")  # now waiting 2 s
    t0 = time.monotonic()
    thread.stop()
    thread.join(5)
    writer.close()
    assert not thread.is_alive() and time.monotonic() - t0 < 1.0
