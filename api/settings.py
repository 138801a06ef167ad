"""Typed settings of the API, from ``AIRQ_*`` environment variables (see .env.example)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIRQ_", env_file=".env", extra="ignore")

    influx_url: str = "http://localhost:8086"
    influx_db: str = "airquartiers"
    influx_username: str | None = None
    influx_password: str | None = None
    database_url: str = "sqlite:///airquartiers.sqlite"
    mqtt_url: str | None = Field(
        default=None,
        description="broker the API forwards HTTP readings to (user airq-api); unset: "
        "HTTP ingest endpoints answer 503",
    )
    mqtt_ca_file: str | None = None

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_max_points: int = Field(default=200_000, ge=1000)
    api_default_window_h: float = Field(default=24, gt=0)

    @field_validator("influx_url")
    @classmethod
    def _check_influx_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("AIRQ_INFLUX_URL must start with http:// or https://")
        return v.rstrip("/")
