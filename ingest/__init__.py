"""Ingest: MQTT readings -> validation -> InfluxDB (v1 HTTP API, line protocol)."""
