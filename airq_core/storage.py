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

Registry layout: the ``stations`` table, owned by the API, read by the ingest.
"""

from __future__ import annotations

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


def agg_field(quantity: str, stat: str) -> str:
    """Field name of one statistic of one quantity in an aggregate tier (``pm2_5_mean``)."""
    return f"{quantity}_{stat}"


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
