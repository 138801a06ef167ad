"""Typed settings of the alerts service, from ``AIRQ_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from airq_core.urls import parse_mqtt_url


class AlertsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIRQ_", env_file=".env", extra="ignore")

    mqtt_url: str = "mqtt://airq-alerts:change-me@localhost:1883"
    mqtt_ca_file: str | None = None
    database_url: str = "sqlite:///airquartiers.sqlite"
    public_url: str = Field(
        default="http://localhost:8000",
        description="the public address of the API and pages, for the links of the messages",
    )
    alerts_client_id: str = "airq-alerts-1"
    alerts_shared_group: str = Field(
        default="alerts",
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="replicas join $share/<group>/… and split the readings",
    )
    alerts_session_expiry_s: int = Field(
        default=86400,
        ge=0,
        description="how long the broker keeps the readings for a stopped service",
    )
    alerts_refresh_s: float = Field(default=5, gt=0, le=3600)
    alerts_tick_s: float = Field(default=1, gt=0, le=60)
    alerts_flush_s: float = Field(default=10, gt=0, le=3600)
    alerts_max_attempts: int = Field(default=5, ge=1, le=100)
    alerts_claim_s: float = Field(
        default=60, gt=0, description="a message claimed by a replica that died is retried after"
    )

    alerts_metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="serve Prometheus /metrics and the /livez, /readyz checks on this port",
    )
    alerts_metrics_host: str = "127.0.0.1"

    alerts_heartbeat_file: str | None = Field(
        default=None,
        description="touched every few seconds while the loop runs (a container healthcheck)",
    )

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt(cls, v: str) -> str:
        try:
            parse_mqtt_url(v)
        except ValueError as exc:
            raise ValueError(f"AIRQ_MQTT_URL: {exc}") from None
        return v
