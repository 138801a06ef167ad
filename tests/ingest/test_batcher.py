"""The writer loop's batching on its own (ingest.batcher): a real queue, an injected monotonic
clock, no broker."""

from __future__ import annotations

import queue
import threading

from ingest.batcher import Batcher, flush_size


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    size: int = 3, interval: float = 0.5
) -> tuple[queue.SimpleQueue[int], Batcher[int], Clock]:
    inbox: queue.SimpleQueue[int] = queue.SimpleQueue()
    clock = Clock()
    return inbox, Batcher(inbox, size, interval, clock), clock


def test_a_full_batch_is_due_at_once_and_the_rest_waits_for_the_next() -> None:
    inbox, b, _ = make(size=3)
    for i in range(5):
        inbox.put(i)
    assert b.poll(threading.Event()) == [0, 1, 2]
    assert len(b) == 0
    assert b.poll(threading.Event()) is None  # 2 gathered, not full, not old enough
    assert len(b) == 2


def test_a_partial_batch_is_due_when_its_first_message_is_interval_old() -> None:
    inbox, b, clock = make(size=10, interval=0.5)
    stop = threading.Event()
    stop.set()  # the gathering wait returns at once
    inbox.put(1)
    assert b.poll(stop) is None
    clock.now += 0.3
    inbox.put(2)
    assert b.poll(stop) is None
    clock.now += 0.2  # the first message is 0.5 s old
    assert b.poll(stop) == [1, 2]


def test_an_empty_inbox_returns_none_after_the_interval() -> None:
    _, b, _ = make(interval=0.01)
    assert b.poll(threading.Event()) is None
    assert b.take() == []


def test_take_returns_what_was_gathered_at_shutdown() -> None:
    inbox, b, _ = make(size=10)
    inbox.put(7)
    inbox.put(8)
    assert b.poll(threading.Event()) is None
    assert b.take() == [7, 8]
    assert len(b) == 0


def test_flush_size_is_half_the_inflight_window_at_most_the_batch_size() -> None:
    assert flush_size(5000, 1000) == 500
    assert flush_size(100, 1000) == 100
    assert flush_size(5000, 1) == 1
