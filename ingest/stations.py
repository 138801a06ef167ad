"""Which stations exist: read from the registry database owned by the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa

from airq_core.storage import STATIONS_TABLE

log = logging.getLogger(__name__)

_MAX_CHECKED = 4096


class KnownStations:
    """A cached set of active station ids, refreshed periodically and on a miss (at most every
    ``miss_refresh_s``); between two such refreshes a missing id is looked up alone (at most
    once per ``miss_refresh_s`` for each id), so a station registered during a workshop is
    accepted from its first reading."""

    def __init__(
        self,
        database_url: str,
        refresh_s: float = 30.0,
        miss_refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = sa.create_engine(database_url)
        self._refresh_s = refresh_s
        self._miss_refresh_s = miss_refresh_s
        self._clock = clock
        self._ids: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")
        self._warned = False
        # station id -> when it was last looked up alone (bounded: cleared past _MAX_CHECKED)
        self._checked: dict[str, float] = {}

    def _load(self) -> None:
        self._loaded_at = self._clock()
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.text(f"SELECT id FROM {STATIONS_TABLE} WHERE retired_at IS NULL")
                ).all()
        except sa.exc.SQLAlchemyError as exc:
            if not self._warned:
                log.error(
                    "cannot read the station registry (%s); readings are rejected as "
                    "unknown stations until it is available",
                    str(exc).splitlines()[0],
                )
                self._warned = True
            return
        if self._warned:
            log.info("station registry available again")
            self._warned = False
        self._ids = frozenset(r[0] for r in rows)

    def __contains__(self, station: object) -> bool:
        if self._clock() - self._loaded_at > self._refresh_s:
            self._load()
        if station in self._ids:
            return True
        now = self._clock()
        if now - self._loaded_at > self._miss_refresh_s:
            self._load()
            return station in self._ids
        # a station registered since the last load, whose first reading comes within
        # miss_refresh_s of another miss (two stations registered in the same minute of a
        # workshop): looked up alone, at most once per miss_refresh_s for each id, so that its
        # first reading is not refused as unknown
        if not isinstance(station, str):
            return False
        last = self._checked.get(station)
        if last is not None and now - last <= self._miss_refresh_s:
            return False
        if len(self._checked) >= _MAX_CHECKED:
            self._checked.clear()
        self._checked[station] = now
        if self._lookup(station):
            self._ids = self._ids | {station}
            return True
        return False

    def _lookup(self, station: str) -> bool:
        try:
            with self._engine.connect() as conn:
                row = conn.execute(
                    sa.text(
                        f"SELECT 1 FROM {STATIONS_TABLE} WHERE id = :id AND retired_at IS NULL"
                    ),
                    {"id": station},
                ).first()
        except sa.exc.SQLAlchemyError:
            return False  # _load logs the registry's unavailability once
        return row is not None

    def all(self) -> frozenset[str]:
        """Every active station id (refreshed when older than the refresh period)."""
        if self._clock() - self._loaded_at > self._refresh_s:
            self._load()
        return self._ids

    def close(self) -> None:
        self._engine.dispose()
