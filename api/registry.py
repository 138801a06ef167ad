"""The station registry (SQLite by default, PostgreSQL when AIRQ_DATABASE_URL points at one).

Tokens are random (192 bits) and stored only as a Mosquitto-compatible PBKDF2-SHA512 hash, so
the same record authenticates a board over HTTP and seeds a broker's dynamic-security file.

The registry is the single source of truth for broker accounts: with :attr:`Registry.accounts`
set (:class:`api.broker_accounts.BrokerAccounts`), adding a station, rotating its token and
retiring it change the broker in the same transaction; when the broker refuses or cannot be
reached, :class:`api.broker_accounts.BrokerError` is raised and the registry is unchanged.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from airq_core.storage import STATIONS_TABLE
from airq_core.wire import STATION_ID_RE

if TYPE_CHECKING:
    from api.broker_accounts import StationAccounts

log = logging.getLogger(__name__)

SOURCE_OWN = "airquartiers"
SOURCE_SENSOR_COMMUNITY = "sensor.community"

metadata = sa.MetaData()

stations = sa.Table(
    STATIONS_TABLE,
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("indoor", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("token_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    # where the data comes from: "airquartiers" (our stations) or "sensor.community" (imported)
    sa.Column("source", sa.String(40), nullable=False, server_default=SOURCE_OWN),
    # decimals of lat/lon on public outputs chosen for this station (its owner's choice);
    # NULL: the deployment's AIRQ_PUBLIC_LOCATION_DECIMALS, whatever it is when published
    sa.Column("precision", sa.Integer, nullable=True),
)


# where each station was: one row per placement, [valid_from, valid_to) in UTC, valid_to NULL
# for the current one. A station's data is attributed to the placement of the time it was
# measured (QPV statistics); ``precision`` is the number of decimals of lat/lon on public
# outputs for this placement: the precision it was published at when it ended (coarsened
# since if the owner asked for a coarser one, see Registry.update); the current placement is
# published at its station's precision (Registry.placements gives that one).
PLACEMENTS_TABLE = "station_placements"
placements_t = sa.Table(
    PLACEMENTS_TABLE,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("indoor", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("precision", sa.Integer, nullable=False),
)

DEFAULT_PUBLIC_DECIMALS = 3  # ApiSettings.public_location_decimals' default
# the precisions an owner may choose for a station (docs/api.md "Privacy"): 2 decimals
# (~1.1 km, coarser than a QPV's streets) to 5 (~1 m, a station on a public building)
PRECISION_MIN = 2
PRECISION_MAX = 5
# Registry.update(precision=...): back to the deployment's AIRQ_PUBLIC_LOCATION_DECIMALS
DEPLOYMENT_DEFAULT: Literal["default"] = "default"


class RegistryError(ValueError):
    """A registry operation was refused; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    name: str
    lat: float
    lon: float
    indoor: bool
    created_at: datetime
    retired_at: datetime | None
    source: str = SOURCE_OWN
    # decimals of lat/lon on public outputs chosen for it; None: the deployment's default
    precision: int | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a station was during [valid_from, valid_to) (valid_to None: still there)."""

    id: int
    station_id: str
    valid_from: datetime
    valid_to: datetime | None
    lat: float
    lon: float
    indoor: bool
    precision: int

    def span(self, start: float, end: float) -> tuple[float, float] | None:
        """The part of [start, end) (epoch seconds) this placement covers, or None."""
        t0 = max(start, self.valid_from.timestamp())
        t1 = end if self.valid_to is None else min(end, self.valid_to.timestamp())
        return (t0, t1) if t0 < t1 else None


@dataclass(frozen=True, slots=True)
class NewStation:
    """One station of :meth:`Registry.add_many`."""

    id: str
    lat: float
    lon: float
    name: str = ""
    indoor: bool = False
    precision: int | None = None  # None: the deployment's default


def hash_token(token: str, iterations: int = 101) -> str:
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", token.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_token(token: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        got = hashlib.pbkdf2_hmac("sha512", token.encode(), base64.b64decode(salt), int(iterations))
        return hmac.compare_digest(got, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


def validate_station(station_id: str, lat: float, lon: float) -> None:
    if not STATION_ID_RE.fullmatch(station_id):
        raise RegistryError(
            f"invalid station id {station_id!r}: use 3 to 64 lower-case letters, digits and "
            "dashes, starting with a letter or digit (e.g. lens-01)"
        )
    if station_id.startswith("airq-"):
        raise RegistryError(f"station ids starting with 'airq-' are reserved: {station_id!r}")
    if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        raise RegistryError(f"invalid coordinates lat={lat} lon={lon}")


def check_precision(precision: object) -> None:
    """Refuse a public precision outside PRECISION_MIN..PRECISION_MAX decimals."""
    if (
        isinstance(precision, bool)
        or not isinstance(precision, int)
        or not PRECISION_MIN <= precision <= PRECISION_MAX
    ):
        raise RegistryError(
            f"invalid precision {precision!r}: give {PRECISION_MIN} to {PRECISION_MAX} "
            "decimals of lat/lon on public outputs (2 ≈ 1 km, 3 ≈ 100 m, 4 ≈ 10 m, 5 ≈ 1 m)"
        )


def _utc(t: datetime | None) -> datetime | None:
    """Times are written in UTC; SQLite gives them back without a zone, PostgreSQL in the
    session's zone: both come out as aware UTC datetimes (RFC 3339 with ``Z`` in JSON)."""
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _row(r: sa.Row) -> Station:  # type: ignore[type-arg]
    created = _utc(r.created_at)
    assert created is not None  # NOT NULL column
    return Station(
        r.id,
        r.name,
        r.lat,
        r.lon,
        bool(r.indoor),
        created,
        _utc(r.retired_at),
        r.source,
        r.precision,
    )


def _placement(r: sa.Row, current_precision: int | None = None) -> Placement:  # type: ignore[type-arg]
    """A placement row; the current one (no ``valid_to``) at ``current_precision`` when
    given (its station's precision as published now)."""
    start = _utc(r.valid_from)
    assert start is not None  # NOT NULL column
    precision = r.precision
    if r.valid_to is None and current_precision is not None:
        precision = current_precision
    return Placement(
        r.id, r.station_id, start, _utc(r.valid_to), r.lat, r.lon, bool(r.indoor), precision
    )


def _as_utc(t: datetime | float) -> datetime:
    if isinstance(t, datetime):
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return datetime.fromtimestamp(t, UTC)


def _migrate(engine: sa.Engine, public_decimals: int = DEFAULT_PUBLIC_DECIMALS) -> None:
    """Add columns that registries created by earlier versions lack, and give each station
    without a placement one, from its creation, at its recorded location (idempotent; the
    placements table itself is created by ``create_all``)."""
    columns = {c["name"] for c in sa.inspect(engine).get_columns(STATIONS_TABLE)}
    if "source" not in columns:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"ALTER TABLE {STATIONS_TABLE} ADD COLUMN source VARCHAR(40) "
                    f"NOT NULL DEFAULT '{SOURCE_OWN}'"
                )
            )
    if "precision" not in columns:  # NULL: the deployment's default, as before
        with engine.begin() as conn:
            conn.execute(sa.text(f'ALTER TABLE {STATIONS_TABLE} ADD COLUMN "precision" INTEGER'))
    placed = sa.select(placements_t.c.id).where(placements_t.c.station_id == stations.c.id)
    missing = sa.select(
        stations.c.id,
        stations.c.created_at,
        stations.c.lat,
        stations.c.lon,
        stations.c.indoor,
        sa.literal(public_decimals, sa.Integer),
    ).where(~sa.exists(placed))
    with engine.begin() as conn:
        conn.execute(
            placements_t.insert().from_select(
                ["station_id", "valid_from", "lat", "lon", "indoor", "precision"], missing
            )
        )


class _StationMemo:
    """Stations already looked up in a SQLite file, forgotten as soon as anything is
    committed to the file, by this process or another (``PRAGMA data_version``, asked on a
    connection of its own that never writes, changes then): a lookup costs one pragma
    (~10 µs) instead of a query through SQLAlchemy (~0.1 ms warm, 0.4 ms in a server
    between requests). Unknown ids are remembered too; at most ``MAX`` entries."""

    MAX = 10_000

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Station | None] = {}
        # station id -> all its placements, oldest first (``Registry.placements``)
        self._placements: dict[str, list[Placement]] = {}
        self._version: int | None = None
        self._conn: sqlite3.Connection | None = sqlite3.connect(path, check_same_thread=False)

    def _current(self) -> int:
        """The file's version, everything forgotten when it changed; -1 once closed.
        Under the lock."""
        if self._conn is None:  # closed: the registry still answers, from the database
            return -1
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._entries.clear()
            self._placements.clear()
            self._version = version
        return version

    def lookup(self, station_id: str) -> tuple[bool, Station | None, int]:
        """(known, station, version of the file when looked up)."""
        with self._lock:
            version = self._current()
            if version >= 0 and station_id in self._entries:
                return True, self._entries[station_id], version
            return False, None, version

    def keep(self, station_id: str, station: Station | None, version: int) -> None:
        with self._lock:
            # read before a later commit was seen (or once closed): not kept
            if version == self._version:
                if len(self._entries) >= self.MAX:
                    self._entries.clear()
                self._entries[station_id] = station

    def lookup_placements(self, station_id: str) -> tuple[list[Placement] | None, int]:
        """(the station's placements if known, version of the file when looked up)."""
        with self._lock:
            version = self._current()
            return (self._placements.get(station_id) if version >= 0 else None), version

    def keep_placements(self, station_id: str, found: list[Placement], version: int) -> None:
        with self._lock:
            if version == self._version:
                if len(self._placements) >= self.MAX:
                    self._placements.clear()
                self._placements[station_id] = found

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class Registry:
    def __init__(self, database_url: str, public_decimals: int = DEFAULT_PUBLIC_DECIMALS) -> None:
        # the public precision given to new placements (AIRQ_PUBLIC_LOCATION_DECIMALS)
        self.public_decimals = public_decimals
        url = sa.engine.make_url(database_url)
        # an embedded database (SQLite file): no network, lookups take ~0.1 ms, and no
        # connection to check before use (pre-ping: one more statement per lookup)
        self.embedded = url.get_backend_name() == "sqlite"
        self.engine = sa.create_engine(database_url, pool_pre_ping=not self.embedded)
        metadata.create_all(self.engine)
        _migrate(self.engine, public_decimals)
        self._memo: _StationMemo | None = None
        # the broker accounts kept from this registry (None: a registry without a broker)
        self.accounts: StationAccounts | None = None
        path = url.database if self.embedded else None
        # a database in memory is private to each connection: nothing to watch there
        if path and path != ":memory:" and not path.startswith("file::memory:"):
            self._memo = _StationMemo(path)

    def ping(self) -> bool:
        """True when the database answers a trivial query (readiness probe)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        if self._memo is not None:
            self._memo.close()
        self.engine.dispose()

    def add(
        self,
        station_id: str,
        lat: float,
        lon: float,
        name: str = "",
        indoor: bool = False,
        source: str = SOURCE_OWN,
        precision: int | None = None,
    ) -> str:
        """Create a station; returns its secret token (shown once, stored hashed).
        ``precision``: decimals of its location on public outputs (None: the deployment's
        default), :data:`PRECISION_MIN` to :data:`PRECISION_MAX`."""
        validate_station(station_id, lat, lon)
        if precision is not None:
            check_precision(precision)
        token = secrets.token_urlsafe(24)
        # imported stations (sensor.community) publish nothing: no broker account
        accounts = self.accounts if source == SOURCE_OWN else None
        on_broker = False
        try:
            now = datetime.now(UTC)
            with self.engine.begin() as conn:
                conn.execute(
                    stations.insert().values(
                        id=station_id,
                        name=name,
                        lat=lat,
                        lon=lon,
                        indoor=indoor,
                        token_hash=hash_token(token),
                        created_at=now,
                        source=source,
                        precision=precision,
                    )
                )
                conn.execute(
                    placements_t.insert().values(
                        station_id=station_id,
                        valid_from=now,
                        lat=lat,
                        lon=lon,
                        indoor=indoor,
                        precision=self.public_decimals if precision is None else precision,
                    )
                )
                if accounts is not None:  # before the commit: refused, nothing is stored
                    accounts.create_station(station_id, token)
                    on_broker = True
        except sa.exc.IntegrityError:  # raised by the insert, before the broker is asked
            raise RegistryError(f"station {station_id!r} already exists") from None
        except Exception:
            if on_broker and accounts is not None:  # the commit failed: no account either
                accounts.remove_station(station_id)
            raise
        return token

    def add_many(self, new: Sequence[NewStation]) -> builtins.list[str]:
        """Create the stations in one transaction, all or none; returns their tokens in
        order (shown once, stored hashed). Raises :class:`RegistryError` for a bad row, an id
        given twice or one that exists (check them first for a per-row report:
        :func:`validate_station`, :meth:`existing_ids`).

        With :attr:`accounts`, the broker accounts are created in batches before the commit
        (:meth:`api.broker_accounts.BrokerAccounts.create_stations`); when the broker refuses
        or the commit fails, the accounts already created are removed, and any the broker
        could not be told about are removed by the next synchronisation (the API's start-up,
        ``airq broker sync``): stations the registry lacks are never left able to publish."""
        for st in new:
            validate_station(st.id, st.lat, st.lon)
            if st.precision is not None:
                check_precision(st.precision)
        ids = [st.id for st in new]
        if len(set(ids)) != len(ids):
            twice = sorted(i for i, n in Counter(ids).items() if n > 1)[:5]
            raise RegistryError(f"station ids given twice: {', '.join(twice)}")
        tokens = [secrets.token_urlsafe(24) for _ in new]
        now = datetime.now(UTC)
        rows = [
            dict(
                id=st.id,
                name=st.name,
                lat=st.lat,
                lon=st.lon,
                indoor=st.indoor,
                token_hash=hash_token(token),
                created_at=now,
                source=SOURCE_OWN,
                precision=st.precision,
            )
            for st, token in zip(new, tokens, strict=True)
        ]
        places = [
            dict(
                station_id=st.id,
                valid_from=now,
                lat=st.lat,
                lon=st.lon,
                indoor=st.indoor,
                precision=self.public_decimals if st.precision is None else st.precision,
            )
            for st in new
        ]
        accounts = self.accounts
        asked_broker = False
        try:
            with self.engine.begin() as conn:
                for i in range(0, len(rows), 1000):
                    conn.execute(stations.insert(), rows[i : i + 1000])
                    conn.execute(placements_t.insert(), places[i : i + 1000])
                if accounts is not None and new:  # before the commit: refused, none stored
                    asked_broker = True
                    accounts.create_stations(zip(ids, tokens, strict=True))
        except sa.exc.IntegrityError:  # raised by an insert, before the broker is asked
            raise RegistryError("one of the stations already exists (added meanwhile?)") from None
        except Exception:
            if asked_broker and accounts is not None:
                try:
                    accounts.remove_stations(ids)
                except Exception as exc:  # the broker is down: its next sync removes them
                    log.warning("broker accounts of a failed bulk left to the next sync: %s", exc)
            raise
        return tokens

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` that the registry holds (retired stations included)."""
        wanted = sorted(set(ids))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                q = sa.select(stations.c.id).where(stations.c.id.in_(wanted[i : i + 500]))
                found.update(r.id for r in conn.execute(q))
        return found

    def get_many(self, ids: Iterable[str]) -> dict[str, Station]:
        """station id -> station for the ids among ``ids`` that the registry holds (retired
        stations included): only their rows are read, whatever the fleet's size."""
        wanted = sorted(set(ids))
        out: dict[str, Station] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                q = stations.select().where(stations.c.id.in_(wanted[i : i + 500]))
                out.update((r.id, _row(r)) for r in conn.execute(q))
        return out

    def list_page(
        self, after: str | None = None, limit: int = 1000, include_retired: bool = False
    ) -> builtins.list[Station]:
        """At most ``limit`` stations ordered by id, those after the id ``after``."""
        q = stations.select().order_by(stations.c.id).limit(limit)
        if after is not None:
            q = q.where(stations.c.id > after)
        if not include_retired:
            q = q.where(stations.c.retired_at.is_(None))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def count(self, include_retired: bool = False) -> int:
        q = sa.select(sa.func.count()).select_from(stations)
        if not include_retired:
            q = q.where(stations.c.retired_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def get(self, station_id: str) -> Station | None:
        if self._memo is None:
            return self._select(station_id)
        found, station, version = self._memo.lookup(station_id)
        if found:
            return station
        station = self._select(station_id)
        self._memo.keep(station_id, station, version)
        return station

    def _select(self, station_id: str) -> Station | None:
        with self.engine.connect() as conn:
            r = conn.execute(stations.select().where(stations.c.id == station_id)).first()
        return _row(r) if r else None

    def list(self, include_retired: bool = False) -> list[Station]:
        q = stations.select().order_by(stations.c.id)
        if not include_retired:
            q = q.where(stations.c.retired_at.is_(None))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def effective_precision(self, station: Station) -> int:
        """Decimals the station's current location is published at: its own, or the
        deployment's default (the ``public_decimals`` this registry was opened with)."""
        return self.public_decimals if station.precision is None else station.precision

    def update(
        self,
        station_id: str,
        *,
        name: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        indoor: bool | None = None,
        moved_at: datetime | None = None,
        precision: int | Literal["default"] | None = None,
    ) -> Station:
        """Change the name, location, indoor flag or public precision of a station; returns
        the new record.

        A new location or indoor flag is a move: the current placement ends at ``moved_at``
        (default now) and a new one starts there, so the data measured before stays
        attributed to where it was measured. ``moved_at`` in the future or before the
        current placement's start is refused; at its very start, the current placement is
        corrected instead. A name alone changes no placement.

        ``precision`` (decimals of lat/lon on public outputs, or :data:`DEPLOYMENT_DEFAULT`)
        moves nothing: the current placement is published at it from now on, and every past
        placement published more precisely is coarsened to it (a past placement is never
        made more precise). A move without ``precision`` keeps the station's precision,
        except one finer than the deployment's default: the new place gets the default (a
        precision chosen for a public building does not follow the station into a home)."""
        current = self.get(station_id)
        if current is None:
            raise RegistryError(f"no station {station_id!r}")
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = name
        new_lat = current.lat if lat is None else lat
        new_lon = current.lon if lon is None else lon
        new_indoor = current.indoor if indoor is None else indoor
        if not (-90 <= new_lat <= 90) or not (-180 <= new_lon <= 180):
            raise RegistryError(f"invalid coordinates lat={new_lat} lon={new_lon}")
        moves = (new_lat, new_lon, new_indoor) != (current.lat, current.lon, current.indoor)
        if moves:
            values.update(lat=new_lat, lon=new_lon, indoor=new_indoor)
        elif moved_at is not None and not values:
            raise RegistryError(
                "moved_at given without a new location or indoor flag: nothing moves"
            )
        chosen = current.precision
        if isinstance(precision, int):
            check_precision(precision)
            chosen = precision
        elif precision == DEPLOYMENT_DEFAULT:
            chosen = None
        elif precision is not None:
            check_precision(precision)  # a wrong value: refused, naming it
        elif moves and chosen is not None and chosen > self.public_decimals:
            chosen = None
        if chosen != current.precision:
            values["precision"] = chosen
        published = self.effective_precision(current)
        publish = self.public_decimals if chosen is None else chosen
        now = datetime.now(UTC)
        when = now if moved_at is None else _as_utc(moved_at)
        if moves and when > now:
            raise RegistryError(
                f"moved_at {when.isoformat()} is in the future: give the time the station "
                "was actually moved (UTC), or leave it out for now"
            )
        if values or precision is not None:
            with self.engine.begin() as conn:
                if moves:
                    self._move(
                        conn, station_id, new_lat, new_lon, new_indoor, when, published, publish
                    )
                if precision is not None:
                    self._publish_at(conn, station_id, publish)
                if values:
                    conn.execute(
                        stations.update().where(stations.c.id == station_id).values(values)
                    )
        updated = self.get(station_id)
        assert updated is not None
        return updated

    def _publish_at(self, conn: sa.Connection, station_id: str, precision: int) -> None:
        """The current placement published at ``precision``, every past one at most."""
        p = placements_t.c
        conn.execute(
            placements_t.update()
            .where(p.station_id == station_id, p.valid_to.is_(None))
            .values(precision=precision)
        )
        conn.execute(
            placements_t.update()
            .where(p.station_id == station_id, p.valid_to.is_not(None), p.precision > precision)
            .values(precision=precision)
        )

    def _move(
        self,
        conn: sa.Connection,
        station_id: str,
        lat: float,
        lon: float,
        indoor: bool,
        when: datetime,
        published: int,
        publish: int,
    ) -> None:
        """Close the current placement at ``when`` (at the precision it was ``published``
        at) and open one at the new place (published at ``publish``)."""
        r = conn.execute(
            placements_t.select()
            .where(placements_t.c.station_id == station_id, placements_t.c.valid_to.is_(None))
            .order_by(placements_t.c.valid_from.desc())
            .with_for_update()
        ).first()
        place = dict(lat=lat, lon=lon, indoor=indoor, precision=publish)
        if r is None:  # cannot happen after _migrate; kept so a move never loses the history
            conn.execute(
                placements_t.insert().values(station_id=station_id, valid_from=when, **place)
            )
            return
        current = _placement(r)
        if when < current.valid_from:
            raise RegistryError(
                f"moved_at {when.isoformat()} is before the start of the current placement "
                f"({current.valid_from.isoformat()}): a move can only close the current "
                "placement"
            )
        if when == current.valid_from:  # a correction of the current placement
            conn.execute(placements_t.update().where(placements_t.c.id == current.id).values(place))
            return
        conn.execute(
            placements_t.update()
            .where(placements_t.c.id == current.id)
            .values(valid_to=when, precision=published)
        )
        conn.execute(placements_t.insert().values(station_id=station_id, valid_from=when, **place))

    def _placements_query(self) -> sa.Select:  # type: ignore[type-arg]
        """Placements with their station's chosen precision (for the current one)."""
        return sa.select(placements_t, stations.c.precision.label("station_precision")).join(
            stations, stations.c.id == placements_t.c.station_id, isouter=True
        )

    def _with_precision(self, r: sa.Row) -> Placement:  # type: ignore[type-arg]
        chosen = r.station_precision
        return _placement(r, self.public_decimals if chosen is None else chosen)

    def placements(self, station_id: str) -> builtins.list[Placement]:
        """The station's placements, oldest first (empty for an unknown station); the
        current one at the precision its station is published at now."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                self._placements_query()
                .where(placements_t.c.station_id == station_id)
                .order_by(placements_t.c.valid_from, placements_t.c.id)
            ).all()
        return [self._with_precision(r) for r in rows]

    def placements_between(
        self, ids: Iterable[str], start: datetime | float, end: datetime | float
    ) -> dict[str, builtins.list[Placement]]:
        """station id -> its placements overlapping [start, end) (datetimes, or epoch
        seconds), oldest first; stations without any are left out. The current placements
        at the precision their station is published at now."""
        wanted = sorted(set(ids))
        out: dict[str, builtins.list[Placement]] = {}
        if not wanted:
            return out
        t0, t1 = _as_utc(start), _as_utc(end)
        if self._memo is not None and len(wanted) == 1:
            # one station (a series route): its placements from the memo (~10 µs, forgotten
            # at every commit to the file) rather than a query through SQLAlchemy (~0.5 ms)
            sid = wanted[0]
            known, version = self._memo.lookup_placements(sid)
            if known is None:
                known = self.placements(sid)
                self._memo.keep_placements(sid, known, version)
            got = [
                p for p in known if p.valid_from < t1 and (p.valid_to is None or p.valid_to > t0)
            ]
            if got:
                out[sid] = got
            return out
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                rows = conn.execute(
                    self._placements_query()
                    .where(
                        placements_t.c.station_id.in_(wanted[i : i + 500]),
                        placements_t.c.valid_from < t1,
                        sa.or_(placements_t.c.valid_to.is_(None), placements_t.c.valid_to > t0),
                    )
                    .order_by(placements_t.c.station_id, placements_t.c.valid_from)
                ).all()
                for r in rows:
                    out.setdefault(r.station_id, []).append(self._with_precision(r))
        return out

    def ensure(
        self,
        station_id: str,
        lat: float,
        lon: float,
        name: str = "",
        indoor: bool = False,
        source: str = SOURCE_OWN,
    ) -> bool:
        """Create the station unless it exists (its token is then never shown: for imported
        stations, which publish nothing). Returns True when it was created."""
        if self.get(station_id) is not None:
            return False
        try:
            self.add(station_id, lat, lon, name, indoor, source)
        except RegistryError:
            if self.get(station_id) is None:
                raise
            return False  # created meanwhile by another process
        return True

    def verify_token(self, station_id: str, token: str) -> bool:
        with self.engine.connect() as conn:
            r = conn.execute(
                sa.select(stations.c.token_hash).where(
                    stations.c.id == station_id, stations.c.retired_at.is_(None)
                )
            ).first()
        return r is not None and check_token(token, r.token_hash)

    def _publishes(self, conn: sa.Connection, station_id: str) -> bool:
        """Whether the station has a broker account: ours and in service."""
        r = conn.execute(
            sa.select(stations.c.retired_at, stations.c.source).where(stations.c.id == station_id)
        ).first()
        return r is not None and r.retired_at is None and r.source == SOURCE_OWN

    def rotate_token(self, station_id: str) -> str:
        """A new token for the station; the old one stops working over HTTP and, with
        :attr:`accounts`, on the broker (its open connection closed) before this returns."""
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            n = conn.execute(
                stations.update()
                .where(stations.c.id == station_id)
                .values(token_hash=hash_token(token))
            ).rowcount
            if n and self.accounts is not None and self._publishes(conn, station_id):
                self.accounts.set_station_token(station_id, token)  # refused: rolled back
        if not n:
            raise RegistryError(f"no station {station_id!r}")
        return token

    def retire(self, station_id: str) -> None:
        """The station stops publishing (its data stays); with :attr:`accounts`, its broker
        account is deleted and its open connection closed before this returns."""
        with self.engine.begin() as conn:
            n = conn.execute(
                stations.update()
                .where(stations.c.id == station_id)
                .values(retired_at=datetime.now(UTC))
            ).rowcount
            if n and self.accounts is not None:
                self.accounts.remove_station(station_id)  # refused: rolled back
        if not n:
            raise RegistryError(f"no station {station_id!r}")

    def publishing_ids(self) -> builtins.list[str]:
        """Ids of the stations that have a broker account: ours, in service."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(stations.c.id).where(
                    stations.c.retired_at.is_(None), stations.c.source == SOURCE_OWN
                )
            ).all()
        return sorted(r.id for r in rows)

    def mosquitto_users(self) -> dict[str, str]:
        """station id -> password hash of the stations that publish (ours, in service): a
        broker's first dynamic-security file, ``airq station mosquitto-passwd``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(stations.c.id, stations.c.token_hash).where(
                    stations.c.retired_at.is_(None), stations.c.source == SOURCE_OWN
                )
            ).all()
        return {r.id: r.token_hash for r in rows}
