"""Reference sites and calibration fits, in the registry database (SQLite or PostgreSQL).

Why the registry database rather than InfluxDB: a fit is a small record that is looked up by
station or sensor model, listed with its provenance and never aggregated over time; the
reference sites are a table of coordinates matched against the stations' coordinates, which
live in the same database. Tables are created on first use (``create_all`` is idempotent).

* ``reference_sites``: code (the FR ``code site`` or the EEA ``Samplingpoint``), name, lat,
  lon, source (``fr`` or ``eea``);
* ``calibrations``: one row per fit, never updated; the newest fit of a scope is the one used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from airq_core.calibration import Fit

__all__ = ["CalibrationRecord", "CalibrationStore", "ReferenceSite"]

metadata = sa.MetaData()

reference_sites = sa.Table(
    "reference_sites",
    metadata,
    sa.Column("code", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
)

calibrations = sa.Table(
    "calibrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # "station" (one board) or "model" (every co-located board of a sensor model)
    sa.Column("scope", sa.String(10), nullable=False),
    sa.Column("station", sa.String(64), nullable=True, index=True),
    sa.Column("sensor", sa.String(40), nullable=False, index=True),
    sa.Column("quantity", sa.String(20), nullable=False),
    sa.Column("site", sa.String(80), nullable=False),
    sa.Column("stations_used", sa.String(2000), nullable=False),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("a", sa.Float, nullable=False),
    sa.Column("b", sa.Float, nullable=False),
    sa.Column("c", sa.Float, nullable=False),
    sa.Column("n_pairs", sa.Integer, nullable=False),
    sa.Column("r2", sa.Float, nullable=False),
    sa.Column("rmse", sa.Float, nullable=False),
    sa.Column("raw_min", sa.Float, nullable=False),
    sa.Column("raw_max", sa.Float, nullable=False),
    sa.Column("rh_min", sa.Float, nullable=False),
    sa.Column("rh_max", sa.Float, nullable=False),
    sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("max_distance_m", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class ReferenceSite:
    code: str
    name: str
    lat: float
    lon: float
    source: str


@dataclass(frozen=True, slots=True)
class CalibrationRecord:
    id: int
    scope: str
    station: str | None
    sensor: str
    quantity: str
    site: str
    stations_used: list[str]
    method: str
    fit: Fit
    period_start: datetime
    period_end: datetime
    max_distance_m: float
    created_at: datetime


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _record(r: sa.Row) -> CalibrationRecord:  # type: ignore[type-arg]
    fit = Fit(r.a, r.b, r.c, r.n_pairs, r.r2, r.rmse, r.raw_min, r.raw_max, r.rh_min, r.rh_max)
    return CalibrationRecord(
        id=r.id,
        scope=r.scope,
        station=r.station,
        sensor=r.sensor,
        quantity=r.quantity,
        site=r.site,
        stations_used=[s for s in r.stations_used.split(",") if s],
        method=r.method,
        fit=fit,
        period_start=_utc(r.period_start),
        period_end=_utc(r.period_end),
        max_distance_m=r.max_distance_m,
        created_at=_utc(r.created_at),
    )


class CalibrationStore:
    """Reads and writes the two tables through an engine (the registry's, or one of its own
    built from a database URL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    @classmethod
    def from_url(cls, database_url: str) -> CalibrationStore:
        return cls(sa.create_engine(database_url))

    def close(self) -> None:
        self.engine.dispose()

    # reference sites
    def upsert_sites(self, sites: list[ReferenceSite]) -> int:
        with self.engine.begin() as conn:
            for s in sites:
                conn.execute(reference_sites.delete().where(reference_sites.c.code == s.code))
                conn.execute(
                    reference_sites.insert().values(
                        code=s.code, name=s.name, lat=s.lat, lon=s.lon, source=s.source
                    )
                )
        return len(sites)

    def sites(self) -> list[ReferenceSite]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(reference_sites).order_by(reference_sites.c.code))
            return [ReferenceSite(r.code, r.name, r.lat, r.lon, r.source) for r in rows]

    def site(self, code: str) -> ReferenceSite | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                sa.select(reference_sites).where(reference_sites.c.code == code)
            ).first()
        return None if r is None else ReferenceSite(r.code, r.name, r.lat, r.lon, r.source)

    # fits
    def add_fit(
        self,
        *,
        scope: str,
        station: str | None,
        sensor: str,
        quantity: str,
        site: str,
        stations_used: list[str],
        method: str,
        fit: Fit,
        period_start: datetime,
        period_end: datetime,
        max_distance_m: float,
    ) -> CalibrationRecord:
        values = {
            "scope": scope,
            "station": station,
            "sensor": sensor,
            "quantity": quantity,
            "site": site,
            "stations_used": ",".join(stations_used)[:2000],
            "method": method,
            "a": fit.a,
            "b": fit.b,
            "c": fit.c,
            "n_pairs": fit.n,
            "r2": fit.r2,
            "rmse": fit.rmse,
            "raw_min": fit.raw_min,
            "raw_max": fit.raw_max,
            "rh_min": fit.rh_min,
            "rh_max": fit.rh_max,
            "period_start": period_start,
            "period_end": period_end,
            "max_distance_m": max_distance_m,
            "created_at": datetime.now(UTC),
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(calibrations.insert().values(**values)).inserted_primary_key
        got = self.get(int(new_id[0])) if new_id else None
        assert got is not None
        return got

    def get(self, fit_id: int) -> CalibrationRecord | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(calibrations).where(calibrations.c.id == fit_id)).first()
        return None if r is None else _record(r)

    def list_fits(self, limit: int = 500) -> list[CalibrationRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(calibrations).order_by(calibrations.c.id.desc()).limit(limit)
            )
            return [_record(r) for r in rows]

    def for_station(
        self, station: str, sensors: list[str], quantity: str
    ) -> CalibrationRecord | None:
        """The newest fit of this station, else the newest fit of one of its sensor models."""
        q = calibrations.c
        with self.engine.connect() as conn:
            r = conn.execute(
                sa.select(calibrations)
                .where(q.scope == "station", q.station == station, q.quantity == quantity)
                .order_by(q.id.desc())
                .limit(1)
            ).first()
            if r is None and sensors:
                r = conn.execute(
                    sa.select(calibrations)
                    .where(q.scope == "model", q.sensor.in_(sensors), q.quantity == quantity)
                    .order_by(q.id.desc())
                    .limit(1)
                ).first()
        return None if r is None else _record(r)
