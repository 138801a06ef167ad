"""A SQLite registry keeps one station's placements between two reads (the series routes ask
for them on every request) and forgets them at any commit to the file, by this process or
another: a move, indoor or not, is seen on the very next read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from api.registry import Registry


def _statements(reg: Registry) -> list[str]:
    seen: list[str] = []
    sa.event.listen(reg.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_placements_are_read_once_and_forgotten_at_any_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    reg, other = Registry(url), Registry(url)
    try:
        reg.add("lens-01", 50.45, 2.84, "Lens")
        now = datetime.now(UTC)
        end = now + timedelta(hours=1)
        first = reg.placements_between(["lens-01"], 0, end)
        statements = _statements(reg)
        assert reg.placements_between(["lens-01"], 0, end) == first
        assert reg.placements_between(["lens-01"], now - timedelta(days=1), end) == first
        assert statements == []  # from the memo
        # another process moves the station indoors: seen on the next read
        other.update("lens-01", lat=50.46, lon=2.85, indoor=True, moved_at=now)
        moved = reg.placements_between(["lens-01"], 0, end)["lens-01"]
        assert len(statements) == 1
        assert [p.indoor for p in moved] == [False, True]
        # the period still filters: only the current placement after the move
        later = reg.placements_between(["lens-01"], now + timedelta(minutes=1), end)
        assert [p.indoor for p in later["lens-01"]] == [True]
        assert reg.placements_between(["lens-01"], 0, now - timedelta(days=400)) == {}
    finally:
        reg.close()
        other.close()
