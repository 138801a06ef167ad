"""Station ↔ QPV placement: inside, within the buffers (Lambert-93 metres), outside."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box, mapping

from api.qpv.placement import place_station, qpv_zones
from api.qpv.polygons import load_communes, load_qpv
from api.qpv.service import QpvService, QpvSettings, StationRef
from tests.qpv.conftest import QPV1, STATIONS_L93, latlon


def _placements(layer, radius=5000.0, communes=None):  # type: ignore[no-untyped-def]
    return {
        sid: place_station(sid, *latlon(xy), layer, radius, communes)
        for sid, xy in STATIONS_L93.items()
    }


def test_each_station_is_placed_with_its_distance(qpv_file: Path) -> None:
    layer = load_qpv(qpv_file)
    p = _placements(layer)
    assert p["in-1"].inside == ("QPTEST01",)
    assert p["in-2"].inside == ("QPTEST02",)
    assert p["buf-1"].inside == () and p["buf-1"].distance_to("QPTEST01") == pytest.approx(200)
    assert p["ring-1"].distance_to("QPTEST01") == pytest.approx(700)
    assert p["out-1"].distance_to("QPTEST01") == pytest.approx(3000)
    assert p["far-1"].near == () and p["far-1"].inside == ()
    # out-1 is 3 km east of QPTEST01 and 6.6 km west of QPTEST02: beyond the 5 km radius
    assert [c for c, _ in p["out-1"].near] == ["QPTEST01"]


def test_boundary_counts_as_inside(qpv_file: Path) -> None:
    layer = load_qpv(qpv_file)
    on_edge = place_station("edge-1", *latlon((QPV1[0] + 200, QPV1[1])), layer, 1000)
    assert on_edge.inside == ("QPTEST01",)


def test_zones_of_a_qpv(qpv_file: Path) -> None:
    layer = load_qpv(qpv_file)
    zones = qpv_zones("QPTEST01", _placements(layer).values(), (300, 1000), 5000)
    assert zones == {
        "qpv": ["in-1"],
        "buffer_300m": ["buf-1"],
        "buffer_1000m": ["buf-1", "ring-1"],
        "hors_qpv": ["buf-1", "ring-1", "out-1"],
    }
    # a smaller reference radius leaves out-1 out of the comparison area
    assert qpv_zones("QPTEST01", _placements(layer).values(), (300,), 2000)["hors_qpv"] == [
        "buf-1",
        "ring-1",
    ]


def test_with_communes_the_reference_is_the_rest_of_the_commune(
    qpv_file: Path, tmp_path: Path
) -> None:
    """Commune polygons: 'Lens' holds QPTEST01, buf-1 and ring-1; out-1 is in another one."""
    import json

    x, y = QPV1
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:2154"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"INSEE_COM": code, "NOM": name},
                "geometry": mapping(geom),
            }
            for code, name, geom in (
                ("62498", "Lens", box(x - 2000, y - 2000, x + 1500, y + 2000)),
                ("62510", "Liévin", box(x + 1500, y - 2000, x + 15_000, y + 2000)),
            )
        ],
    }
    (tmp_path / "communes.geojson").write_text(json.dumps(doc))
    communes = load_communes(tmp_path / "communes.geojson")
    layer = load_qpv(qpv_file)
    placements = _placements(layer, radius=1000, communes=communes)
    assert placements["out-1"].communes == ("62510",)
    zones = qpv_zones("QPTEST01", placements.values(), (300, 1000), 5000, ("62498",))
    assert zones["hors_qpv"] == ["buf-1", "ring-1"]


def test_cache_recomputes_only_moved_stations_and_everything_on_reload(
    qpv_file: Path,
) -> None:
    svc = QpvService(QpvSettings(file=qpv_file))
    stations = [StationRef(sid, "", *latlon(xy)) for sid, xy in STATIONS_L93.items()]
    first = svc.placements(stations)
    assert svc.placements_computed == len(stations)
    assert svc.placements(stations) == first
    assert svc.placements_computed == len(stations)  # all from the cache

    # far-1 moves into QPTEST01: only it is placed again
    moved = [StationRef(s.id, "", *latlon(QPV1)) if s.id == "far-1" else s for s in stations]
    again = svc.placements(moved)
    assert svc.placements_computed == len(stations) + 1
    assert again["far-1"].inside == ("QPTEST01",)

    # the polygons are replaced (QPTEST01 grows by 1 km): everything is placed again
    import json

    before = svc.layer().version
    doc = json.loads(qpv_file.read_text())
    x, y = QPV1
    doc["features"][0]["geometry"] = mapping(box(x - 200, y - 200, x + 1200, y + 200))
    qpv_file.write_text(json.dumps(doc))
    reloaded = svc.placements(moved)
    assert svc.layer().version != before
    assert svc.placements_computed == 2 * len(stations) + 1
    assert reloaded["ring-1"].inside == ("QPTEST01",)


def test_buffers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("AIRQ_QPV_BUFFERS_M", "500, 200")
    assert QpvSettings().buffers_m == (200, 500)
    monkeypatch.setenv("AIRQ_QPV_BUFFERS_M", "abc")
    with pytest.raises(ValidationError, match="AIRQ_QPV_BUFFERS_M"):
        QpvSettings()
