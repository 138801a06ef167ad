"""Test helpers shared by the test modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

INGEST_PASSWORD = "ingest-secret"


def wait_until(
    pred: Callable[[], object],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> object:
    """Poll ``pred`` until it returns a truthy value; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class ThreadRunner:
    """Runs ``target(stop_event)`` in a thread; ``stop()`` sets the event and joins."""

    def __init__(self, target: Callable[[threading.Event], None], name: str) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

        def main() -> None:
            try:
                target(self.stop_event)
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=main, name=name, daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 15) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.thread.name} did not stop"
        if self.error:
            raise self.error
