"""Which stations exist: read from the registry database owned by the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa

from airq_core.storage import STATIONS_TABLE

log = logging.getLogger(__name__)


class KnownStations:
    """A cached set of active station ids, refreshed periodically and on a miss (rate-limited),
    so a station registered during a workshop is accepted within seconds."""

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
        if self._clock() - self._loaded_at > self._miss_refresh_s:
            self._load()
            return station in self._ids
        return False

    def all(self) -> frozenset[str]:
        """Every active station id (refreshed when older than the refresh period)."""
        if self._clock() - self._loaded_at > self._refresh_s:
            self._load()
        return self._ids

    def close(self) -> None:
        self._engine.dispose()
