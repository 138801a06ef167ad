"""Typed settings of the workshop tools, from ``AIRQ_WORKSHOP_*`` environment variables.

``platform_url``  public base URL of the platform; station pages are
                  ``platform_url + station_path`` (the QR codes on labels point there)
``api_url``       base URL of the API, for ``airq station follow``
``ingest_host``, ``ingest_port``, ``ingest_tls``, ``ingest_path``
                  where airrohr boards send their data ("custom API" of the firmware)
``ingest_check``  probe the ingest address from this laptop before configuring a board
                  (a loopback address is refused in any case)
``mqtt_url``      broker URL written into generated gateway configurations (no credentials)
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkshopSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIRQ_WORKSHOP_", env_file=".env", extra="ignore")

    platform_url: str = "http://127.0.0.1:8000"
    station_path: str = "/stations/{id}"
    api_url: str = "http://127.0.0.1:8000"
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8000, ge=1, le=65535)
    ingest_tls: bool = False
    ingest_path: str = "/v1/ingest/airrohr"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    ingest_check: bool = True

    @field_validator("platform_url", "api_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. https://airquartiers.fr")
        return v.rstrip("/")

    @field_validator("station_path")
    @classmethod
    def _station_path(cls, v: str) -> str:
        if "{id}" not in v or not v.startswith("/"):
            raise ValueError("must start with / and contain {id}, e.g. /stations/{id}")
        return v

    @field_validator("ingest_path")
    @classmethod
    def _ingest_path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must start with /, e.g. /v1/ingest/airrohr")
        return v

    @field_validator("ingest_host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not v or "/" in v or ":" in v or " " in v:
            raise ValueError("a host name or IP address only (no scheme, port or path)")
        return v

    def station_url(self, station_id: str) -> str:
        return self.platform_url + self.station_path.format(id=station_id)
