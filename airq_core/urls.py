"""Parsing of service URLs given in settings (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["MqttTarget", "alert_unsubscribe_url", "parse_mqtt_url", "station_page_url"]


@dataclass(frozen=True, slots=True)
class MqttTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    def redacted(self) -> str:
        """The URL without its password, for logs and messages."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt://user:pass@host:port`` (or ``mqtts://`` for TLS) -> MqttTarget.

    Raises ValueError naming what is wrong, for settings validation at start-up.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {url[:60]!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT URL has no host: {url[:60]!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"MQTT URL has an invalid port: {url[:60]!r}") from None
    return MqttTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def station_page_url(public_url: str, station_id: str, lang: str = "fr") -> str:
    """The public page of a station (``/stations/{id}``, English with ``?lang=en``)."""
    url = f"{public_url.rstrip('/')}/stations/{station_id}"
    return url + "?lang=en" if lang == "en" else url


def alert_unsubscribe_url(public_url: str, subscription_id: int, key: str) -> str:
    """The page that ends one alert subscription (a confirmation button, no change on GET)."""
    return f"{public_url.rstrip('/')}/v1/alerts/unsubscribe/{subscription_id}?key={key}"
