"""Import of reference-station data (regulatory monitors) into InfluxDB, for calibration.

Two layouts (docs/calibration.md says which facts are verified):

* ``fr``: the French national database (Geod'air / LCSQA "données E2/D" CSV on data.gouv.fr),
  ``;``-separated, one row per value: ``Date de début``, ``code site``, ``nom site``,
  ``Polluant``, ``valeur``, ``unité de mesure``, ``validité``, ``code qualité`` …;
* ``eea``: the EEA Air Quality Download Service (Parquet, or the same columns as CSV):
  ``Samplingpoint``, ``Pollutant`` (a code such as 6001, or its vocabulary URI), ``Start``,
  ``End``, ``Value``, ``Unit``, ``AggType``, ``Validity``, ``Verification``.

Every row is parsed on its own: a malformed row is counted under a reason with its row number
(:class:`ImportReport`) and skipped; the import never stops on one. Values are written to the
measurement ``reference`` (retention policy ``agg``: kept forever), tags ``site``, ``source``,
``pollutant`` (the platform's vocabulary: ``pm2_5`` …), field ``value`` (µg/m³), and
``verified`` (boolean) when the file says it; the timestamp is the start of the hour (UTC).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airq_core.calibration import REFERENCE_MEASUREMENT
from airq_core.storage import AGG_RP

__all__ = [
    "FORMATS",
    "REFERENCE_MEASUREMENT",
    "ImportReport",
    "ReferenceValue",
    "SitesError",
    "import_reference",
    "parse_rows",
    "read_rows",
    "read_sites",
]

log = logging.getLogger(__name__)

REFERENCE_RP = AGG_RP
MAX_ROW_NUMBERS = 20  # row numbers kept per refusal reason

# FR "Polluant" labels and EEA pollutant codes -> vocabulary names
FR_POLLUTANTS = {"PM2.5": "pm2_5", "PM10": "pm10", "NO2": "no2", "O3": "o3", "SO2": "so2"}
EEA_POLLUTANTS = {"6001": "pm2_5", "5": "pm10", "8": "no2", "7": "o3", "1": "so2"}
UNITS_UG_M3 = {"µg-m3", "µg/m3", "µg/m³", "ug.m-3", "ug/m3", "µg.m-3", "ug-m3", "µg m-3"}

FR_COLUMNS = ("Date de début", "code site", "Polluant", "valeur", "unité de mesure")
EEA_COLUMNS = ("Samplingpoint", "Pollutant", "Start", "Value", "Unit")


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    site: str
    pollutant: str
    ts_ms: int
    value: float
    verified: bool | None


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    skipped_invalid: int = 0  # rows the producer itself marks as not valid (not an error)
    refused: Counter[str] = field(default_factory=Counter)
    refused_rows: dict[str, list[int]] = field(default_factory=dict)
    sites: set[str] = field(default_factory=set)
    first_ms: int | None = None
    last_ms: int | None = None

    def refuse(self, reason: str, row: int) -> None:
        self.refused[reason] += 1
        kept = self.refused_rows.setdefault(reason, [])
        if len(kept) < MAX_ROW_NUMBERS:
            kept.append(row)
        log.debug("reference row %d refused: %s", row, reason)

    def keep(self, v: ReferenceValue) -> None:
        self.imported += 1
        self.sites.add(v.site)
        self.first_ms = v.ts_ms if self.first_ms is None else min(self.first_ms, v.ts_ms)
        self.last_ms = v.ts_ms if self.last_ms is None else max(self.last_ms, v.ts_ms)


class SitesError(ValueError):
    """The sites file cannot be used; the message names the column or row to fix."""


def _number(text: Any) -> float | None:
    if text is None:
        return None
    if isinstance(text, int | float):
        return float(text)
    s = str(text).strip().replace(",", ".")
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if v == v and abs(v) != float("inf") else None


_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


def _time(text: Any, offset: timedelta) -> datetime | None:
    """A naive local time of the file (``offset`` from UTC), or an aware ISO time."""
    if isinstance(text, datetime):
        t = text
    else:
        s = str(text or "").strip()
        if not s:
            return None
        t_or_none: datetime | None = None
        for fmt in _TIME_FORMATS:
            try:
                t_or_none = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        if t_or_none is None:
            try:
                t_or_none = datetime.fromisoformat(s)
            except ValueError:
                return None
        t = t_or_none
    if t.tzinfo is None:
        return (t - offset).replace(tzinfo=UTC)
    return t.astimezone(UTC)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where one file layout keeps each fact of a row, and the checks that differ by layout;
    :func:`_parse` runs the checks in one order for every layout."""

    columns: tuple[str, ...]  # a file without them is refused as a whole
    site: str
    start: str
    unit: str
    value: str
    pollutant: Callable[[dict[str, Any]], str | None]  # vocabulary name, None if unknown
    valid: Callable[[dict[str, Any]], bool]  # the producer's own validity verdict
    verified: Callable[[dict[str, Any]], bool | None]  # None when the file does not say
    hourly: Callable[[dict[str, Any]], bool] = lambda row: True


def _fr_valid(row: dict[str, Any]) -> bool:
    return str(row.get("validité") or "1").strip() == "1"


def _fr_verified(row: dict[str, Any]) -> bool | None:
    quality = str(row.get("code qualité") or "").strip()
    return None if not quality else quality == "A"


def _eea_pollutant(row: dict[str, Any]) -> str | None:
    """``Pollutant`` is a code (6001) or its vocabulary URI (…/pollutant/6001)."""
    code = str(row.get("Pollutant") or "").strip().rstrip("/").rsplit("/", 1)[-1]
    return EEA_POLLUTANTS.get(code)


def _eea_hourly(row: dict[str, Any]) -> bool:
    return str(row.get("AggType") or "hour").strip().lower() in ("hour", "var")


def _eea_valid(row: dict[str, Any]) -> bool:
    validity = _number(row.get("Validity"))
    return validity is None or validity >= 1


def _eea_verified(row: dict[str, Any]) -> bool | None:
    verification = _number(row.get("Verification"))
    return None if verification is None else verification == 1


_LAYOUTS = {
    "fr": _Layout(
        columns=FR_COLUMNS,
        site="code site",
        start="Date de début",
        unit="unité de mesure",
        value="valeur",
        pollutant=lambda row: FR_POLLUTANTS.get(str(row.get("Polluant") or "").strip()),
        valid=_fr_valid,
        verified=_fr_verified,
    ),
    "eea": _Layout(
        columns=EEA_COLUMNS,
        site="Samplingpoint",
        start="Start",
        unit="Unit",
        value="Value",
        pollutant=_eea_pollutant,
        valid=_eea_valid,
        verified=_eea_verified,
        hourly=_eea_hourly,
    ),
}
FORMATS = tuple(_LAYOUTS)


def _layout(fmt: str) -> _Layout:
    try:
        return _LAYOUTS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}: fr or eea") from None


def parse_rows(
    fmt: str,
    rows: Iterable[dict[str, Any]],
    report: ImportReport,
    utc_offset_h: float = 0.0,
    first_row: int = 2,
) -> Iterator[ReferenceValue]:
    """Values of the rows (dicts keyed by the file's column names), counting refusals in
    ``report``. ``first_row`` is the number of the first data row in the file (2 after a
    header line), so that refusals name lines a person can open. Raises ``ValueError`` for a
    format other than :data:`FORMATS`."""
    layout = _layout(fmt)
    offset = timedelta(hours=utc_offset_h)
    for i, row in enumerate(rows, start=first_row):
        report.rows += 1
        try:
            v = _parse(layout, row, offset)
        except _Refused as r:
            if r.reason == "not_valid":
                report.skipped_invalid += 1
            else:
                report.refuse(r.reason, i)
            continue
        report.keep(v)
        yield v


def _parse(layout: _Layout, row: dict[str, Any], offset: timedelta) -> ReferenceValue:
    site = str(row.get(layout.site) or "").strip()
    if not site:
        raise _Refused("no_site")
    pollutant = layout.pollutant(row)
    if pollutant is None:
        raise _Refused("unknown_pollutant")
    if not layout.hourly(row):
        raise _Refused("not_hourly")
    t = _time(row.get(layout.start), offset)
    if t is None:
        raise _Refused("bad_time")
    if not layout.valid(row):
        raise _Refused("not_valid")
    unit = str(row.get(layout.unit) or "").strip()
    if unit not in UNITS_UG_M3:
        raise _Refused("unit")
    value = _number(row.get(layout.value))
    if value is None:
        raise _Refused("bad_value")
    if not -5.0 <= value <= 5000.0:
        raise _Refused("out_of_range")
    return ReferenceValue(site, pollutant, int(t.timestamp() * 1000), value, layout.verified(row))


def read_rows(fmt: str, path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a file as dicts. Raises ``ValueError`` naming what is wrong with the file
    as a whole (missing columns, unreadable encoding)."""
    want = _layout(fmt).columns
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("reading Parquet needs pyarrow (pip install pyarrow)") from None
        table = pq.read_table(path)
        missing = [c for c in want if c not in table.column_names]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
        yield from table.to_pylist()
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in want if c not in fields]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
    reader.fieldnames = fields
    yield from reader


def _escape_tag(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def line_of(v: ReferenceValue, source: str) -> str:
    tags = f"site={_escape_tag(v.site)},source={source},pollutant={v.pollutant}"
    fields = f"value={v.value!r}"
    if v.verified is not None:
        fields += f",verified={'true' if v.verified else 'false'}"
    return f"{REFERENCE_MEASUREMENT},{tags} {fields} {v.ts_ms}"


def import_reference(
    fmt: str, path: Path, writer: Any, utc_offset_h: float = 0.0, batch: int = 5000
) -> ImportReport:
    """Parse ``path`` and write its values through ``writer`` (``write_lines(body, rp=)``).
    Raises ``ValueError`` for a file that cannot be read at all; bad rows are only counted."""
    report = ImportReport()
    lines: list[str] = []
    for v in parse_rows(fmt, read_rows(fmt, path), report, utc_offset_h):
        lines.append(line_of(v, fmt))
        if len(lines) >= batch:
            writer.write_lines("\n".join(lines).encode(), rp=REFERENCE_RP)
            lines.clear()
    if lines:
        writer.write_lines("\n".join(lines).encode(), rp=REFERENCE_RP)
    return report


_SITE_CODE = ("code", "code site", "samplingpoint", "site")
_SITE_NAME = ("name", "nom site", "nom", "station name")
_SITE_LAT = ("lat", "latitude")
_SITE_LON = ("lon", "longitude")


def read_sites(path: Path) -> list[tuple[str, str, float, float]]:
    """``(code, name, lat, lon)`` from a sites CSV (``,`` or ``;``; header names as in
    ``code,name,lat,lon``, the FR ``code site;nom site;…`` or ``Samplingpoint,…,Latitude,
    Longitude``; case ignored). Raises :class:`SitesError` naming the row or column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SitesError(f"cannot read {path}: {exc}") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    names = {f.strip().lower(): f for f in reader.fieldnames or []}

    def column(options: tuple[str, ...], what: str) -> str:
        for o in options:
            if o in names:
                return names[o]
        raise SitesError(f"{path.name}: no {what} column (one of {', '.join(options)})")

    c_code, c_lat, c_lon = (
        column(_SITE_CODE, "site code"),
        column(_SITE_LAT, "latitude"),
        column(_SITE_LON, "longitude"),
    )
    c_name = next((names[o] for o in _SITE_NAME if o in names), None)
    out = []
    for i, row in enumerate(reader, start=2):
        code = (row.get(c_code) or "").strip()
        lat, lon = _number(row.get(c_lat)), _number(row.get(c_lon))
        if not code or lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise SitesError(f"{path.name} row {i}: a code and coordinates in degrees needed")
        name = (row.get(c_name) or "").strip() if c_name else ""
        out.append((code, name, lat, lon))
    return out
