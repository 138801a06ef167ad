"""Output formats of the series endpoints (JSON, CSV, Parquet), each streamed row group by row
group, each carrying the licence and provenance of the data.

Rows are *long* ("tidy"): one row per (time, station, sensor, quantity), with ``value`` for raw
readings or one column per requested statistic for windows. The same columns in every format.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson

from airq_core.quantities import QUANTITIES
from airq_core.readings import format_time
from api.registry import SOURCE_SENSOR_COMMUNITY, Station

__all__ = [
    "FORMATS",
    "Row",
    "csv_body",
    "csv_stream",
    "json_points",
    "json_points_padded",
    "json_stream",
    "parquet_body",
    "parquet_stream",
    "provenance",
]

ODBL_URL = "https://opendatacommons.org/licenses/odbl/1-0/"
DBCL_URL = "https://opendatacommons.org/licenses/dbcl/1-0/"
FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
CORRECTIONS = {
    "none": "none: values as measured by the sensors, no calibration or humidity correction",
    "humidity": "humidity correction of PM2.5/PM10 computed by the ingest beside the raw values "
    "(fields <quantity>_hcorr, see docs/ingest.md); raw values are kept unchanged",
}

Row = tuple[int, str, str, str, dict[str, Any]]
"""(time in ms UTC, station, sensor, quantity, {column: value})."""


@dataclass(frozen=True, slots=True)
class Provenance:
    licence: dict[str, Any]
    """The JSON ``licence`` object; the same text goes in CSV comments and Parquet metadata."""

    def without_time(self) -> str:
        """The licence and provenance but the time they were generated at, as text: what
        tells apart two files built from the same rows."""
        return json.dumps({k: v for k, v in self.licence.items() if k != "generated"})

    def comment_lines(self) -> list[str]:
        lic = self.licence
        lines = [
            f"licence: {lic['name']} ({lic['url']}); contents: {lic['contents']}",
            f"attribution: {'; '.join(lic['attribution'])}",
            f"correction: {lic['correction']}",
        ]
        for source, ids in lic["sources"].items():
            lines.append(f"source {source}: {', '.join(ids)}")
        lines.append(f"query: {json.dumps(lic['query'], ensure_ascii=False)}")
        lines.append(f"generated: {lic['generated']}")
        return lines


def provenance(stations: Sequence[Station], correction: str, query: dict[str, Any]) -> Provenance:
    """The licence and provenance of an export over ``stations``."""
    sources: dict[str, list[str]] = {}
    for s in stations:
        sources.setdefault(s.source, []).append(s.id)
    attribution = ["AirQuartiers contributors (citizen sensors)"]
    if SOURCE_SENSOR_COMMUNITY in sources:
        attribution.append(
            "sensor.community contributors (imported data, ODbL 1.0, archive of sensor.community)"
        )
    return Provenance(
        {
            "name": "ODbL-1.0",
            "url": ODBL_URL,
            "contents": f"DbCL-1.0 ({DBCL_URL})",
            "attribution": attribution,
            "sources": sources,
            "correction": CORRECTIONS[correction],
            "query": query,
            "generated": format_time(round(datetime.now(UTC).timestamp())),
        }
    )


@lru_cache(maxsize=2)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def time_formatter(tz: str):  # type: ignore[no-untyped-def]
    """ms -> RFC 3339 text: ``Z`` in UTC, the local offset for other zones."""
    if tz == "UTC":
        return lambda ms: format_time(ms / 1000)
    zone = _zone(tz)

    def fmt(ms: int) -> str:
        dt = datetime.fromtimestamp(ms / 1000, zone)
        if ms % 1000:
            return dt.isoformat(timespec="milliseconds")
        return dt.isoformat(timespec="seconds")

    return fmt


INT_COLUMNS = frozenset({"count", "n", "n_flagged"})
TEXT_COLUMNS = frozenset({"flags"})


# -- one row encoder per format, shared by its paths ---------------------------------------
# A format has up to three paths: a document built at once from stored windows (JSON), a file
# built column-wise (CSV, Parquet: ``*_body``), and a stream of rows (``*_stream``). Each
# encodes a column's values through the same cell function below, so that the paths give the
# same bytes whatever InfluxDB answered with (its JSON writes 31 for the float 31.0, its
# MessagePack 31.0: both are the float 31.0 here).


def _as_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _as_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _as_text(v: Any) -> str | None:
    return None if v is None else str(v)


def cell_value(column: str) -> Callable[[Any], Any]:
    """The value of ``column`` as every format holds it: an integer for counts, text for
    ``flags``, a float for the rest; None stays None (JSON null, an empty CSV cell)."""
    if column in INT_COLUMNS:
        return _as_int
    if column in TEXT_COLUMNS:
        return _as_text
    return _as_float


def _num(v: Any) -> str:
    """A CSV cell of a value already typed by ``cell_value``."""
    if v is None:
        return ""
    if isinstance(v, str):  # the ``flags`` of a raw reading: comma-joined, hence quoted
        if any(c in v for c in ',"\n\r'):
            return '"' + v.replace('"', '""') + '"'
        return v
    return repr(v)


def csv_cell(column: str) -> Callable[[Any], str]:
    """A value of ``column`` -> its CSV cell (the CSV encoder of both CSV paths)."""
    typed = cell_value(column)
    return lambda v: _num(typed(v))


def json_values(column: str, values: Iterable[Any]) -> list[Any]:
    """The values of ``column`` typed as the JSON paths write them (the one-to-one document
    column-wise, the stream row by row: ``json_point``)."""
    typed = cell_value(column)
    return [typed(v) for v in values]


def json_point(columns: Sequence[str]) -> Callable[[str, Row], bytes]:
    """``(time text, row) -> the row's JSON object``: the JSON encoder of the stream, byte
    for byte the objects ``json_points`` builds column-wise from the same values."""
    typed = [(c, cell_value(c)) for c in columns]

    def encode(time_text: str, row: Row) -> bytes:
        _, station, sensor, quantity, vals = row
        obj = {"time": time_text, "station": station, "sensor": sensor, "quantity": quantity}
        for c, conv in typed:
            obj[c] = conv(vals.get(c))
        return orjson.dumps(obj)

    return encode


def csv_line(columns: Sequence[str]) -> Callable[[str, Row], str]:
    """``(time text, row) -> the row's CSV line``: the CSV encoder of the stream, the same
    cells as ``csv_body`` writes column-wise (``csv_cell``)."""
    cells = [(c, csv_cell(c)) for c in columns]

    def encode(time_text: str, row: Row) -> str:
        _, station, sensor, quantity, vals = row
        values = ",".join(enc(vals.get(c)) for c, enc in cells)
        return f"{time_text},{station},{sensor},{quantity},{values}\n"

    return encode


def _arrow_type(column: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    if column in INT_COLUMNS:
        return pa.int64()
    if column in TEXT_COLUMNS:
        return pa.string()
    return pa.float64()


FLUSH_BYTES = 64 * 1024


def _csv_head(columns: Iterable[str], prov: Provenance) -> str:
    """The ``#`` licence lines and the header line of a CSV export."""
    head = "".join(f"# {line}\n" for line in prov.comment_lines())
    return head + ",".join(["time", "station", "sensor", "quantity", *columns]) + "\n"


def _json_opening(header: dict[str, Any], columns: Sequence[str], prov: Provenance) -> str:
    """A JSON answer up to its ``points`` array opened: the header, licence and columns."""
    head = dict(header)
    head["licence"] = prov.licence
    head["columns"] = ["time", "station", "sensor", "quantity", *columns]
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "points": ['


async def csv_stream(
    rows: AsyncIterator[Row], columns: Sequence[str], prov: Provenance, tz: str
) -> AsyncIterator[bytes]:
    """CSV with ``#`` comment lines first (pandas: ``read_csv(..., comment="#")``)."""
    fmt = time_formatter(tz)
    encode = csv_line(columns)
    head = _csv_head(columns, prov)
    buf = [head]
    size = len(head)
    async for row in rows:
        line = encode(fmt(row[0]), row)
        buf.append(line)
        size += len(line)
        if size >= FLUSH_BYTES:
            yield "".join(buf).encode()
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode()


def csv_body(
    times_ms: np.ndarray,
    label_of: np.ndarray,
    labels: Sequence[dict[str, str]],
    columns: dict[str, list[Any]],
    prov: Provenance,
) -> bytes:
    """The same text as ``csv_stream`` (UTC), from rows already in memory, column by column,
    each cell written by ``csv_cell`` as the stream writes it."""
    head = _csv_head(columns, prov)
    if len(times_ms) == 0:
        return head.encode()
    cells = utc_text_cells(times_ms)
    if cells is None:  # not whole seconds (never for stored windows)
        fmt = time_formatter("UTC")
        times = [fmt(int(t)) for t in np.asarray(times_ms).tolist()]
    else:
        times = cells.astype("U20").tolist()
    label_text = [f"{lab['station']},{lab['sensor']},{lab['quantity']}" for lab in labels]
    texts: list[list[str]] = [times, [label_text[i] for i in label_of.tolist()]]
    for name, values in columns.items():
        cell = csv_cell(name)
        texts.append([cell(v) for v in values])
    return (head + "\n".join(map(",".join, zip(*texts, strict=True))) + "\n").encode()


async def json_stream(
    rows: AsyncIterator[Row],
    columns: Sequence[str],
    prov: Provenance,
    tz: str,
    header: dict[str, Any],
) -> AsyncIterator[bytes]:
    """``{...header, "licence": {...}, "columns": [...], "points": [{...}, ...]}``."""
    fmt = time_formatter(tz)
    encode = json_point(columns)
    opening = _json_opening(header, columns, prov)
    buf = [opening]
    size = len(buf[0])
    first = True
    async for row in rows:
        item = ("" if first else ",") + encode(fmt(row[0]), row).decode()
        first = False
        buf.append(item)
        size += len(item)
        if size >= FLUSH_BYTES:
            yield "".join(buf).encode()
            buf, size = [], 0
    buf.append("]}")
    yield "".join(buf).encode()


class _Sink(io.RawIOBase):
    """A file-like object pyarrow writes into and the response drains after each row group."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._parts.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts = []
        return out


ROW_GROUP = 65_536
# zstd; dictionary encoding for the label columns only (a few distinct values), times as
# deltas (regular windows: a few bits each), values plain. A year of hourly means: 36 kB
# written in 0.8 ms, against 84 kB in 1.4 ms with dictionaries everywhere (statistics kept:
# readers use them to skip row groups). Both encodings are in every Parquet reader.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": ["station", "sensor", "quantity"],
    "column_encoding": {"time": "DELTA_BINARY_PACKED"},
}


def _parquet_schema(columns: Sequence[str], prov: Provenance, tz: str):  # type: ignore[no-untyped-def]
    """The Parquet schema of an export, with the licence and provenance as key-value
    metadata (``licence``, ``attribution``, ``airq.provenance``, ``airq.units``)."""
    import pyarrow as pa

    fields = [
        pa.field("time", pa.timestamp("ms", tz=tz)),
        pa.field("station", pa.string()),
        pa.field("sensor", pa.string()),
        pa.field("quantity", pa.string()),
    ]
    for c in columns:
        fields.append(pa.field(c, _arrow_type(c)))
    lic = prov.licence
    meta = {
        b"licence": f"{lic['name']} {lic['url']}".encode(),
        b"attribution": "; ".join(lic["attribution"]).encode(),
        b"airq.provenance": json.dumps(lic, ensure_ascii=False).encode(),
        b"airq.units": json.dumps({q: v.unit for q, v in QUANTITIES.items()}).encode(),
    }
    return pa.schema(fields, metadata=meta)


async def parquet_stream(
    rows: AsyncIterator[Row], columns: Sequence[str], prov: Provenance, tz: str
) -> AsyncIterator[bytes]:
    """Parquet written one row group at a time; the licence and provenance are key-value
    metadata of the file (``licence``, ``attribution``, ``airq.provenance``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema(columns, prov, tz)
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, **PARQUET_OPTIONS)
    cols: dict[str, list[Any]] = {name: [] for name in schema.names}

    def flush() -> None:
        writer.write_table(pa.table(cols, schema=schema))
        for v in cols.values():
            v.clear()

    n = 0
    async for t, station, sensor, quantity, vals in rows:
        cols["time"].append(t)
        cols["station"].append(station)
        cols["sensor"].append(sensor)
        cols["quantity"].append(quantity)
        for c in columns:
            cols[c].append(vals.get(c))
        n += 1
        if n >= ROW_GROUP:
            flush()
            n = 0
            yield sink.drain()
    if n or not sink.tell():
        flush()
    writer.close()
    yield sink.drain()


def parquet_body(
    times_ms: np.ndarray,
    label_of: np.ndarray,
    labels: Sequence[dict[str, str]],
    columns: dict[str, list[Any]],
    prov: Provenance,
) -> bytes:
    """The same file as ``parquet_stream`` (UTC), from rows already in memory and built
    column-wise: the labels are taken by index, the values converted once per column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema(list(columns), prov, "UTC")
    index = pa.array(label_of, type=pa.int32())
    table = pa.table(
        {
            "time": pa.array(times_ms, type=pa.int64()).cast(schema.field("time").type),
            **{
                name: pa.array([lab[name] for lab in labels], pa.string()).take(index)
                for name in ("station", "sensor", "quantity")
            },
            **{c: pa.array(v, schema.field(c).type) for c, v in columns.items()},
        },
        schema=schema,
    )
    sink = _Sink()
    with pq.ParquetWriter(sink, schema, **PARQUET_OPTIONS) as writer:
        for start in range(0, max(table.num_rows, 1), ROW_GROUP):
            writer.write_table(table.slice(start, ROW_GROUP))
    return sink.drain()


def json_body(
    points: bytes, columns: Sequence[str], prov: Provenance, header: dict[str, Any]
) -> bytes:
    """The same document as ``json_stream``, from the points already encoded (the JSON
    objects separated by commas, as ``json_points`` gives them: stored windows served one to
    one)."""
    opening = _json_opening(header, columns, prov)
    return opening.encode() + points + b"]}"


# -- JSON points built column-wise -------------------------------------------------------------

_TIME_CELL = np.dtype([("date", "S10"), ("t", "S1"), ("clock", "S8"), ("z", "S1")])


def utc_text_cells(times_ms: np.ndarray) -> np.ndarray | None:
    """Whole-second times (ms, 1970…9999) -> an array of 20-byte cells
    ``YYYY-MM-DDTHH:MM:SSZ``, the text of ``format_time``; None when a time is not a whole
    second or is out of range. Each distinct day and time of day is formatted once."""
    t = np.asarray(times_ms, dtype=np.int64)
    if t.size and ((t % 1000).any() or t.min() < 0 or t.max() >= 253_402_300_800_000):
        return None
    days, sod = np.divmod(t // 1000, 86_400)
    day_set, day_of = np.unique(days, return_inverse=True)
    sod_set, sod_of = np.unique(sod, return_inverse=True)
    clocks = [f"{v // 3600:02d}:{v // 60 % 60:02d}:{v % 60:02d}" for v in sod_set.tolist()]
    cells = np.empty(t.size, dtype=_TIME_CELL)
    cells["date"] = np.datetime_as_string(day_set.astype("M8[D]")).astype("S10")[day_of]
    cells["t"] = b"T"
    cells["clock"] = np.array(clocks, dtype="S8")[sod_of]
    cells["z"] = b"Z"
    return cells.view("S20")


def _text_cells(joined: bytes, n: int) -> np.ndarray:
    """``n`` comma-separated JSON scalars (numbers, null: no comma inside) -> ``n`` cells of
    the widest one's width, NUL-padded on the right."""
    buf = np.frombuffer(joined, dtype=np.uint8)
    commas = np.flatnonzero(buf == 44)
    if len(commas) != n - 1:
        raise ValueError("not a list of scalars")
    bounds = np.concatenate(([-1], commas, [len(buf)]))
    width = int(np.diff(bounds).max()) - 1
    return np.array(joined.split(b","), dtype=f"S{max(width, 1)}")


def json_points(
    times_ms: np.ndarray,
    label_of: np.ndarray,
    labels: Sequence[dict[str, str]],
    columns: dict[str, list[Any]],
) -> bytes | None:
    """The JSON objects ``{"time": …, **labels[label_of[i]], <column>: value, …}`` separated
    by commas: byte for byte ``orjson.dumps(points)[1:-1]`` of the same dicts, built
    column-wise in fixed-width cells instead of one dict per point (several times faster for
    the thousands of points of a long series). None when a time is not a whole second."""
    padded = json_points_padded(times_ms, label_of, labels, columns)
    return None if padded is None else unpad(padded)


def unpad(text: bytes) -> bytes:
    """Removes the NUL padding of ``json_points_padded`` (JSON text never holds a raw NUL:
    orjson escapes control characters)."""
    return text.translate(None, b"\x00")


def json_points_padded(
    times_ms: np.ndarray,
    label_of: np.ndarray,
    labels: Sequence[dict[str, str]],
    columns: dict[str, list[Any]],
) -> bytes | None:
    """``json_points`` before its NUL padding is removed: every point takes the same number
    of bytes, its comma included (the last point has none), so that points can be cut apart
    by index first (``unpad`` each piece afterwards)."""
    n = len(times_ms)
    if n == 0:
        return b""
    times = utc_text_cells(times_ms)
    if times is None:
        return None
    label_text = np.array([orjson.dumps(lab)[1:-1] for lab in labels], dtype=bytes)
    cells: list[tuple[str, bytes | np.ndarray]] = [
        ("open", b'{"time":"'),
        ("time", times),
        ("quote", b'",'),
        ("labels", label_text[label_of]),
    ]
    for i, (name, values) in enumerate(columns.items()):
        cells.append((f"k{i}", b"," + orjson.dumps(name) + b":"))
        text = orjson.dumps(json_values(name, values))[1:-1]
        cells.append((f"v{i}", _text_cells(text, n)))
    cells.append(("close", b"},"))
    row = np.dtype([(k, v.dtype if isinstance(v, np.ndarray) else f"S{len(v)}") for k, v in cells])
    table = np.empty(n, dtype=row)
    for k, v in cells:
        table[k] = v
    return table.tobytes()[:-1]
