"""AirQuartiers shared core: pure code shared by every app (stdlib only, no I/O).

Modules:
    quantities  the vocabulary: canonical quantity names, units and plausible ranges
    readings    the data types: Sample (decoded from a frame) and Reading (stamped, on the wire)
    wire        MQTT wire format v1: topics and payload codec
    storage     names shared by ingest, API and dashboards (InfluxDB measurements, tags)
    protocols   one module per sensor protocol family, and the sensor registry
    errors      the exception tree
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
