"""Gateway configuration (TOML) for one station on our MQTT path. Pure.

The output follows ``gateway/config.py`` (validated there at start-up); the station id is the
MQTT user name and its token the password, so the file is written owner-only by the caller.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote, urlsplit, urlunsplit

from airq_core.sensors import SENSORS
from airq_core.wire import STATION_ID_RE
from firmware_tools.errors import WorkshopError

__all__ = ["DEFAULT_PORT", "gateway_toml", "mqtt_url_with_credentials"]

DEFAULT_PORT = "/dev/ttyUSB0"


def _s(text: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML for these characters)."""
    return json.dumps(text, ensure_ascii=True)


def mqtt_url_with_credentials(broker_url: str, station: str, token: str) -> str:
    parts = urlsplit(broker_url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise WorkshopError("bad_mqtt_url", url=broker_url[:80])
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{quote(station, safe='')}:{quote(token, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def gateway_toml(
    station: str,
    token: str,
    broker_url: str,
    sensors: Sequence[tuple[str, str | None]],
    interval: float = 145,
) -> str:
    """``sensors``: (model, serial port or None for /dev/ttyUSB0, /dev/ttyUSB1, …)."""
    if not STATION_ID_RE.fullmatch(station):
        raise WorkshopError("row_bad_id", id=station[:70])
    lines = [
        "# AirQuartiers gateway configuration (see docs/gateway.md)",
        f"# Station {station}: contains its secret token, keep this file private (chmod 600).",
        f"station = {_s(station)}",
        "",
        "[mqtt]",
        f"url = {_s(mqtt_url_with_credentials(broker_url, station, token))}",
    ]
    for n, (model, port) in enumerate(sensors):
        spec = SENSORS.get(model)
        if spec is None or spec.protocol is None:
            serial = ", ".join(sorted(k for k, m in SENSORS.items() if m.protocol is not None))
            raise WorkshopError("not_serial_sensor", sensor=model, known=serial)
        lines += [
            "",
            "[[sensors]]",
            f"type = {_s(model)}",
            f"port = {_s(port or f'/dev/ttyUSB{n}')}",
            f"interval = {interval:g}",
        ]
    return "\n".join(lines) + "\n"
