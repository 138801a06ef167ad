"""Typed settings of the ingest, from ``AIRQ_*`` environment variables (see .env.example)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from airq_core.urls import parse_mqtt_url


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIRQ_", env_file=".env", extra="ignore")

    mqtt_url: str = "mqtt://airq-ingest:change-me@localhost:1883"
    mqtt_ca_file: str | None = None
    influx_url: str = "http://localhost:8086"
    influx_db: str = "airquartiers"
    influx_username: str | None = None
    influx_password: str | None = None
    influx_raw_retention: str = Field(
        default="400d", pattern=r"^(INF|\d+[hdw])$", description="how long raw readings are kept"
    )
    influx_agg_retention: str = Field(
        default="INF", pattern=r"^(INF|\d+[hdw])$", description="how long aggregates are kept"
    )
    database_url: str = "sqlite:///airquartiers.sqlite"

    ingest_client_id: str = "airq-ingest"
    ingest_shared_group: str | None = Field(
        default=None, description="join $share/<group>/… so that N workers split the load"
    )
    ingest_batch_size: int = Field(default=5000, ge=1, le=50000)
    ingest_flush_interval: float = Field(default=0.5, gt=0, le=60)
    ingest_max_future_s: float = Field(default=300, ge=0)
    ingest_max_age_days: float = Field(default=400, gt=0)
    ingest_station_refresh_s: float = Field(default=30, gt=0)
    ingest_max_payload_bytes: int = Field(default=256 * 1024, ge=256, le=1024 * 1024)
    ingest_max_readings: int = Field(default=1000, ge=1, le=10000)
    ingest_inflight_window: int = Field(
        default=1000,
        ge=2,
        le=65535,
        description="the broker's max_inflight_messages: a batch is written at half of it",
    )
    ingest_metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="serve Prometheus /metrics and the /livez, /readyz checks on this port",
    )
    ingest_metrics_host: str = "127.0.0.1"
    ingest_reject_log_interval_s: float = Field(default=60, ge=0)
    ingest_state_dir: str | None = Field(
        default=".airq-ingest",
        description="where pending rollup windows survive a crash (empty: not kept)",
    )
    ingest_rollups: bool = True
    ingest_rollup_grace_s: float = Field(default=10, ge=0, le=3600)
    ingest_rollup_settle_s: float = Field(default=2, ge=0, le=600)
    ingest_rollup_stage_s: float = Field(default=5, ge=0, le=600)
    ingest_rollup_max_lag_s: float = Field(
        default=60, ge=0, le=3600, description="how far rollups may lag while a backlog drains"
    )
    ingest_humidity_threshold: float = Field(default=75, ge=0, le=100)
    ingest_humidity_max_age_s: float = Field(default=300, gt=0)
    ingest_stuck_hours: float = Field(default=3, gt=0)
    ingest_silent_minutes: float = Field(default=30, gt=0)
    ingest_health_interval_s: float = Field(default=60, gt=0)

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, v: str) -> str:
        parse_mqtt_url(v)
        return v

    @model_validator(mode="after")
    def _max_age_within_raw_retention(self) -> IngestSettings:
        # A reading older than the raw retention makes InfluxDB fail a whole batch (a partial
        # write) or keep the point, depending on what else shares its shard group: refuse
        # the combination at start-up rather than lose good readings of the same batch.
        rp = self.influx_raw_retention
        if rp != "INF":
            days = int(rp[:-1]) * {"h": 1 / 24, "d": 1, "w": 7}[rp[-1]]
            if self.ingest_max_age_days > days:
                raise ValueError(
                    f"AIRQ_INGEST_MAX_AGE_DAYS={self.ingest_max_age_days:g} is beyond "
                    f"AIRQ_INFLUX_RAW_RETENTION={rp}: set it to {days:g} days or less"
                )
        return self

    @field_validator("ingest_state_dir")
    @classmethod
    def _empty_is_none(cls, v: str | None) -> str | None:
        return v or None

    @field_validator("influx_url")
    @classmethod
    def _check_influx_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("AIRQ_INFLUX_URL must start with http:// or https://")
        return v.rstrip("/")
