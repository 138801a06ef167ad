"""A small synthetic territory in Lambert-93 and a hand-computable week of hourly aggregates.

Two square QPV of 400 m (QPTEST01 around (690 000, 7 040 000), QPTEST02 10 km east); stations:

=========  ==========================  ==============================================
station    position (Lambert-93)       placement relative to QPTEST01
=========  ==========================  ==============================================
in-1       centre of QPTEST01          inside
buf-1      200 m east of its edge      within 300 m (and 1 km); outside any QPV
ring-1     700 m east of its edge      within 1 km only; outside any QPV
out-1      3 km east of its edge       rest of the area (within 5 km), outside any QPV
far-1      19.8 km north               nowhere
in-2       centre of QPTEST02          inside the other QPV
indoor-1   inside QPTEST01, indoor     ignored (indoor stations are not exposure)
=========  ==========================  ==============================================
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pyproj import Transformer
from shapely.geometry import box, mapping

TO_WGS = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
PARIS = ZoneInfo("Europe/Paris")

QPV1 = (690_000.0, 7_040_000.0)
QPV2 = (700_000.0, 7_040_000.0)
STATIONS_L93 = {
    "in-1": QPV1,
    "buf-1": (690_400.0, 7_040_000.0),
    "ring-1": (690_900.0, 7_040_000.0),
    "out-1": (693_200.0, 7_040_000.0),
    "far-1": (690_000.0, 7_060_000.0),
    "in-2": QPV2,
}
INDOOR = {"indoor-1": (690_050.0, 7_040_050.0)}

# The period of the hand-computed case: two Paris civil days in winter (UTC+1). Fixed dates the
# calendar cannot overtake: the exposure functions are pure, and the API tests write these
# hourly windows as aggregates, kept forever (agg retention INF), and ask for this period.
START = datetime(2024, 1, 15, tzinfo=PARIS).timestamp()  # 2024-01-14T23:00Z
END = datetime(2024, 1, 17, tzinfo=PARIS).timestamp()  # 48 hours later
HOURS = [int(START) + 3600 * i for i in range(48)]


def latlon(xy: tuple[float, float]) -> tuple[float, float]:
    lon, lat = TO_WGS.transform(*xy)
    return lat, lon


def write_qpv_file(path: Path) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"CODE_QP": code, "NOM_QP": name, "COMMUNE_QP": com},
            "geometry": mapping(box(x - 200, y - 200, x + 200, y + 200)),
        }
        for code, name, com, (x, y) in (
            ("QPTEST01", "Cité Test", "Lens", QPV1),
            ("QPTEST02", "Quartier Deux", "Liévin", QPV2),
        )
    ]
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": feats,
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def qpv_file(tmp_path: Path) -> Path:
    return write_qpv_file(tmp_path / "qpv_test.geojson")


def hourly_rows() -> list[tuple[str, str, int, float, float]]:
    """(station, sensor, hour start, mean, count) of the hand-computed case.

    * in-1: 24 h at 20.0 on 15 Jan (exactly the ATMO "moyen" upper bound; above the WHO 15),
      then only 10 h at 8.0 on 16 Jan (a day below the 18 h needed: not a valid day).
    * buf-1: 48 h at 12.0 from its SDS011, except the first hour where a second sensor
      (13.5 after weighting 12.0×30 and 18.0×10) also measured; plus a count-0 row (ignored).
    * ring-1: 48 h at 30.0. out-1: 24 h at 10.0 then 24 h at 16.0. far-1 and in-2: 48 h at 50.
    """
    rows = []
    for i, t in enumerate(HOURS):
        if i < 34:
            rows.append(("in-1", "sds011", t, 20.0 if i < 24 else 8.0, 30.0))
        rows.append(("buf-1", "sds011", t, 12.0, 30.0))
        rows.append(("ring-1", "sds011", t, 30.0, 30.0))
        rows.append(("out-1", "sds011", t, 10.0 if i < 24 else 16.0, 30.0))
        rows.append(("far-1", "sds011", t, 50.0, 30.0))
        rows.append(("in-2", "sds011", t, 50.0, 30.0))
        rows.append(("indoor-1", "sds011", t, 500.0, 30.0))
    rows.append(("buf-1", "pms5003", HOURS[0], 18.0, 10.0))
    rows.append(("buf-1", "pms5003", HOURS[5], 999.0, 0.0))
    return rows


def hourly_series() -> dict[str, dict[int, float]]:
    """The same rows as the API reads them back (sensors combined, count-0 hours absent)."""
    acc: dict[str, dict[int, list[float]]] = {}
    for sid, _sensor, t, mean, count in hourly_rows():
        if count:
            slot = acc.setdefault(sid, {}).setdefault(t, [0.0, 0.0])
            slot[0] += mean * count
            slot[1] += count
    return {sid: {t: s / c for t, (s, c) in per.items()} for sid, per in acc.items()}


def line_protocol(quantity: str = "pm2_5") -> bytes:
    lines = []
    for sid, sensor, t, mean, count in hourly_rows():
        lines.append(
            f"readings_1h,sensor={sensor},station={sid} {quantity}_mean={mean},"
            f"{quantity}_min={mean},{quantity}_max={mean},{quantity}_count={count} {t * 1000}"
        )
    return "\n".join(lines).encode()
