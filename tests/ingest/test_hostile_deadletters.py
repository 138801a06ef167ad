"""The dead-letter store of the ingest is bounded in count and size, survives a restart, never
raises (a full or broken disk must not stop the ingest either), and reads back what it kept."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from ingest.deadletter import SUBDIR, DeadLetters, read_dead_letters


def boom(n: int) -> Exception:
    try:
        raise RuntimeError(f"bug {n}")
    except RuntimeError as exc:
        return exc


def clock():  # type: ignore[no-untyped-def]
    ticks = itertools.count(1_800_000_000)
    return lambda: float(next(ticks))


def test_letters_keep_topic_bytes_error_and_traceback(tmp_path: Path) -> None:
    store = DeadLetters(tmp_path, "ingest-1", clock=clock())
    payload = bytes(range(256)) + b"\xff\xfe"
    store.add("airq/v1/lens-01/readings", payload, boom(1))
    (letter,) = DeadLetters(tmp_path, "ingest-1").letters()  # a new process reads it back
    assert letter.topic == "airq/v1/lens-01/readings" and letter.payload == payload
    assert letter.error == "RuntimeError: bug 1" and "boom" in letter.traceback
    assert letter.worker == "ingest-1" and letter.time == 1_800_000_000
    assert list((tmp_path / SUBDIR).glob("*/.*.tmp")) == []  # no half-written file left


def test_the_store_keeps_the_newest_within_its_count(tmp_path: Path) -> None:
    store = DeadLetters(tmp_path, "w", max_count=3, clock=clock())
    for i in range(7):
        store.add("t", b"%d" % i, boom(i))
    assert [d.payload for d in store.letters()] == [b"4", b"5", b"6"]
    assert store.written == 7


def test_the_store_keeps_the_newest_within_its_size(tmp_path: Path) -> None:
    store = DeadLetters(tmp_path, "w", max_bytes=300_000, clock=clock())
    for i in range(5):
        store.add("t", bytes([i]) * 100_000, boom(i))  # ~134 kB each once in base64
    kept = store.letters()
    assert [d.payload[0] for d in kept] == [3, 4]
    assert sum(p.stat().st_size for p in (tmp_path / SUBDIR).rglob("*.json")) <= 300_000


def test_the_newest_letter_is_kept_even_when_larger_than_the_budget(tmp_path: Path) -> None:
    store = DeadLetters(tmp_path, "w", max_bytes=1000, clock=clock())
    store.add("t", b"x" * 5000, boom(0))
    assert [len(d.payload) for d in store.letters()] == [5000]


def test_without_a_state_dir_letters_stay_in_memory_bounded() -> None:
    store = DeadLetters(None, "w", max_count=2, clock=clock())
    for i in range(4):
        store.add("t", b"%d" % i, boom(i))
    assert [d.payload for d in store.letters()] == [b"2", b"3"]


def test_an_unwritable_directory_does_not_raise(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / SUBDIR).write_text("a file where the folder should be")
    store = DeadLetters(tmp_path, "w", clock=clock())
    with caplog.at_level(logging.ERROR, logger="ingest.deadletter"):
        store.add("t", b"payload", boom(0))
    assert "dead letter not written" in caplog.text
    assert [d.payload for d in store._memory] == [b"payload"]


def test_workers_have_their_own_folder_and_a_reader_sees_them_all(tmp_path: Path) -> None:
    tick = clock()
    a = DeadLetters(tmp_path, "ingest/a b", clock=tick)  # any client id: a safe folder name
    b = DeadLetters(tmp_path, "ingest-b", clock=tick)
    a.add("t", b"1", boom(1))
    b.add("t", b"2", boom(2))
    a.add("t", b"3", boom(3))
    assert [d.payload for d in a.letters()] == [b"1", b"3"]
    assert [d.payload for d in read_dead_letters(tmp_path / SUBDIR)] == [b"1", b"2", b"3"]


@pytest.mark.parametrize("junk", ["not json", "{}", '{"time": "x"}', "[1]"])
def test_an_unreadable_file_is_skipped(tmp_path: Path, junk: str, caplog) -> None:  # type: ignore[no-untyped-def]
    store = DeadLetters(tmp_path, "w", clock=clock())
    store.add("t", b"ok", boom(0))
    assert store.dir is not None
    (store.dir / "000000000000000-junk.json").write_text(junk)
    with caplog.at_level(logging.WARNING, logger="ingest.deadletter"):
        assert [d.payload for d in read_dead_letters(tmp_path / SUBDIR)] == [b"ok"]
    assert "unreadable dead letter" in caplog.text
