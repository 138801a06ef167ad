"""Batching of the writer loop: messages gathered from the inbox into batches worth a write.

A batch is due when it is full (``size`` messages) or when its first message has waited
``interval`` seconds. While a batch is open and not full, the loop lets messages gather for a
few milliseconds (``GATHER_S``) instead of waking up for every message: paho's network thread
keeps the GIL to itself meanwhile (measured: less contention, bench/ingest_drain.py).

``Batcher`` knows nothing of storage, health or shutdown: ``poll`` returns a due batch or None,
and never blocks longer than ``interval``, so the caller can do its periodic work between
calls.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["GATHER_S", "Batcher", "flush_size"]

GATHER_S = 0.005  # how long the writer lets messages gather before looking again

T = TypeVar("T")


def flush_size(batch_size: int, inflight_window: int) -> int:
    """Half the broker's in-flight window (the broker keeps sending the next half while we
    write this one), at most ``batch_size``."""
    return max(1, min(batch_size, inflight_window // 2))


class Batcher(Generic[T]):
    """Gathers items of ``inbox`` into batches of at most ``size``, due when full or when the
    first item is ``interval`` seconds old (``monotonic`` clock)."""

    def __init__(
        self,
        inbox: queue.SimpleQueue[T],
        size: int,
        interval: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inbox = inbox
        self.size = size
        self.interval = interval
        self._monotonic = monotonic
        self._batch: list[T] = []
        self._first_at = 0.0

    def __len__(self) -> int:
        """Items gathered and not yet returned."""
        return len(self._batch)

    def poll(self, stop: threading.Event) -> list[T] | None:
        """One turn of the loop: waits for the first item (at most ``interval``) or lets an
        open batch gather for ``GATHER_S``, takes what is already there, and returns the batch
        when it is due (then starts a new one), else None. ``stop`` cuts the wait short."""
        batch = self._batch
        size = self.size
        interval = self.interval
        monotonic = self._monotonic
        inbox = self.inbox
        if batch:
            left = self._first_at + interval - monotonic()
            if len(batch) < size and left > 0:
                stop.wait(min(GATHER_S, left))
        else:
            try:
                batch.append(inbox.get(timeout=interval))
                self._first_at = monotonic()
            except queue.Empty:
                pass
        try:  # drain whatever is already there without waiting
            while len(batch) < size:
                batch.append(inbox.get_nowait())
        except queue.Empty:
            pass
        if batch and (len(batch) >= size or monotonic() - self._first_at >= interval):
            self._batch = []
            return batch
        return None

    def take(self) -> list[T]:
        """The items gathered so far, due or not (at shutdown)."""
        batch, self._batch = self._batch, []
        return batch
