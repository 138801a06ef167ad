"""Reading QPV (and commune) polygons from the official files, of any vintage, in any CRS.

Accepted inputs: GeoJSON (``.geojson``/``.json``, RFC 7946 or with a legacy ``crs`` member) and
ESRI shapefiles (``.shp`` with its ``.dbf``/``.shx``/``.prj``, or the ``.zip`` that ANCT
distributes). The CRS comes, in order, from the caller (``crs=``), the file (``.prj`` or the
GeoJSON ``crs`` member), or the coordinates themselves (longitude/latitude, or metres in the
Lambert-93 range); anything else is refused with a message asking for ``crs``.

Attributes are matched case-insensitively against the names used by the successive vintages
(2015: ``CODE_QP``/``NOM_QP``/``COMMUNE_QP``; 2024 "Quartiers 2030": ``code_qp``/``lib_qp``/
``lib_com``…), or given explicitly with ``fields={"code": ..., "name": ..., "commune": ...}``.

Geometries are repaired (``make_valid``, polygon parts kept), projected once to Lambert-93
(EPSG:2154, metres) for distances, and kept in WGS84 for GeoJSON output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "qpv_hauts_de_france.geojson"
DEFAULT_ATTRIBUTION = "ANCT (ex-CGET), QPV 2015 — Licence Ouverte / Etalab"

QPV_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code_qp", "code_qpv", "code_quartier", "codeqp", "cod_qp", "qp_code", "code"),
    "name": ("nom_qp", "lib_qp", "nom_qpv", "libelle_qp", "lib_qpv", "quartier_prioritaire"),
    "commune": ("commune_qp", "lib_com", "nom_com", "communes", "commune", "libcom"),
    "departement": ("departement", "insee_dep", "code_dep", "dep", "code_departement"),
    "millesime": ("millesime", "annee", "vintage"),
}
COMMUNE_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("insee_com", "code_insee", "insee", "code_com", "codgeo", "com", "code"),
    "name": ("nom", "nom_com", "lib_com", "libgeo", "nom_commune", "name"),
}


class PolygonFileError(ValueError):
    """A polygon file cannot be used; the message names the file and says what to change."""


@dataclass(frozen=True, slots=True)
class Area:
    """One polygon of a layer: a QPV or a commune."""

    code: str
    name: str
    geometry: BaseGeometry  # Lambert-93, metres
    geometry_wgs84: BaseGeometry
    communes: tuple[str, ...] = ()
    departement: str | None = None
    millesime: str | None = None


@dataclass(frozen=True)
class Layer:
    """Polygons read from one file. ``version`` changes whenever the content or the reading
    options change; caches of derived results are keyed on it."""

    areas: tuple[Area, ...]
    version: str
    source: str
    source_crs: str
    skipped: int = 0
    tree: shapely.STRtree = field(init=False, repr=False, compare=False)
    by_code: dict[str, Area] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", shapely.STRtree([a.geometry for a in self.areas]))
        object.__setattr__(self, "by_code", {a.code: a for a in self.areas})


# -- CRS --------------------------------------------------------------------------------------
def _crs_from_user(value: str, source: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise PolygonFileError(f"{source}: unknown CRS {value!r} ({exc})") from None


def _guess_crs(bounds: tuple[float, float, float, float], source: str) -> CRS:
    minx, miny, maxx, maxy = bounds
    if minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
        return CRS.from_epsg(4326)
    if minx >= -400_000 and maxx <= 1_400_000 and miny >= 6_000_000 and maxy <= 7_200_000:
        log.warning("%s: no CRS in the file; coordinates look like Lambert-93 (EPSG:2154)", source)
        return CRS.from_epsg(2154)
    raise PolygonFileError(
        f"{source}: the file gives no CRS and its coordinates (bounds {bounds}) are neither "
        "longitude/latitude nor Lambert-93; give the CRS explicitly (e.g. crs='EPSG:2154')"
    )


# -- readers ----------------------------------------------------------------------------------
def _read_geojson(path: Path) -> tuple[list[tuple[dict[str, Any], BaseGeometry]], str | None]:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PolygonFileError(f"{path}: not readable as JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise PolygonFileError(f"{path}: not a GeoJSON object")
    if doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif doc.get("type") == "Feature":
        features = [doc]
    else:
        raise PolygonFileError(f"{path}: expected a GeoJSON FeatureCollection")
    if not isinstance(features, list):
        raise PolygonFileError(f"{path}: 'features' is not a list")
    crs_name = None
    crs = doc.get("crs")
    if isinstance(crs, dict):
        crs_name = (crs.get("properties") or {}).get("name")
    out = []
    for i, feat in enumerate(features):
        if not isinstance(feat, dict) or not feat.get("geometry"):
            continue
        try:
            geom = shape(feat["geometry"])
        except Exception as exc:  # shapely raises several types for bad geometries
            msg = f"{path}: feature {i} has an unreadable geometry ({exc})"
            raise PolygonFileError(msg) from None
        out.append((feat.get("properties") or {}, geom))
    return out, crs_name


def _read_shapefile(path: Path) -> tuple[list[tuple[dict[str, Any], BaseGeometry]], str | None]:
    import shapefile  # pyshp

    prj = None
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".prj")]
                if names:
                    prj = zf.read(names[0]).decode("latin-1")
        except zipfile.BadZipFile as exc:
            raise PolygonFileError(f"{path}: not a valid zip file ({exc})") from None
    else:
        for candidate in (path.with_suffix(".prj"), path.with_suffix(".PRJ")):
            if candidate.exists():
                prj = candidate.read_text(encoding="latin-1")
                break

    def read(encoding: str) -> list[tuple[dict[str, Any], BaseGeometry]]:
        rows = []
        with shapefile.Reader(str(path), encoding=encoding) as reader:
            for rec in reader.iterShapeRecords():
                geo = rec.shape.__geo_interface__
                if not geo.get("coordinates"):
                    continue
                rows.append((rec.record.as_dict(), shape(geo)))
        return rows

    # the .cpg names the dbf encoding when present; the ANCT 2015 files are latin-1 without one
    encodings = ["utf-8", "latin-1"]
    cpg = path.with_suffix(".cpg")
    if cpg.exists():
        encodings.insert(0, cpg.read_text(encoding="ascii", errors="replace").strip() or "utf-8")
    for encoding in encodings:
        try:
            rows = read(encoding)
            break
        except (UnicodeDecodeError, LookupError):
            continue
        except shapefile.ShapefileException as exc:
            if "decode" in str(exc) and encoding != encodings[-1]:
                continue
            raise PolygonFileError(f"{path}: not a readable shapefile ({exc})") from None
    else:
        raise PolygonFileError(f"{path}: attributes in none of the encodings {encodings}")
    return rows, prj


def read_features(
    path: str | Path, crs: str | None = None
) -> tuple[list[tuple[dict[str, Any], BaseGeometry]], CRS]:
    """(properties, geometry in the file's CRS) for every feature, and that CRS."""
    p = Path(path)
    if not p.exists():
        raise PolygonFileError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in (".geojson", ".json"):
        rows, file_crs = _read_geojson(p)
    elif suffix in (".shp", ".zip"):
        rows, file_crs = _read_shapefile(p)
    else:
        raise PolygonFileError(f"{p}: unsupported format; use GeoJSON, .shp or a zipped shapefile")
    if not rows:
        raise PolygonFileError(f"{p}: no feature with a geometry")
    if crs:
        src = _crs_from_user(crs, str(p))
    elif file_crs:
        src = _crs_from_user(file_crs, str(p))
    else:
        src = _guess_crs(tuple(shapely.total_bounds([g for _, g in rows])), str(p))
    return rows, src


# -- normalisation ----------------------------------------------------------------------------
def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon | MultiPolygon):
        return geom if not geom.is_empty else None
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    if not parts:
        return None
    return shapely.unary_union(parts)


def _pick(props: dict[str, Any], names: Iterable[str], explicit: str | None) -> Any:
    lower = {str(k).lower(): v for k, v in props.items()}
    if explicit:
        return lower.get(explicit.lower())
    for n in names:
        if n in lower and lower[n] not in (None, ""):
            return lower[n]
    return None


def _departement_from_code(code: str) -> str | None:
    m = re.match(r"^Q[A-Z](\d{3})", code)
    if not m:
        return None
    dep = m.group(1)
    return dep[1:] if dep.startswith("0") else dep


def _split_communes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = re.split(r"\s*[,;]\s*", str(value).strip())
    return tuple(re.sub(r"\s+", " ", p) for p in parts if p)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _build(
    path: str | Path,
    crs: str | None,
    fields: dict[str, str] | None,
    candidates: dict[str, tuple[str, ...]],
    kind: str,
) -> tuple[list[Area], str, str, int]:
    rows, src = read_features(path, crs)
    fields = fields or {}
    to_l93 = Transformer.from_crs(src, LAMBERT93, always_xy=True)
    to_wgs = Transformer.from_crs(src, WGS84, always_xy=True)
    merged: dict[str, list[tuple[dict[str, Any], BaseGeometry]]] = {}
    skipped = 0
    for props, geom in rows:
        code = _pick(props, candidates["code"], fields.get("code"))
        poly = _polygonal(geom)
        if code in (None, "") or poly is None:
            skipped += 1
            continue
        merged.setdefault(str(code).strip(), []).append((props, poly))
    if not merged:
        names = sorted({str(k) for props, _ in rows for k in props})[:20]
        raise PolygonFileError(
            f"{path}: no {kind} code found; attributes are {names}; name the code attribute "
            "explicitly (fields={'code': ...})"
        )
    areas = []
    for code, parts in sorted(merged.items()):
        props = parts[0][0]
        geom = parts[0][1] if len(parts) == 1 else shapely.unary_union([g for _, g in parts])
        g93 = shapely.transform(geom, lambda xy: _apply(to_l93, xy))
        gwgs = shapely.transform(geom, lambda xy: _apply(to_wgs, xy))
        if not g93.is_valid:
            g93 = _polygonal(g93) or g93
        name = _pick(props, candidates["name"], fields.get("name"))
        extra: dict[str, Any] = {}
        if "commune" in candidates:
            dep = _pick(props, candidates["departement"], fields.get("departement"))
            mil = _pick(props, candidates["millesime"], fields.get("millesime"))
            dep_s = str(dep).strip() if dep not in (None, "") else _departement_from_code(code)
            if dep_s and dep_s.isdigit():
                dep_s = dep_s.lstrip("0").zfill(2)  # "059" -> "59", "2" -> "02"
            extra = {
                "communes": _split_communes(
                    _pick(props, candidates["commune"], fields.get("commune"))
                ),
                "departement": dep_s or None,
                "millesime": str(mil) if mil not in (None, "") else None,
            }
        areas.append(Area(code, str(name or code).strip(), g93, gwgs, **extra))
    return areas, src.to_string(), _file_digest(Path(path)), skipped


def _apply(transformer: Transformer, xy: Any) -> Any:
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def load_qpv(
    path: str | Path = DEFAULT_FILE, crs: str | None = None, fields: dict[str, str] | None = None
) -> Layer:
    """Read a QPV file (any vintage, any CRS). Raises PolygonFileError when unusable."""
    areas, src, digest, skipped = _build(path, crs, fields, QPV_FIELDS, "QPV")
    version = hashlib.sha256(f"{digest}|{crs}|{sorted((fields or {}).items())}".encode())
    if skipped:
        log.warning("%s: %d feature(s) without a QPV code or polygon skipped", path, skipped)
    return Layer(tuple(areas), version.hexdigest()[:16], Path(path).name, src, skipped)


def load_communes(
    path: str | Path, crs: str | None = None, fields: dict[str, str] | None = None
) -> Layer:
    """Read commune polygons (e.g. IGN ADMIN-EXPRESS), used to compare a QPV with the rest of
    its commune(s)."""
    areas, src, digest, skipped = _build(path, crs, fields, COMMUNE_FIELDS, "commune")
    version = hashlib.sha256(f"{digest}|{crs}|{sorted((fields or {}).items())}".encode())
    return Layer(tuple(areas), version.hexdigest()[:16], Path(path).name, src, skipped)
