"""The calibration tables (api/calibration_store.py) on SQLite and PostgreSQL: created on
first use beside the registry's, fits kept with their provenance, the newest fit of a station
before the newest of its sensor model."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from airq_core.calibration import Fit
from api.calibration_store import CalibrationStore, ReferenceSite
from api.registry import Registry

FIT = Fit(0.62, -0.07, 2.0, 234, 0.9946, 1.005, 5.0, 90.0, 40.0, 95.0)


def _add(store: CalibrationStore, scope: str, station: str | None, a: float) -> int:
    now = datetime.now(UTC)
    rec = store.add_fit(
        scope=scope,
        station=station,
        sensor="sds011",
        quantity="pm2_5",
        site="FR99901",
        stations_used=[station or "lens-01", "lens-02"],
        method="ols_linear_rh",
        fit=replace(FIT, a=a),
        period_start=now - timedelta(days=10),
        period_end=now,
        max_distance_m=100.0,
    )
    return rec.id


def test_store_keeps_fits_with_provenance(registry_url: str) -> None:
    reg = Registry(registry_url)
    try:
        store = CalibrationStore(reg.engine)
        CalibrationStore(reg.engine)  # created once, idempotent
        store.upsert_sites([ReferenceSite("FR99901", "Lens", 50.433, 2.827, "fr")])
        store.upsert_sites([ReferenceSite("FR99901", "Lens (2)", 50.433, 2.827, "fr")])
        assert [s.name for s in store.sites()] == ["Lens (2)"]
        model_id = _add(store, "model", None, 0.5)
        assert store.for_station("lens-09", ["sds011"], "pm2_5").id == model_id  # type: ignore[union-attr]
        station_id = _add(store, "station", "lens-01", 0.62)
        _add(store, "model", None, 0.55)
        got = store.for_station("lens-01", ["sds011"], "pm2_5")
        assert got is not None and got.id == station_id
        assert (
            got.fit.a == 0.62 and got.fit.n == 234 and got.stations_used == ["lens-01", "lens-02"]
        )
        assert got.period_end.tzinfo is not None
        assert store.for_station("lens-09", ["pms5003"], "pm2_5") is None
        assert [r.id for r in store.list_fits()][:1] == [station_id + 1]
    finally:
        reg.close()
