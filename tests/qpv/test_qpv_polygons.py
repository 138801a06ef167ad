"""Loading QPV polygons of any vintage, in any CRS, from GeoJSON and shapefiles."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import shapefile
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box, mapping

from api.qpv.polygons import DEFAULT_FILE, PolygonFileError, load_communes, load_qpv

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def test_shipped_file_has_the_199_hauts_de_france_qpv() -> None:
    layer = load_qpv()
    assert len(layer.areas) == 199
    assert layer.skipped == 0
    assert {a.departement for a in layer.areas} == {"02", "59", "60", "62", "80"}
    assert all(a.geometry.is_valid and a.geometry.area > 1000 for a in layer.areas)
    roubaix = layer.by_code["QP059083"]
    assert (roubaix.name, roubaix.communes, roubaix.millesime) == (
        "Nouveau Roubaix",
        ("Roubaix",),
        "2015",
    )
    # Lambert-93 metres: the neighbourhood covers about 13 ha
    assert 100_000 < roubaix.geometry.area < 200_000
    assert load_qpv().version == layer.version


def _square_l93(x: float, y: float, side: float) -> Polygon:
    return box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)


def _write_l93_shapefile(base: Path, encoding: str = "latin-1") -> Path:
    """A 2024-style ("Quartiers 2030") shapefile in Lambert-93 with a latin-1 dbf."""
    w = shapefile.Writer(str(base), shapeType=shapefile.POLYGON, encoding=encoding)
    w.field("code_qp", "C", 10)
    w.field("lib_qp", "C", 60)
    w.field("lib_com", "C", 60)
    w.field("insee_dep", "C", 3)
    for code, name, com, (x, y) in (
        ("QN06201M", "Cité des Électriciens", "Bruay-la-Buissière", (670_000, 7_045_000)),
        ("QN05912M", "Épinette", "Roubaix, Wattrelos", (713_000, 7_064_000)),
    ):
        sq = _square_l93(x, y, 400)
        w.poly([list(reversed(list(sq.exterior.coords)))])  # shapefile rings are clockwise
        w.record(code, name, com, "062" if code.startswith("QN062") else "59")
    w.close()
    base.with_suffix(".prj").write_text(CRS.from_epsg(2154).to_wkt(version="WKT1_ESRI"))
    return base.with_suffix(".shp")


def test_lambert93_shapefile_of_2024_vintage(tmp_path: Path) -> None:
    layer = load_qpv(_write_l93_shapefile(tmp_path / "qp2024"))
    assert [a.code for a in layer.areas] == ["QN05912M", "QN06201M"]
    bruay = layer.by_code["QN06201M"]
    assert bruay.name == "Cité des Électriciens"
    assert bruay.communes == ("Bruay-la-Buissière",)
    assert bruay.departement == "62"
    assert layer.by_code["QN05912M"].communes == ("Roubaix", "Wattrelos")
    assert bruay.geometry.area == pytest.approx(160_000, rel=1e-9)
    lon, lat = TO_WGS.transform(670_000, 7_045_000)
    assert bruay.geometry_wgs84.centroid.x == pytest.approx(lon, abs=1e-6)
    assert bruay.geometry_wgs84.centroid.y == pytest.approx(lat, abs=1e-6)


def test_zipped_shapefile_as_distributed(tmp_path: Path) -> None:
    shp = _write_l93_shapefile(tmp_path / "QP2024_LB93")
    archive = tmp_path / "qp2024.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(shp.with_suffix(ext), shp.with_suffix(ext).name)
    layer = load_qpv(archive)
    assert layer.by_code["QN06201M"].geometry.area == pytest.approx(160_000, rel=1e-9)


def _geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


def _feature(props: dict, geom: Polygon) -> dict:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def test_geojson_with_legacy_crs_member(tmp_path: Path) -> None:
    f = _geojson(
        tmp_path / "l93.geojson",
        [_feature({"CODE_QP": "QP062001", "NOM_QP": "Test"}, _square_l93(690_000, 7_040_000, 200))],
        crs="urn:ogc:def:crs:EPSG::2154",
    )
    layer = load_qpv(f)
    assert "2154" in layer.source_crs
    assert layer.by_code["QP062001"].geometry.area == pytest.approx(40_000, rel=1e-9)
    assert layer.by_code["QP062001"].departement == "62"  # from the code


def test_lambert93_coordinates_without_crs_are_recognised(tmp_path: Path) -> None:
    f = _geojson(
        tmp_path / "nocrs.geojson",
        [_feature({"code_qp": "QP059001"}, _square_l93(700_000, 7_050_000, 100))],
    )
    assert load_qpv(f).by_code["QP059001"].geometry.area == pytest.approx(10_000, rel=1e-9)


def test_unknown_projection_asks_for_the_crs(tmp_path: Path) -> None:
    far = box(1e7, 1e7, 1e7 + 5, 1e7 + 5)
    f = _geojson(tmp_path / "utm.geojson", [_feature({"code_qp": "X"}, far)])
    with pytest.raises(PolygonFileError, match="give the CRS explicitly"):
        load_qpv(f)
    # …and an explicit CRS is honoured (here a made-up use of EPSG:3857 metres)
    assert load_qpv(f, crs="EPSG:3857").areas[0].code == "X"


def test_missing_code_attribute_names_the_attributes(tmp_path: Path) -> None:
    f = _geojson(tmp_path / "odd.geojson", [_feature({"ident": "Q1"}, box(2.8, 50.4, 2.81, 50.41))])
    with pytest.raises(PolygonFileError, match="ident"):
        load_qpv(f)
    assert load_qpv(f, fields={"code": "IDENT"}).areas[0].code == "Q1"


def test_self_intersecting_polygon_is_repaired(tmp_path: Path) -> None:
    bowtie = Polygon([(2.80, 50.40), (2.82, 50.42), (2.82, 50.40), (2.80, 50.42)])
    assert not bowtie.is_valid
    f = _geojson(tmp_path / "bad.geojson", [_feature({"code_qp": "QP059999"}, bowtie)])
    area = load_qpv(f).by_code["QP059999"]
    assert area.geometry.is_valid and area.geometry.area > 0


@pytest.mark.parametrize(
    "content, message",
    [(b"{not json", "not readable as JSON"), (b'{"type": "Point"}', "FeatureCollection")],
)
def test_broken_files_are_refused_clearly(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "broken.geojson"
    f.write_bytes(content)
    with pytest.raises(PolygonFileError, match=message):
        load_qpv(f)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(PolygonFileError, match="no such file"):
        load_qpv(tmp_path / "absent.geojson")
    (tmp_path / "x.kml").write_text("<kml/>")
    with pytest.raises(PolygonFileError, match="unsupported format"):
        load_qpv(tmp_path / "x.kml")


def test_communes_layer(tmp_path: Path) -> None:
    f = _geojson(
        tmp_path / "communes.geojson",
        [_feature({"INSEE_COM": "62498", "NOM": "Lens"}, _square_l93(688_000, 7_038_000, 4000))],
        crs="EPSG:2154",
    )
    layer = load_communes(f)
    assert (layer.areas[0].code, layer.areas[0].name) == ("62498", "Lens")


def test_default_file_is_packaged_next_to_its_provenance() -> None:
    assert DEFAULT_FILE.exists()
    readme = (DEFAULT_FILE.parent / "README.md").read_text()
    assert "ANCT" in readme and "2015" in readme
