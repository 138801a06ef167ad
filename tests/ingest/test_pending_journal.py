"""The pending-windows journal on its own (ingest.journal): files and keys only, no readings,
no roller, no InfluxDB. The file formats are the ones earlier versions wrote, so a worker
upgraded mid-backlog recomputes what the previous version left pending."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ingest.journal import PendingJournal

TIERS = ("1m", "1h", "1d", "1d_paris")
# window starts in ms, fixed: nothing here depends on the clock
M0 = 1_774_656_000_000
KEYS = [("1m", M0), ("1m", M0 + 60_000), ("1h", M0)]


def test_appended_windows_are_read_back_by_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "rollup-w.json"
    a = PendingJournal(path)
    assert a.append(KEYS[:2]) is False
    assert a.append(KEYS[2:]) is False
    assert path.with_suffix(".journal").read_text() == "".join(f"{t} {s}\n" for t, s in KEYS)
    assert not path.exists()  # no snapshot until one is asked for
    assert PendingJournal(path).read(TIERS) == set(KEYS)


def test_a_snapshot_empties_the_journal_it_covers(tmp_path: Path) -> None:
    path = tmp_path / "rollup-w.json"
    j = PendingJournal(path)
    j.append(KEYS)
    assert j.write_snapshot(lambda: KEYS[1:]) is True
    assert json.loads(path.read_text()) == {"windows": [list(k) for k in sorted(KEYS[1:])]}
    assert path.with_suffix(".journal").read_text() == ""
    assert j.lines == 0
    assert not path.with_suffix(".tmp").exists()
    assert PendingJournal(path).read(TIERS) == set(KEYS[1:])


def test_collect_returning_none_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rollup-w.json"
    j = PendingJournal(path)
    j.append(KEYS)
    assert j.write_snapshot(lambda: None) is False
    assert not path.exists()
    assert j.lines == 3


def test_state_written_by_the_previous_version_loads(tmp_path: Path) -> None:
    # what Roller.save_state and Roller._journal wrote before the journal had its own module
    path = tmp_path / "rollup-airq-ingest.json"
    path.write_text(json.dumps({"windows": [["1h", M0], ["1d", M0 - M0 % 86_400_000]]}))
    path.with_suffix(".journal").write_text(f"1m {M0}\n1m {M0 + 60_000}\n")
    assert PendingJournal(path).read(TIERS) == {
        ("1h", M0),
        ("1d", M0 - M0 % 86_400_000),
        ("1m", M0),
        ("1m", M0 + 60_000),
    }


def test_a_cut_line_unknown_tiers_and_junk_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rollup-w.json"
    path.with_suffix(".journal").write_text(
        f"1m {M0}\n5m {M0}\n1h -5\n\n1h x\n1m {M0 + 60_000}\n1h 1774"
    )
    j = PendingJournal(path)
    assert j.read(("1m", "1h")) == {("1m", M0), ("1m", M0 + 60_000)}
    assert j.lines == 2
    assert PendingJournal(path).read(("1h",)) == set()  # tiers not configured are left out


def test_an_unreadable_snapshot_is_ignored_not_fatal(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rollup-w.json"
    path.with_suffix(".journal").write_text(f"1m {M0}\n")
    for junk in ("{not json", '{"other": []}', '{"windows": [1, 2]}'):
        path.write_text(junk)
        assert PendingJournal(path).read(TIERS) == {("1m", M0)}
    assert "ignoring unreadable rollup state" in caplog.text


def test_read_creates_the_state_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "rollup-w.json"
    assert PendingJournal(path).read(TIERS) == set()
    assert path.parent.is_dir()


def test_append_says_when_the_journal_is_long(tmp_path: Path) -> None:
    j = PendingJournal(tmp_path / "rollup-w.json", max_lines=4)
    assert j.append(KEYS) is False
    assert j.append(KEYS[:1]) is False  # 4 lines: at the limit
    assert j.append(KEYS[:1]) is True
    j.write_snapshot(lambda: KEYS)
    assert j.append(KEYS[:1]) is False


def test_no_append_is_lost_while_snapshots_are_written(tmp_path: Path) -> None:
    """Appends from one thread, snapshots from another: every appended window is in the
    snapshot or in the journal after it (the snapshot's collect sees what was appended before
    it, as the roller's dirty set does)."""
    path = tmp_path / "rollup-w.json"
    j = PendingJournal(path)
    appended: list[tuple[str, int]] = []
    lock = threading.Lock()
    done = threading.Event()

    def writer() -> None:
        for i in range(2000):
            key = ("1m", M0 + i * 60_000)
            with lock:  # the roller marks its dirty set before journaling
                appended.append(key)
            j.append([key])
        done.set()

    def collect() -> list[tuple[str, int]]:
        with lock:
            return list(appended)

    t = threading.Thread(target=writer)
    t.start()
    while not done.is_set():
        j.write_snapshot(collect)
    t.join()
    assert PendingJournal(path).read(TIERS) == set(appended)
