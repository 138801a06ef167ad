"""The rollup thread: calls ``Roller.run_due`` whenever windows fall due, until stopped.

Only timing and failure handling live here (the logic is ``ingest.rollup``): it sleeps until
the next window is due (at least 50 ms), retries with capped exponential backoff (0.5 s … 30 s)
while InfluxDB fails, logging once on failure and once on recovery, keeps going after an
unexpected error (logged with its traceback), and saves the pending windows on the way out.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from ingest.influx import InfluxWriteError
from ingest.rollup import Roller

log = logging.getLogger(__name__)

__all__ = ["RollupThread", "run_rollups"]

MIN_WAIT_S = 0.05
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0


def run_rollups(roller: Roller, stop: threading.Event, clock: Callable[[], float]) -> None:
    """Recomputes due windows until ``stop`` is set; then saves the pending windows."""
    delay = FIRST_DELAY_S
    failing = False
    while not stop.is_set():
        try:
            roller.run_due()
            if failing:
                log.info("aggregate windows are recomputed again")
                failing = False
            delay = FIRST_DELAY_S
        except InfluxWriteError as exc:
            if not failing:
                log.warning("cannot recompute aggregates (%s); retrying", exc)
                failing = True
            delay = min(delay * 2, MAX_DELAY_S)
        except Exception:  # a bug must not stop the rollups for good
            log.exception("rollup recompute failed")
            delay = min(delay * 2, MAX_DELAY_S)
        nxt = roller.dirty.next_due()
        wait = delay
        if not failing and nxt is not None:
            wait = max(MIN_WAIT_S, min(delay, nxt + roller.lag - clock()))
        stop.wait(wait)
    with contextlib.suppress(OSError):
        roller.save_state(force=True)


class RollupThread:
    """``run_rollups`` in a daemon thread named ``rollup``."""

    def __init__(self, roller: Roller, clock: Callable[[], float]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_rollups, args=(roller, self._stop, clock), name="rollup", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Asks the loop to stop (it saves the pending windows on its way out)."""
        self._stop.set()

    def join(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()
