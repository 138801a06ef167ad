"""Rows of a bulk registration (``POST /v1/admin/stations/bulk``): a JSON array of stations or
a CSV file -> one :class:`Row` per station, each valid or refused with a code and a reason.
Pure: no I/O; the route asks the registry which ids exist (:func:`refuse_existing`).

Row numbers are what a person finds in the file: the position in the JSON array (from 1), or
the CSV line (the header is line 1). Codes (``Row.code``) are stable; reasons are sentences:

=================  ===================================================================
``bad_row``        not an object, a field of the wrong type, an unknown field, a CSV
                   line that cannot be read or has more fields than the header
``bad_id``         not a station id (3 to 64 lower-case letters, digits and dashes),
                   or one starting with the reserved ``airq-``
``bad_coords``     lat outside [-90, 90], lon outside [-180, 180], or not a number
``bad_precision``  precision (decimals of lat/lon on public outputs) not a whole number
                   from 2 to 5 (empty or null: the deployment's default)
``duplicate``      the id is given again in the same file (the first row keeps it)
``exists``         the registry already holds this id (retired stations included)
=================  ===================================================================

Errors: :class:`BulkBodyError` when the body as a whole cannot be used (not JSON, not an
array, no header with id, lat and lon, no row, too many rows): answer 400 (413 for the size).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from api.registry import NewStation, RegistryError, check_precision, validate_station

__all__ = [
    "MAX_ROWS",
    "BulkBodyError",
    "Row",
    "refuse_duplicates",
    "refuse_existing",
    "rows_from_csv",
    "rows_from_json",
]

MAX_ROWS = 20_000
"""Stations in one request (13 000 stations of CSV are about 600 kB)."""

MAX_NAME = 200
FIELDS = ("id", "lat", "lon", "name", "indoor", "precision")
_TRUE = {"true", "1", "yes", "oui", "y", "o"}
_FALSE = {"false", "0", "no", "non", "n", ""}


class BulkBodyError(ValueError):
    """The body cannot be read as rows at all; ``status`` is 400, or 413 past
    :data:`MAX_ROWS`. The message says what to fix."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Row:
    """One station of the file: ``station`` when valid, else ``code`` and ``reason``."""

    row: int
    id: str | None
    station: NewStation | None = None
    code: str | None = None
    reason: str | None = None

    def refuse(self, code: str, reason: str) -> None:
        self.station, self.code, self.reason = None, code, reason

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "id": self.id, "ok": self.station is not None}
        if self.code is not None:
            out["code"], out["reason"] = self.code, self.reason
        return out


def _cut(value: object) -> str:
    return repr(value)[:40]


def _row(
    number: int, sid: Any, lat: Any, lon: Any, name: Any, indoor: Any, precision: Any = None
) -> Row:
    """Checks shared by both formats; values already typed (str, float, bool, int or None
    for the precision) or refused."""
    row = Row(number, sid[:64] if isinstance(sid, str) else None)
    if not isinstance(sid, str) or not sid:
        row.refuse("bad_row", "id missing or not a string")
        return row
    if not isinstance(name, str) or len(name) > MAX_NAME:
        row.refuse("bad_row", f"name must be a string of at most {MAX_NAME} characters")
        return row
    if not isinstance(indoor, bool):
        row.refuse("bad_row", f"indoor must be true or false, not {_cut(indoor)}")
        return row
    for what, value in (("lat", lat), ("lon", lon)):
        if not isinstance(value, float) or not math.isfinite(value):
            row.refuse("bad_coords", f"{what} must be a number, not {_cut(value)}")
            return row
    try:
        validate_station(sid, lat, lon)
    except RegistryError as exc:
        row.refuse("bad_coords" if "coordinates" in str(exc) else "bad_id", str(exc))
        return row
    if precision is not None:
        try:
            check_precision(precision)
        except RegistryError as exc:
            row.refuse("bad_precision", str(exc))
            return row
    row.station = NewStation(sid, lat, lon, name, indoor, precision)
    return row


def _number(value: Any) -> Any:
    """JSON numbers as floats (booleans are not numbers); anything else as given."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def rows_from_json(items: Any) -> list[Row]:
    """Rows of a decoded JSON body: an array of ``{"id", "lat", "lon", "name"?, "indoor"?,
    "precision"?}``."""
    if not isinstance(items, list):
        raise BulkBodyError("the body must be a JSON array of stations, or a CSV file")
    _check_count(len(items))
    rows = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            rows.append(Row(n, None, code="bad_row", reason="not an object"))
            continue
        unknown = sorted(str(k)[:20] for k in item if k not in FIELDS)
        if unknown:
            sid = item.get("id")
            row = Row(n, sid[:64] if isinstance(sid, str) else None)
            row.refuse("bad_row", f"unknown field(s): {', '.join(unknown[:5])}")
            rows.append(row)
            continue
        rows.append(
            _row(
                n,
                item.get("id"),
                _number(item.get("lat")),
                _number(item.get("lon")),
                item.get("name", ""),
                item.get("indoor", False),
                item.get("precision"),
            )
        )
    return rows


def _csv_number(text: str) -> float | str:
    raw = text.strip()
    for candidate in (raw, raw.replace(",", ".")):
        try:
            return float(candidate)
        except ValueError:
            continue
    return raw


def _csv_int(text: str) -> int | str | None:
    """A whole number, None for an empty cell, else the text (refused by the checks)."""
    raw = text.strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else raw


def _csv_bool(text: str) -> bool | str:
    v = text.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return text.strip()


def rows_from_csv(data: bytes) -> list[Row]:
    """Rows of a CSV body: a header naming ``id``, ``lat``, ``lon`` and optionally ``name``,
    ``indoor`` and ``precision`` (any order, any case), separated by ``,`` ``;`` or tabs;
    UTF-8 (a BOM is skipped). ``indoor``: true/false, 1/0, yes/no, oui/non, empty for false;
    ``precision``: decimals of lat/lon on public outputs, empty for the deployment's
    default. With ``;`` or tabs, a decimal comma is read (``50,449``)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkBodyError("the CSV body must be UTF-8") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise BulkBodyError(
            "the CSV body needs a header line: id,lat,lon,name,indoor,precision"
        ) from None
    missing = [f for f in ("id", "lat", "lon") if f not in header]
    if missing:
        raise BulkBodyError(
            f"the CSV header lacks {', '.join(missing)} (found: {', '.join(header)[:120]}); "
            "expected id,lat,lon,name,indoor,precision"
        )
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        raise BulkBodyError(f"unknown CSV column(s): {', '.join(unknown)[:120]}")
    rows: list[Row] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a stray quote, a NUL byte: this line only
            rows.append(Row(line, None, code="bad_row", reason=f"unreadable CSV line: {exc}"))
            _check_count(len(rows))
            continue
        if not any(c.strip() for c in cells):
            continue
        _check_count(len(rows) + 1)
        if len(cells) > len(header):
            rows.append(
                Row(
                    reader.line_num,
                    None,
                    code="bad_row",
                    reason=f"{len(cells)} fields for {len(header)} columns",
                )
            )
            continue
        v = dict(zip(header, cells, strict=False))
        rows.append(
            _row(
                reader.line_num,
                v.get("id", "").strip(),
                _csv_number(v.get("lat", "")),
                _csv_number(v.get("lon", "")),
                v.get("name", "").strip(),
                _csv_bool(v.get("indoor", "")),
                _csv_int(v.get("precision", "")),
            )
        )
    if not rows:
        raise BulkBodyError("the CSV body has a header but no station")
    return rows


def _check_count(n: int) -> None:
    if n > MAX_ROWS:
        raise BulkBodyError(f"more than {MAX_ROWS} stations in one request: split it", 413)


def refuse_duplicates(rows: Iterable[Row]) -> None:
    """An id given again: the later rows are refused, the first keeps it."""
    first: dict[str, int] = {}
    for row in rows:
        if row.station is None:
            continue
        sid = row.station.id
        if sid in first:
            row.refuse("duplicate", f"id {sid!r} already given at row {first[sid]}")
        else:
            first[sid] = row.row


def refuse_existing(rows: Iterable[Row], existing: set[str]) -> None:
    for row in rows:
        if row.station is not None and row.station.id in existing:
            row.refuse("exists", f"station {row.station.id!r} already exists")
