"""Crash-safe store-and-forward queue on local disk (SQLite, WAL).

A reading is inserted as soon as it is decoded and deleted only once the broker acknowledged
the message that carried it. Disk use is bounded: past ``max_bytes`` the oldest readings are
dropped and counted.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class ReadingStore:
    def __init__(self, path: Path, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "payload BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM queue"
        ).fetchone()
        self._count, self._bytes = int(row[0]), int(row[1])
        self.dropped = self._meta("dropped")
        self._seq = self._meta("seq")
        self.new_data = threading.Event()

    def _meta(self, key: str) -> int:
        r = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(r[0]) if r else 0

    def next_seq(self) -> int:
        """A per-station counter that survives restarts (lets the ingest count gaps)."""
        with self._lock:
            self._seq += 1
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (self._seq,))
            return self._seq

    def put(self, payload: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT INTO queue (payload) VALUES (?)", (payload,))
            self._count += 1
            self._bytes += len(payload)
            if self._bytes > self._max_bytes:
                self._drop_oldest()
        self.new_data.set()

    def _drop_oldest(self) -> None:
        # drop ~5 % at a time so we do not run this on every insert
        target = int(self._max_bytes * 0.95)
        rows = self._db.execute("SELECT id, LENGTH(payload) FROM queue ORDER BY id").fetchall()
        freed, n, last_id = 0, 0, None
        for rid, size in rows:
            if self._bytes - freed <= target:
                break
            freed += size
            n += 1
            last_id = rid
        if last_id is None:
            return
        self._db.execute("DELETE FROM queue WHERE id <= ?", (last_id,))
        self._count -= n
        self._bytes -= freed
        self.dropped += n
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('dropped', ?)", (self.dropped,))
        log.warning(
            "store-and-forward queue full (%.1f MB): dropped the %d oldest readings "
            "(%d dropped in total)",
            self._max_bytes / 1e6,
            n,
            self.dropped,
        )

    def peek(self, after_id: int, limit: int) -> list[tuple[int, bytes]]:
        with self._lock:
            return self._db.execute(
                "SELECT id, payload FROM queue WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()

    def delete(self, ids: list[int]) -> None:
        with self._lock:
            rows = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM queue WHERE id IN "
                f"({','.join('?' * len(ids))})",
                ids,
            ).fetchone()
            self._db.execute(f"DELETE FROM queue WHERE id IN ({','.join('?' * len(ids))})", ids)
            self._count -= int(rows[0])
            self._bytes -= int(rows[1])

    @property
    def last_seq(self) -> int:
        """The seq of the last reading stored (0 before the first)."""
        return self._seq

    @property
    def depth(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        with self._lock:
            self._db.close()
