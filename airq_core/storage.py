"""Names shared by the ingest (writer), the API and the dashboards (readers).

InfluxDB layout: one measurement of raw readings, tags ``station`` and ``sensor``, one float
field per quantity (the vocabulary names, unchanged), millisecond timestamps.
Registry layout: the ``stations`` table, owned by the API, read by the ingest.
"""

from __future__ import annotations

RAW_MEASUREMENT = "readings"
TAG_STATION = "station"
TAG_SENSOR = "sensor"
FIELD_SEQ = "seq"
TIME_PRECISION = "ms"

STATIONS_TABLE = "stations"
