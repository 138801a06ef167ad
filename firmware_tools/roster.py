"""Participants spreadsheet (CSV) -> stations to register. Pure: no I/O besides the text given.

Columns (header names are case- and accent-insensitive; English aliases in brackets):

==================  =========================================================================
``id``              station id, e.g. ``lens-01``; empty -> ``<prefix>-NN`` (next free number)
``nom`` [name]      public place name shown on the map (never a person's name)
``lat``, ``lon``    WGS84 decimal degrees; ``50,4491`` (decimal comma) is accepted
``emplacement``     ``extérieur`` (default) or ``intérieur`` [placement: outdoor / indoor];
                    a column ``interieur`` [indoor] with oui/non is accepted instead
``position_exacte`` ``oui`` only if the participant agreed to publish the exact position;
                    otherwise coordinates are rounded to 3 decimals (about 100 m) before they
                    are stored, since the registry position is public [exact_location]
``precision``       decimals of the published location, 2 (about 1 km) to 5 (about 1 m);
                    empty: the deployment's (``AIRQ_PUBLIC_LOCATION_DECIMALS``, 3 by
                    default). More than 3 needs ``position_exacte`` ``oui`` (the stored
                    position is rounded to 3 decimals otherwise) [decimales]
``capteurs``        sensors fitted, e.g. ``sds011 bme280`` [sensors]
``adresse``         postal address, kept for the facilitator only [address]
``participant``     the resident's name, facilitator only
``contact``         e-mail or phone, facilitator only
==================  =========================================================================

Separators ``;`` ``,`` or tab are detected; UTF-8 (with or without BOM) and Windows-1252 (Excel)
are read. Bad rows are reported with their line number and do not stop the good ones.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from airq_core.sensors import SENSORS
from airq_core.wire import STATION_ID_RE
from firmware_tools.errors import WorkshopError
from firmware_tools.i18n import t

__all__ = [
    "PUBLIC_DECIMALS",
    "Registered",
    "RosterResult",
    "RowProblem",
    "Station",
    "decode_csv_bytes",
    "parse_roster",
    "register_stations",
]

PUBLIC_DECIMALS = 3  # ~110 m in latitude, ~70 m in longitude at 50° N

_ALIASES = {
    "id": "id",
    "identifiant": "id",
    "station": "id",
    "nom": "name",
    "name": "name",
    "lieu": "name",
    "lat": "lat",
    "latitude": "lat",
    "lon": "lon",
    "lng": "lon",
    "long": "lon",
    "longitude": "lon",
    "emplacement": "placement",
    "placement": "placement",
    "interieur": "indoor",
    "indoor": "indoor",
    "position_exacte": "exact",
    "exact_location": "exact",
    "exact": "exact",
    "precision": "precision",
    "precision_publique": "precision",
    "decimales": "precision",
    "capteurs": "sensors",
    "sensors": "sensors",
    "adresse": "address",
    "address": "address",
    "participant": "participant",
    "participante": "participant",
    "contact": "contact",
    "email": "contact",
    "courriel": "contact",
    "telephone": "contact",
}

_YES = {"oui", "o", "yes", "y", "1", "true", "vrai", "x"}
_NO = {"non", "n", "no", "0", "false", "faux", ""}
_INDOOR = {"interieur", "indoor", "int", "dedans", "inside"}
_OUTDOOR = {"exterieur", "outdoor", "ext", "dehors", "outside", ""}


def _fold(text: str) -> str:
    """Lower-case, accents removed, spaces and dashes as underscores: 'Position exacte'."""
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", "_", text)


@dataclass(frozen=True, slots=True)
class Station:
    """One valid row: what goes into the registry plus what stays with the facilitator."""

    line: int
    id: str
    name: str
    lat: float  # as stored and published (rounded unless exact consented)
    lon: float
    indoor: bool
    exact: bool
    sensors: tuple[str, ...] = ()
    precision: int | None = None  # decimals published; None: the deployment's
    address: str = ""
    participant: str = ""
    contact: str = ""


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return t("row_problem", line=self.line, why=" ; ".join(self.messages))


@dataclass
class RosterResult:
    stations: list[Station] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (BOM or not) first, then Windows-1252 as saved by Excel on Windows."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _number(text: str, what: str, lo: float, hi: float, problems: list[str]) -> float | None:
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    if not raw:
        problems.append(t("row_missing", what=what))
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        problems.append(t("row_not_number", what=what, value=text.strip()[:30]))
        return None
    if value != value or not (lo <= value <= hi):
        problems.append(t("row_out_of_range", what=what, value=text.strip()[:30], lo=lo, hi=hi))
        return None
    return value


def _bool(text: str, what: str, problems: list[str]) -> bool:
    v = _fold(text)
    if v in _YES:
        return True
    if v in _NO:
        return False
    problems.append(t("row_yes_no", what=what, value=text.strip()[:30]))
    return False


PRECISION_MIN, PRECISION_MAX = 2, 5  # api.registry's bounds (firmware_tools does not import it)


def _precision(text: str, exact: bool, problems: list[str]) -> int | None:
    raw = text.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and PRECISION_MIN <= int(raw) <= PRECISION_MAX):
        problems.append(t("row_bad_precision", value=raw[:30], lo=PRECISION_MIN, hi=PRECISION_MAX))
        return None
    if int(raw) > PUBLIC_DECIMALS and not exact:
        problems.append(t("row_precision_needs_exact", value=raw, d=PUBLIC_DECIMALS))
        return None
    return int(raw)


def _placement(text: str, problems: list[str]) -> bool:
    v = _fold(text)
    if v in _INDOOR:
        return True
    if v in _OUTDOOR:
        return False
    problems.append(t("row_placement", value=text.strip()[:30]))
    return False


def _sensors(text: str, problems: list[str]) -> tuple[str, ...]:
    names = [s for s in re.split(r"[\s,;+/]+", text.strip().lower()) if s]
    unknown = [s for s in names if s not in SENSORS]
    if unknown:
        problems.append(
            t("row_unknown_sensor", sensors=", ".join(unknown), known=", ".join(sorted(SENSORS)))
        )
    return tuple(s for s in names if s in SENSORS)


def _sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=";,\t")
    except csv.Error:
        return csv.excel


def parse_roster(
    text: str, prefix: str = "station", existing_ids: Iterable[str] = ()
) -> RosterResult:
    """Validate every row; ids are generated for rows that have none.

    Raises WorkshopError when the file itself is unusable (empty, no lat/lon columns);
    row-level problems are returned in ``problems`` and do not stop other rows.
    """
    if not text.strip():
        raise WorkshopError("roster_empty")
    reader = csv.reader(io.StringIO(text), _sniff_dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        raise WorkshopError("roster_empty") from None
    columns: list[str | None] = []
    result = RosterResult()
    for h in header:
        key = _ALIASES.get(_fold(h))
        columns.append(key)
        if key is None and h.strip():
            result.ignored_columns.append(h.strip())
    missing = [c for c in ("lat", "lon") if c not in columns]
    if missing:
        raise WorkshopError(
            "roster_missing_columns", missing=", ".join(missing), found=", ".join(header)
        )
    if not STATION_ID_RE.fullmatch(f"{prefix}-01"):
        raise WorkshopError("bad_prefix", prefix=prefix)

    existing = set(existing_ids)
    taken = set(existing)
    rows: list[tuple[int, dict[str, str]]] = []
    for raw in reader:
        if not any(cell.strip() for cell in raw):
            continue
        row = {k: v for k, v in zip(columns, raw, strict=False) if k is not None}
        rows.append((reader.line_num, row))
    if not rows:
        raise WorkshopError("roster_empty")
    # explicit ids are reserved first, so that generated ones never collide with a later row
    for _, row in rows:
        sid = row.get("id", "").strip().lower()
        if sid:
            taken.add(sid)

    seen: set[str] = set()
    counter = 1
    for line, row in rows:
        problems: list[str] = []
        sid = row.get("id", "").strip().lower()
        if sid:
            if not STATION_ID_RE.fullmatch(sid):
                problems.append(t("row_bad_id", id=sid[:70]))
            elif sid in seen:
                problems.append(t("row_duplicate_id", id=sid))
            elif sid in existing:
                problems.append(t("row_id_exists", id=sid))
        lat = _number(row.get("lat", ""), "lat", -90.0, 90.0, problems)
        lon = _number(row.get("lon", ""), "lon", -180.0, 180.0, problems)
        if "placement" in row:
            indoor = _placement(row["placement"], problems)
        else:
            indoor = _bool(row.get("indoor", ""), "interieur", problems)
        exact = _bool(row.get("exact", ""), "position_exacte", problems)
        precision = _precision(row.get("precision", ""), exact, problems)
        sensors = _sensors(row.get("sensors", ""), problems)
        name = row.get("name", "").strip()
        if len(name) > 200:
            problems.append(t("row_name_too_long"))
        if problems or lat is None or lon is None:
            result.problems.append(RowProblem(line, tuple(problems)))
            continue
        if not sid:  # ids are generated for valid rows only, so none is wasted
            while f"{prefix}-{counter:02d}" in taken:
                counter += 1
            sid = f"{prefix}-{counter:02d}"
            taken.add(sid)
        seen.add(sid)
        if not exact:
            lat, lon = round(lat, PUBLIC_DECIMALS), round(lon, PUBLIC_DECIMALS)
        result.stations.append(
            Station(
                line=line,
                id=sid,
                name=name,
                lat=lat,
                lon=lon,
                indoor=indoor,
                exact=exact,
                sensors=sensors,
                precision=precision,
                address=row.get("address", "").strip(),
                participant=row.get("participant", "").strip(),
                contact=row.get("contact", "").strip(),
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class Registered:
    station: Station
    token: str


CreateFn = Callable[[str, float, float, str, bool, int | None], str]


def register_stations(
    stations: Iterable[Station], create: CreateFn
) -> tuple[list[Registered], list[RowProblem]]:
    """Create each station with ``create(id, lat, lon, name, indoor, precision) -> token``.

    A ``ValueError`` from ``create`` (e.g. the id already exists) becomes a row problem; the
    other stations are still created.
    """
    done: list[Registered] = []
    failed: list[RowProblem] = []
    for s in stations:
        try:
            token = create(s.id, s.lat, s.lon, s.name, s.indoor, s.precision)
        except ValueError as exc:
            failed.append(RowProblem(s.line, (t("row_refused", id=s.id, why=str(exc)),)))
            continue
        done.append(Registered(s, token))
    return done, failed
