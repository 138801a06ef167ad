"""Names shared by the ingest (writer), the API and the dashboards (readers).

InfluxDB layout (v1 API, one database, default ``airquartiers``):

* Raw readings: retention policy ``RAW_RP`` (duration configurable, default 400 days),
  measurement ``readings``, tags ``station`` and ``sensor``, one float field per quantity (the
  vocabulary names, unchanged), optional ``seq`` (integer) and ``flags`` (string) fields,
  millisecond timestamps. A second write of the same station, sensor and time overwrites.
* Aggregates: retention policy ``AGG_RP`` (kept forever by default), one measurement per tier
  (``readings_1m``, ``readings_1h``, ``readings_1d``, and ``readings_1d_paris`` for
  Europe/Paris civil days), same tags, fields ``<quantity>_mean``, ``_min``, ``_max``,
  ``_count`` (count is a float field too). The timestamp is the window start (UTC; for
  ``1d_paris``, local midnight expressed in UTC).

* Hourly aggregates packed by UTC day: measurement ``readings_1h_by_day`` (RP ``AGG_RP``), same
  tags, one point per UTC day (timestamp: midnight UTC), the same ``<quantity>_<stat>`` field
  names as ``readings_1h`` but each holding the day's 24 hourly values as one string
  (``pack_hours``). Written together with the day's ``readings_1d`` point, from the same
  ``readings_1h`` rows, so a year of hourly data reads as 365 points instead of 8760.

Registry layout: the ``stations`` table, owned by the API, read by the ingest.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Sequence

RAW_MEASUREMENT = "readings"
TAG_STATION = "station"
TAG_SENSOR = "sensor"
FIELD_SEQ = "seq"
FIELD_FLAGS = "flags"
TIME_PRECISION = "ms"

RAW_RP = "raw"
AGG_RP = "agg"

# tier name -> (measurement, window length in seconds; "1d_paris" windows follow local days)
TIERS: dict[str, tuple[str, int]] = {
    "1m": ("readings_1m", 60),
    "1h": ("readings_1h", 3600),
    "1d": ("readings_1d", 86400),
    "1d_paris": ("readings_1d_paris", 86400),
}
AGG_STATS = ("mean", "min", "max", "count")
LOCAL_TZ = "Europe/Paris"

# Quality of each window (docs/ingest.md "Aggregates"): ``<q>_count`` counts the valid values
# (n), ``<q>_flagged`` the values left out of the statistics for a flag (n_flagged, every
# tier), ``<q>_coverage`` the share of the expected readings that are valid (0..1; tiers 1h,
# 1d and 1d_paris). Windows written before these fields existed have neither: read them as
# unknown, not as zero.
QUALITY_STATS = ("flagged", "coverage")
# 1-minute windows also hold, per (station, sensor), what the interval estimate of the hour
# needs: the readings of any quantity in the minute and the first and last of their times
# (ms after the window start). 1h windows hold the estimate itself (``interval_s``).
FIELD_MINUTE_READINGS = "readings_n"
FIELD_MINUTE_FIRST = "first_ms"
FIELD_MINUTE_LAST = "last_ms"
FIELD_INTERVAL = "interval_s"
# expected interval when an hour holds a single reading (no gap to measure): the cycle of the
# sensor.community firmware and the gateway's default
DEFAULT_INTERVAL_S = 145.0

# Flags that do not exclude a value from the aggregates: they describe the sensor or the
# conditions (the value is a real measurement) — ``humid`` (the humidity-corrected fields are
# aggregated beside), ``coarse_no2`` (every ZPHS01B NO2 reading), ``model_unknown`` (values of a
# generic PM sensor). Any other flag (``warmup``, ``clock_suspect``, ``device_error``,
# ``warning``, ``unknown_status``, a flag added later) leaves the value out of the means.
KEPT_FLAGS = frozenset({"humid", "coarse_no2", "model_unknown"})


def excludes_from_aggregates(flags: str | Sequence[str] | None) -> bool:
    """True when a reading with these flags (the stored comma-joined text, or a sequence) is
    left out of the aggregates."""
    if not flags:
        return False
    names = flags.split(",") if isinstance(flags, str) else flags
    return any(f and f not in KEPT_FLAGS for f in names)


def agg_field(quantity: str, stat: str) -> str:
    """Field name of one statistic of one quantity in an aggregate tier (``pm2_5_mean``)."""
    return f"{quantity}_{stat}"


# Hourly aggregates packed by UTC day (see the module docstring). A packed value is the
# base64 text of 24 little-endian float64, hour 0 first, NaN where the hour has no window:
# exact (the same doubles as readings_1h), and decoded without parsing decimal text.
PACKED_1H_MEASUREMENT = "readings_1h_by_day"
PACKED_HOURS = 24
_PACKED = struct.Struct(f"<{PACKED_HOURS}d")


def pack_hours(values: Sequence[float | None]) -> str:
    """24 hourly values (None or NaN: no window) -> the packed field text."""
    if len(values) != PACKED_HOURS:
        raise ValueError(f"a packed day holds {PACKED_HOURS} hourly values, not {len(values)}")
    doubles = [math.nan if v is None else float(v) for v in values]
    return base64.b64encode(_PACKED.pack(*doubles)).decode("ascii")


def unpack_hours(text: str) -> list[float | None]:
    """The packed field text -> 24 hourly values (None: no window). Raises ValueError."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a packed day: {exc}") from None
    if len(raw) != _PACKED.size:
        raise ValueError(f"a packed day is {_PACKED.size} bytes, not {len(raw)}")
    return [None if math.isnan(v) else v for v in _PACKED.unpack(raw)]


STATIONS_TABLE = "stations"

# Quality control written by the ingest *beside* the raw values, never instead of them
# (see docs/ingest.md): humidity-corrected PM (hackAIR formula) in ``<quantity>_hcorr`` fields
# of the raw point, the relative humidity used in ``qc_rh``, and the flag ``humid`` added to
# ``flags`` when that humidity is above the threshold. Aggregates carry the corrected fields
# too (``pm2_5_hcorr_mean`` …).
HCORR_SUFFIX = "_hcorr"
HCORR_QUANTITIES = ("pm2_5", "pm10")
FIELD_QC_RH = "qc_rh"
QC_FLAG_HUMID = "humid"


def hcorr_field(quantity: str) -> str:
    """Field of the humidity-corrected value of a PM quantity (``pm2_5_hcorr``)."""
    return f"{quantity}{HCORR_SUFFIX}"


# Station health, written periodically by the ingest (RP ``RAW_RP``): tags ``station`` and
# ``worker`` (the ingest client id), fields ``silent`` (boolean), ``last_seen_age_s`` (float,
# absent if never seen since the worker started), ``stuck`` (integer: stuck quantities) and
# ``stuck_list`` (string ``sensor:quantity,…``).
HEALTH_MEASUREMENT = "station_health"
TAG_WORKER = "worker"

# Ingest counters, written periodically by each ingest worker (RP ``RAW_RP``): tag ``worker``,
# integer fields ``messages``, ``readings`` (valid readings decoded), ``stored`` and one
# ``rejected_<reason>`` per reason of ``airq_core.wire.REASONS``, all cumulative since the
# worker started (use non_negative_difference: a restart starts again from zero).
INGEST_STATS_MEASUREMENT = "ingest_stats"
REJECTED_PREFIX = "rejected_"

# Alerts (issue 18, docs/alerts.md). ``alert_subscriptions`` is owned by the API (created and
# written by api/alerts_store.py, the CLI through it) and read by the alerts service;
# ``alert_state`` (one row per subscription: the rule's state as JSON, with a version for
# compare-and-set between replicas) and ``alert_outbox`` (messages decided and not yet
# delivered) are owned by the alerts service.
ALERT_SUBSCRIPTIONS_TABLE = "alert_subscriptions"
ALERT_STATE_TABLE = "alert_state"
ALERT_OUTBOX_TABLE = "alert_outbox"
