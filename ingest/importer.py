"""Import of sensor.community (ex-luftdaten.info) data: the archive's daily CSV files and the
``data.json`` API format, into raw readings and aggregates.

Station ids: one station per sensor.community *location* (a board at one place, hosting
several sensors), ``sc-<location id>`` (``sc-3121``); the sensor tag is our model name
(``sds011``, ``bme280``…). Sensor types the platform does not know are skipped and counted.

Values: parsed by column/value-type name (``P1`` is PM10, ``P2`` PM2.5, ``P0`` PM1, ``P4`` PM4,
``N05``…``N10`` number concentrations, ``TS`` typical size, ``temperature``, ``humidity``,
``pressure`` converted from Pa to hPa); empty and ``nan`` cells are missing values; every
reading goes through the wire-format validation (plausible ranges, known sensors) with no age
limit. Timestamps are UTC (the archive writes them without a zone).

Quality control, as on the live path, so that an archive imported and the same readings
received live carry the same flags and the same aggregates: a row gets the flags the sensor's
protocol module gives that measurement (``ROW_FLAGS``: an SDS011 row with PM2.5 and PM10 both
0, an SPS30 row with its ten values 0, is ``warmup``, left out of the aggregates), then the
ingest's humidity QC (``ingest.qc.HumidityQC``: ``<pm>_hcorr``, ``qc_rh``, the ``humid``
flag) over the station's readings of every file given, in time order, the readings of one
instant together, as a station's messages reach the live ingest. Files are read one archive
day at a time (the date in the name; other files one by one, after), so that PM and humidity
rows of the same board, which sit in separate files, meet.

Storage: raw readings are written in the ``raw`` retention policy (a second import of the same
station, sensor and time overwrites the point: importing twice changes nothing), then the
aggregates of the periods touched are rebuilt from raw (``ingest.rebuild``). Readings older than
the raw retention would be dropped by InfluxDB: they are not written raw, and their aggregates
are computed by the same rebuild from the imported readings held in memory, so that they carry
the same statistics (``<q>_flagged``, ``<q>_coverage``, the hourly ``interval_s``…) as the live
rollups; a Paris day cut by the edge of an import is then aggregated from the part imported.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from airq_core import wire
from airq_core.protocols import sds011, sps30
from airq_core.readings import Reading
from airq_core.storage import RAW_RP, excludes_from_aggregates
from ingest.influx import InfluxWriter
from ingest.lineproto import encode_lines
from ingest.qc import HumidityQC
from ingest.rebuild import ChunkFetch, rebuild
from ingest.recompute import AGGREGATED, RawSeries, query_chunk
from ingest.windows import DAY_MS

log = logging.getLogger(__name__)

__all__ = [
    "ROW_FLAGS",
    "SENSOR_TYPES",
    "VALUE_TYPES",
    "ImportFileError",
    "ImportReport",
    "ParsedRow",
    "ScStation",
    "SensorCommunityImporter",
    "archive_days",
    "parse_archive_csv",
    "parse_data_json",
    "quality_control",
    "station_id_for",
]

SOURCE = "sensor.community"

# sensor.community sensor type (upper case) -> our sensor model
SENSOR_TYPES = {
    "SDS011": "sds011",
    "PMS5003": "pms5003",
    "PMS7003": "pms7003",
    "SPS30": "sps30",
    "BME280": "bme280",
    "BMP280": "bmp280",
    "DHT22": "dht22",
    "SHT30": "sht3x",
    "SHT31": "sht3x",
    "SHT35": "sht3x",
    "SHT3X": "sht3x",
}

# value type / column -> (quantity, factor to the canonical unit)
VALUE_TYPES: dict[str, tuple[str, float]] = {
    "P0": ("pm1", 1.0),
    "P1": ("pm10", 1.0),
    "P2": ("pm2_5", 1.0),
    "P4": ("pm4", 1.0),
    "N05": ("nc0_5", 1.0),
    "N1": ("nc1", 1.0),
    "N25": ("nc2_5", 1.0),
    "N4": ("nc4", 1.0),
    "N10": ("nc10", 1.0),
    "TS": ("tps", 1.0),
    "temperature": ("temperature", 1.0),
    "humidity": ("humidity", 1.0),
    "pressure": ("pressure", 0.01),  # Pa -> hPa
}

# sensor model -> the flags its protocol module gives a measurement of these values (the live
# path sets them when it decodes the sensor's frame; an archive row is that measurement). Not
# the Plantower rule: it needs the particle counts, which the archive does not hold for PMS.
ROW_FLAGS: dict[str, Callable[[dict[str, float]], tuple[str, ...]]] = {
    "sds011": lambda v: sds011.sample_flags(v.get("pm2_5"), v.get("pm10")),
    "sps30": sps30.sample_flags,
}

# how far back the humidity QC keeps a station's humidity (its default): files going further back
# in time than this start a new QC
QC_HISTORY_S = 6 * 3600.0

IMPORT_LIMITS = wire.Limits(
    max_payload_bytes=1 << 30, max_readings=1 << 30, max_future_s=300.0, max_age_s=math.inf
)
ARCHIVE_NAME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})_([a-z0-9]+)_sensor_(\d+)(_indoor)?\.csv(\.gz)?$"
)


class ImportFileError(Exception):
    """A file cannot be imported at all (unreadable, not a known format): the message says
    which and why; other files are still imported."""


def station_id_for(location_id: int | str) -> str:
    """Our station id for a sensor.community location: ``sc-<location id>``."""
    return f"sc-{int(location_id)}"


@dataclass(frozen=True, slots=True)
class ScStation:
    id: str
    location_id: int
    lat: float
    lon: float
    indoor: bool

    @property
    def name(self) -> str:
        return f"sensor.community location {self.location_id}"


@dataclass(frozen=True, slots=True)
class ParsedRow:
    station: ScStation
    sensor_type: str  # as sensor.community spells it
    ts: float
    values: dict[str, float]


@dataclass
class ImportReport:
    files: int = 0
    rows: int = 0
    readings: int = 0
    raw_points: int = 0
    history_only: int = 0
    aggregate_points: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)  # flag -> readings carrying it
    excluded: int = 0  # readings whose flags leave them out of the aggregates
    unsupported_types: Counter[str] = field(default_factory=Counter)
    unknown_stations: set[str] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    failed_files: dict[str, str] = field(default_factory=dict)


def _parse_ts(text: str) -> float:
    text = text.strip()
    if not text or len(text) > 40:
        raise ValueError("bad timestamp")
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _parse_values(items: Iterable[tuple[str, Any]], rejected: Counter[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for name, raw in items:
        spec = VALUE_TYPES.get(name)
        if spec is None or raw is None:
            continue
        text = str(raw).strip()
        if not text or text.lower() == "nan":
            continue
        try:
            v = float(text)
        except ValueError:
            rejected["not_number"] += 1
            continue
        if not math.isfinite(v):
            rejected["not_number"] += 1
            continue
        qname, factor = spec
        values[qname] = round(v * factor, 6) if factor != 1.0 else v
    return values


def parse_archive_csv(
    lines: Iterable[str], rejected: Counter[str], indoor: bool = False
) -> Iterator[ParsedRow]:
    """Rows of an archive daily CSV (``;``-separated, columns found by header name)."""
    reader = csv.DictReader(lines, delimiter=";")
    needed = {"sensor_type", "location", "lat", "lon", "timestamp"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise ImportFileError(
            f"not a sensor.community archive CSV (need columns {', '.join(sorted(needed))})"
        )
    stations: dict[tuple[str, str, str], ScStation] = {}
    for row in reader:
        try:
            key = (row["location"], row["lat"], row["lon"])
            st = stations.get(key)
            if st is None:
                loc = int(row["location"])
                st = ScStation(
                    station_id_for(loc), loc, float(row["lat"]), float(row["lon"]), indoor
                )
                stations[key] = st
            ts = _parse_ts(row["timestamp"])
        except (ValueError, TypeError):
            rejected["bad_row"] += 1
            continue
        values = _parse_values(row.items(), rejected)
        yield ParsedRow(st, (row.get("sensor_type") or "").strip().upper(), ts, values)


def parse_data_json(obj: Any, rejected: Counter[str]) -> Iterator[ParsedRow]:
    """Records of the sensor.community API (``data.json``: an array of measurements)."""
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        raise ImportFileError("not a sensor.community data.json (expected an array of records)")
    for rec in obj:
        try:
            loc = rec["location"]
            sensor = rec["sensor"]
            st = ScStation(
                station_id_for(loc["id"]),
                int(loc["id"]),
                float(loc["latitude"]),
                float(loc["longitude"]),
                bool(int(loc.get("indoor") or 0)),
            )
            sensor_type = str(sensor["sensor_type"]["name"]).strip().upper()
            ts = _parse_ts(str(rec["timestamp"]))
            items = [
                (str(v.get("value_type")), v.get("value"))
                for v in rec.get("sensordatavalues") or []
                if isinstance(v, dict)
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            rejected["bad_row"] += 1
            continue
        yield ParsedRow(st, sensor_type, ts, _parse_values(items, rejected))


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115


def read_file(path: Path, rejected: Counter[str]) -> Iterator[ParsedRow]:
    """Parsed rows of one file, by kind: ``*.json`` (API format) or CSV (archive)."""
    name = path.name.lower()
    try:
        if name.endswith((".json", ".json.gz")):
            with _open_text(path) as f:
                obj = json.load(f)
            yield from parse_data_json(obj, rejected)
            return
        indoor = bool((m := ARCHIVE_NAME_RE.match(name)) and m.group(4))
        with _open_text(path) as f:
            yield from parse_archive_csv(f, rejected, indoor)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise ImportFileError(f"{path}: {exc}") from None


def archive_days(paths: Sequence[Path]) -> list[list[Path]]:
    """``paths`` in groups read together: archive files by the date in their name (``2018-01-15_
    sds011_sensor_5331.csv``), in date order; every other file alone, after them, as given."""
    dated: dict[str, list[Path]] = {}
    others: list[list[Path]] = []
    for p in paths:
        m = ARCHIVE_NAME_RE.match(p.name.lower())
        if m:
            dated.setdefault(m.group(1), []).append(p)
        else:
            others.append([p])
    return [dated[d] for d in sorted(dated)] + others


def _reading_time(r: Reading) -> float:
    return r.ts


def quality_control(
    readings: list[Reading], qc: HumidityQC, rejected: Counter[str]
) -> Iterator[Reading]:
    """``readings`` (in time order) through the ingest's humidity QC, the readings of one
    instant as one batch: what the live ingest does with a station's messages as they come (a
    PM reading takes the humidity of the same instant, else the latest before). A batch the
    QC fails on is dropped and counted (``internal``), as the ingest dead-letters it."""
    for _, group in itertools.groupby(readings, key=_reading_time):
        batch = list(group)
        try:
            out = qc.apply(batch)
        except Exception:  # noqa: BLE001 - isolated: one instant, counted
            rejected["internal"] += len(batch)
            log.debug("quality control failed on %s", batch[0], exc_info=True)
            continue
        yield from out


def _go_duration_ms(text: str) -> int:
    """InfluxDB durations as SHOW RETENTION POLICIES prints them (``9600h0m0s``); 0 = INF."""
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(h|m|s|ms|us|µs|ns)", text):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3}.get(unit, 0.0)
    return int(total * 1000)


class SensorCommunityImporter:
    """Imports files into InfluxDB through ``writer``.

    ``station_ok(station)`` is asked once per station id met: it creates the station in the
    registry or says whether it exists (the registry belongs to the API; the CLI wires it). Rows
    of stations it refuses are counted in ``unknown_stations`` and skipped.
    ``humidity_threshold`` and ``humidity_max_age_s``: the ingest's humidity QC settings
    (``AIRQ_INGEST_HUMIDITY_THRESHOLD``, ``AIRQ_INGEST_HUMIDITY_MAX_AGE_S``).
    """

    def __init__(
        self,
        writer: InfluxWriter,
        station_ok: Callable[[ScStation], bool],
        raw_retention: str = "400d",
        batch_lines: int = 5000,
        clock: Callable[[], float] = time.time,
        humidity_threshold: float = 75.0,
        humidity_max_age_s: float = 300.0,
    ) -> None:
        self.writer = writer
        self.station_ok = station_ok
        self.raw_retention = raw_retention
        self.batch_lines = batch_lines
        self.clock = clock
        self.humidity_threshold = humidity_threshold
        self.humidity_max_age_s = humidity_max_age_s
        self._known: dict[str, bool] = {}

    def _raw_cutoff_ms(self) -> int:
        """Readings older than this would be dropped by the raw retention policy."""
        res = self.writer.query(f'SHOW RETENTION POLICIES ON "{self.writer.db}"')
        rps = {
            row[0]: row[1]
            for series in (res[0].get("series", []) if res else [])
            for row in series["values"]
        }
        if RAW_RP not in rps:
            self.writer.ensure_database(raw_retention=self.raw_retention)
            return self._raw_cutoff_ms()
        duration = _go_duration_ms(rps[RAW_RP])
        if duration <= 0:
            return -(1 << 62)
        return int(self.clock() * 1000) - duration + 3_600_000  # an hour of margin

    def run(
        self, paths: Sequence[Path], progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        """Import ``paths``; ``progress(bytes)`` is called after each file."""
        report = ImportReport()
        cutoff = self._raw_cutoff_ms()
        days: dict[int, set[str]] = {}  # UTC day start -> stations written raw that day
        old: list[Reading] = []
        pending: list[Reading] = []
        qc = self._new_qc()
        qc_until = -math.inf  # the latest reading time the QC has seen
        for group in archive_days(paths):
            readings: list[Reading] = []
            for path in group:
                try:
                    readings += self._read_file(path, report)
                except ImportFileError as exc:
                    report.failed_files[str(path)] = str(exc)
                    log.warning("cannot import %s", exc)
                if progress:
                    progress(path.stat().st_size if path.exists() else 0)
            if not readings:
                continue
            readings.sort(key=_reading_time)  # stable: files keep their order at one instant
            if readings[0].ts < qc_until - QC_HISTORY_S:  # out of the QC's history: start anew
                qc = self._new_qc()
            qc_until = max(qc_until, readings[-1].ts)
            for r in quality_control(readings, qc, report.rejected):
                if r.flags:
                    report.flagged.update(r.flags)
                    report.excluded += excludes_from_aggregates(r.flags)
                if r.ts_ms < cutoff:
                    old.append(r)
                else:
                    pending.append(r)
                    days.setdefault(r.ts_ms - r.ts_ms % DAY_MS, set()).add(r.station)
            if len(pending) >= self.batch_lines:
                self._write_raw(pending, report)
        self._write_raw(pending, report)
        self._rebuild(days, report)
        self._aggregate_old(old, report)
        return report

    def _new_qc(self) -> HumidityQC:
        return HumidityQC(self.humidity_threshold, self.humidity_max_age_s, QC_HISTORY_S)

    def _read_file(self, path: Path, report: ImportReport) -> list[Reading]:
        """The valid readings of one file, with the flags of their sensor's protocol."""
        by_station: dict[str, list[dict[str, Any]]] = {}
        stations: dict[str, ScStation] = {}
        for row in read_file(path, report.rejected):
            report.rows += 1
            model = SENSOR_TYPES.get(row.sensor_type)
            if model is None:
                report.unsupported_types[row.sensor_type or "?"] += 1
                continue
            if not row.values:
                report.rejected["no_values"] += 1
                continue
            st = row.station
            if st.id not in self._known:
                self._known[st.id] = bool(self.station_ok(st))
            if not self._known[st.id]:
                report.unknown_stations.add(st.id)
                continue
            stations[st.id] = st
            obj: dict[str, Any] = {"ts": row.ts, "sensor": model, "values": row.values}
            flags_of = ROW_FLAGS.get(model)
            if flags_of is not None and (flags := flags_of(row.values)):
                obj["flags"] = flags
            by_station.setdefault(st.id, []).append(obj)
        report.files += 1
        now = self.clock()
        out: list[Reading] = []
        for sid, objs in by_station.items():
            readings, errors = wire.decode_readings(sid, objs, now, IMPORT_LIMITS)
            report.rejected.update(e.reason for e in errors)
            report.readings += len(readings)
            report.stations.add(sid)
            out += readings
        return out

    def _write_raw(self, pending: list[Reading], report: ImportReport) -> None:
        for i in range(0, len(pending), self.batch_lines):
            chunk = pending[i : i + self.batch_lines]
            self.writer.write_lines(encode_lines(chunk), rp=RAW_RP)
            report.raw_points += len(chunk)
        pending.clear()

    def _rebuild(
        self,
        days: dict[int, set[str]],
        report: ImportReport,
        fetch: ChunkFetch = query_chunk,
        fields: Sequence[str] | None = None,
    ) -> None:
        """Aggregates of the days written raw, recomputed from raw (contiguous days at once);
        ``fetch``/``fields``: readings from elsewhere than the raw measurement."""
        run: list[int] = []
        for day in [*sorted(days), None]:
            if day is not None and (not run or day == run[-1] + DAY_MS):
                run.append(day)
                continue
            if run:
                stations = sorted(set().union(*(days[d] for d in run)))
                rep = rebuild(
                    self.writer,
                    run[0],
                    run[-1] + DAY_MS,
                    stations=stations,
                    fetch=fetch,
                    fields=fields,
                )
                report.aggregate_points += sum(rep.aggregate_points.values())
            run = [day] if day is not None else []

    def _aggregate_old(self, old: list[Reading], report: ImportReport) -> None:
        """Aggregates of readings too old for the raw retention, from the readings alone: the
        rebuild's own computation (flagged values left out of the means and counted, hourly
        coverage, packed days), fed from memory instead of the raw measurement."""
        if not old:
            return
        report.history_only += len(old)
        source = _MemoryRaw(old)
        days: dict[int, set[str]] = {}
        for r in old:
            days.setdefault(r.ts_ms - r.ts_ms % DAY_MS, set()).add(r.station)
        self._rebuild(days, report, fetch=source.query_chunk, fields=source.fields)


class _MemoryRaw:
    """Readings held in memory, answered as ``ingest.recompute.query_chunk`` answers for the
    raw measurement: per (station, sensor), rows of [time ms, *fields] (NaN when missing), and
    the times of the readings whose flags leave them out of the aggregates."""

    def __init__(self, readings: Iterable[Reading]) -> None:
        # the last import of a (station, sensor, time) wins, as it would in InfluxDB
        latest: dict[tuple[str, str, int], Reading] = {}
        for r in readings:
            latest[(r.station, r.sensor, r.ts_ms)] = r
        self.fields = sorted({q for r in latest.values() for q in r.values} & AGGREGATED)
        by_series: dict[tuple[str, str], list[Reading]] = {}
        for k in sorted(latest):
            r = latest[k]
            by_series.setdefault((r.station, r.sensor), []).append(r)
        self._rows: dict[tuple[str, str], np.ndarray] = {}
        self._excluded: dict[tuple[str, str], np.ndarray] = {}
        for key, rows in by_series.items():
            self._rows[key] = np.array(
                [[r.ts_ms, *(r.values.get(f, np.nan) for f in self.fields)] for r in rows],
                dtype=np.float64,
            )
            times = [r.ts_ms for r in rows if excludes_from_aggregates(r.flags)]
            self._excluded[key] = np.array(times, dtype=np.int64)

    def query_chunk(
        self,
        _writer: InfluxWriter,
        fields: Sequence[str],
        start_ms: int,
        end_ms: int,
        stations: Iterable[str] | None,
    ) -> tuple[list[RawSeries], list[tuple[tuple[str, str], np.ndarray]]]:
        assert list(fields) == self.fields
        wanted = None if stations is None else set(stations)
        raw: list[RawSeries] = []
        excluded: list[tuple[tuple[str, str], np.ndarray]] = []
        for key, arr in self._rows.items():
            if wanted is not None and key[0] not in wanted:
                continue
            lo, hi = np.searchsorted(arr[:, 0], [start_ms, end_ms])
            if hi > lo:
                raw.append((key, arr[lo:hi]))
            times = self._excluded[key]
            times = times[(times >= start_ms) & (times < end_ms)]
            if times.size:
                excluded.append((key, times))
        return raw, excluded
