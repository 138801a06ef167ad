"""Which board sends for each station: the chip id of airrohr boards (``X-Sensor`` header,
``esp8266-<chip id>`` or ``esp32-<chip id>``), bound to the station at its first accepted push.

One row per run of one chip on one station (table ``station_hardware``, in the registry's
database, created on first use like the registry's own tables):

* ``first``: the station's first chip, bound at its first accepted push; at most one per
  station (a unique index: of two first pushes at the same instant, one binds and the other is
  recorded as a change);
* ``changed``: a later push from another chip; accepted, and the station's history stays
  with the station (a resident replaced a faulty Wi-Fi module, a board was swapped);
* ``foreign``: a push whose chip is the current chip of **another** station (a board set up
  with the wrong station's credentials, or credentials copied to a second board): accepted
  but flagged; the chip stays bound to its station.

A chip that another station used before but no longer uses (that station has changed chips
since) is free: a board moved between stations is a hardware change, not a conflict.

Reads and writes are synchronous (call them from a thread pool). A station whose current chip
was seen recently is answered from memory: one write per station per :data:`TOUCH_S` at most.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from api.registry import Registry

__all__ = [
    "CHANGED",
    "FIRST",
    "FOREIGN",
    "HARDWARE_TABLE",
    "SAME",
    "ChipEvent",
    "HardwareBook",
    "book_for",
    "chip_from_header",
]

HARDWARE_TABLE = "station_hardware"
FIRST, SAME, CHANGED, FOREIGN = "first", "same", "changed", "foreign"
TOUCH_S = 300.0  # last_seen is refreshed at most this often per station

metadata = sa.MetaData()
hardware_t = sa.Table(
    HARDWARE_TABLE,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("chip_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    # foreign: the station this chip is bound to
    sa.Column("other_station", sa.String(64), nullable=True),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)
# at most one ``first`` row per station: of two first pushes at the same instant (two boards
# set up with the same credentials at a workshop), the database lets one bind and the other
# is recorded as a change (:meth:`HardwareBook.record` reads again). A partial unique index,
# on SQLite and PostgreSQL alike.
FIRST_ONCE = sa.Index(
    "station_hardware_first_once",
    hardware_t.c.station_id,
    unique=True,
    sqlite_where=hardware_t.c.kind == FIRST,
    postgresql_where=hardware_t.c.kind == FIRST,
)

_HEADER = re.compile(r"(esp8266|esp32)-([0-9A-Za-z]{1,32})")


def chip_from_header(value: str | None) -> str | None:
    """``"esp8266-3122405"`` -> ``"esp8266-3122405"``; anything else -> None (not recorded)."""
    if not value:
        return None
    m = _HEADER.fullmatch(value.strip())
    return f"{m.group(1)}-{m.group(2).lower()}" if m else None


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ChipEvent:
    """One row: ``kind`` is first, changed or foreign."""

    station_id: str
    chip_id: str
    kind: str
    other_station: str | None
    first_seen: datetime
    last_seen: datetime

    def as_json(self, full_chip: bool = True) -> dict[str, object]:
        chip = self.chip_id if full_chip else mask_chip(self.chip_id)
        out: dict[str, object] = {
            "chip": chip,
            "kind": self.kind,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }
        if full_chip and self.other_station:
            out["other_station"] = self.other_station
        return out


def mask_chip(chip: str) -> str:
    """The chip id for public pages: its family and last 4 characters (``esp8266-…2405``)."""
    family, _, number = chip.partition("-")
    return f"{family}-…{number[-4:]}" if len(number) > 4 else chip


class HardwareBook:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        _ensure_first_once(engine)
        self._lock = threading.Lock()
        self._recent: dict[str, tuple[str, float]] = {}  # station -> (current chip, noted at)

    def _current(self, conn: sa.Connection, station_id: str) -> sa.Row[tuple[object, ...]] | None:
        return conn.execute(
            sa.select(hardware_t)
            .where(hardware_t.c.station_id == station_id, hardware_t.c.kind.in_((FIRST, CHANGED)))
            .order_by(hardware_t.c.id.desc())
            .limit(1)
        ).first()

    def _owner(self, conn: sa.Connection, station_id: str, chip: str) -> str | None:
        """The other station whose current chip is ``chip``, if any."""
        candidates = conn.execute(
            sa.select(hardware_t.c.station_id)
            .where(
                hardware_t.c.chip_id == chip,
                hardware_t.c.kind.in_((FIRST, CHANGED)),
                hardware_t.c.station_id != station_id,
            )
            .distinct()
        ).scalars()
        for other in candidates:
            current = self._current(conn, other)
            if current is not None and current.chip_id == chip:
                return str(other)
        return None

    def record(self, station_id: str, chip: str, now: float | None = None) -> str:
        """Record an accepted push of ``station_id`` from ``chip``; returns its kind:
        first, same, changed or foreign."""
        t = time.time() if now is None else now
        with self._lock:
            noted = self._recent.get(station_id)
            if noted is not None and noted[0] == chip and t - noted[1] < TOUCH_S:
                return SAME
        at = datetime.fromtimestamp(t, UTC)
        for attempt in range(3):
            try:
                kind = self._record(station_id, chip, at)
                break
            except sa.exc.IntegrityError:
                # another push bound the station's first chip since we read: read again (this
                # chip is then the same one, a change, or another station's)
                if attempt == 2:
                    raise
        if kind != FOREIGN:
            with self._lock:
                if len(self._recent) > 100_000:
                    self._recent.clear()
                self._recent[station_id] = (chip, t)
        return kind

    def _record(self, station_id: str, chip: str, at: datetime) -> str:
        """One transaction of :meth:`record`; IntegrityError when a concurrent push bound the
        station's first chip in between (the unique index :data:`FIRST_ONCE`)."""
        with self.engine.begin() as conn:
            current = self._current(conn, station_id)
            if current is not None and current.chip_id == chip:
                conn.execute(
                    hardware_t.update().where(hardware_t.c.id == current.id).values(last_seen=at)
                )
                return SAME
            other = self._owner(conn, station_id, chip)
            if other is not None:
                seen = conn.execute(
                    sa.select(hardware_t.c.id).where(
                        hardware_t.c.station_id == station_id,
                        hardware_t.c.chip_id == chip,
                        hardware_t.c.kind == FOREIGN,
                        hardware_t.c.other_station == other,
                    )
                ).scalar()
                if seen is None:
                    conn.execute(
                        hardware_t.insert().values(
                            station_id=station_id,
                            chip_id=chip,
                            kind=FOREIGN,
                            other_station=other,
                            first_seen=at,
                            last_seen=at,
                        )
                    )
                else:
                    conn.execute(
                        hardware_t.update().where(hardware_t.c.id == seen).values(last_seen=at)
                    )
                return FOREIGN
            kind = FIRST if current is None else CHANGED
            conn.execute(
                hardware_t.insert().values(
                    station_id=station_id,
                    chip_id=chip,
                    kind=kind,
                    other_station=None,
                    first_seen=at,
                    last_seen=at,
                )
            )
            return kind

    def history(self, station_id: str) -> list[ChipEvent]:
        """The station's rows, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(hardware_t)
                .where(hardware_t.c.station_id == station_id)
                .order_by(hardware_t.c.id)
            ).all()
        return [_event(r) for r in rows]

    def summaries(self, station_ids: list[str]) -> dict[str, dict[str, object]]:
        """Per station that has pushed from a known chip: the current chip, since when, the
        number of hardware changes and the foreign pushes (flagged), for the admin listing."""
        if not station_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(hardware_t)
                .where(hardware_t.c.station_id.in_(station_ids))
                .order_by(hardware_t.c.id)
            ).all()
        out: dict[str, dict[str, object]] = {}
        for r in rows:
            e = _event(r)
            s = out.setdefault(
                e.station_id, {"chip": None, "since": None, "changes": 0, "foreign": []}
            )
            if e.kind in (FIRST, CHANGED):
                s["chip"], s["since"] = e.chip_id, e.first_seen
                if e.kind == CHANGED:
                    s["changes"] = int(str(s["changes"])) + 1
            else:
                foreign = s["foreign"]
                assert isinstance(foreign, list)
                foreign.append(
                    {
                        "chip": e.chip_id,
                        "other_station": e.other_station,
                        "last_seen": e.last_seen,
                    }
                )
        return out


def _ensure_first_once(engine: sa.Engine) -> None:
    """Adds :data:`FIRST_ONCE` to a table created before it. A station that two simultaneous
    pushes bound twice then keeps its earliest ``first``; the later ones become ``changed``
    (what they would have been one after the other)."""
    if _has_first_once(engine):
        return
    try:
        with engine.begin() as conn:
            earlier = hardware_t.alias("earlier")
            first_id = (
                sa.select(sa.func.min(earlier.c.id))
                .where(earlier.c.station_id == hardware_t.c.station_id, earlier.c.kind == FIRST)
                .scalar_subquery()
            )
            conn.execute(
                hardware_t.update()
                .where(hardware_t.c.kind == FIRST, hardware_t.c.id > first_id)
                .values(kind=CHANGED)
            )
            FIRST_ONCE.create(conn, checkfirst=True)
    except sa.exc.DBAPIError:
        if not _has_first_once(engine):  # not another process creating it at the same time
            raise


def _has_first_once(engine: sa.Engine) -> bool:
    return any(
        ix["name"] == FIRST_ONCE.name for ix in sa.inspect(engine).get_indexes(HARDWARE_TABLE)
    )


def _event(r: sa.Row[tuple[object, ...]]) -> ChipEvent:
    return ChipEvent(
        station_id=r.station_id,
        chip_id=r.chip_id,
        kind=r.kind,
        other_station=r.other_station,
        first_seen=_utc(r.first_seen),
        last_seen=_utc(r.last_seen),
    )


_BOOKS: weakref.WeakKeyDictionary[Registry, HardwareBook] = weakref.WeakKeyDictionary()
_BOOKS_LOCK = threading.Lock()


def book_for(registry: Registry) -> HardwareBook:
    """The hardware book kept in ``registry``'s database (one per registry object)."""
    with _BOOKS_LOCK:
        book = _BOOKS.get(registry)
        if book is None:
            book = _BOOKS[registry] = HardwareBook(registry.engine)
        return book
