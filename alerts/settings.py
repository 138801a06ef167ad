"""Typed settings of the alerts service, from ``AIRQ_*`` environment variables."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from airq_core.urls import parse_mqtt_url

_HOST_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")


class AlertTargetSettings(BaseSettings):
    """Where residents' alerts may go (alerts/targets.py): read by the alerts service, which
    sends through the relay, and by the API and ``airq alerts subscribe``, which check the
    targets when subscribing."""

    # the relay's and the broker's URLs hold passwords: errors name the setting, not its value
    model_config = SettingsConfigDict(
        env_prefix="AIRQ_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    alerts_smtp_url: SecretStr | None = Field(
        default=None,
        description="the platform's mail relay, an Apprise mailto:// or mailtos:// URL with the "
        "operator's SMTP host and credentials and no recipient "
        "(mailtos://user:password@smtp.example.org?from=alertes@example.org); plain e-mail "
        "addresses are sent through it. Unset or empty: no plain addresses",
    )
    alerts_ntfy_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("ntfy.sh",),
        description="ntfy servers a station's token may send to (ntfy://host/topic), "
        "comma-separated; ntfy://topic goes to ntfy.sh whatever this says. Empty: ntfy.sh",
    )

    @field_validator("alerts_smtp_url", mode="before")
    @classmethod
    def _relay(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None  # docker-compose passes an unset variable as ""
        from alerts.targets import check_relay_url

        raw = v.get_secret_value() if isinstance(v, SecretStr) else str(v)
        return SecretStr(check_relay_url(raw.strip()))

    @field_validator("alerts_ntfy_hosts", mode="before")
    @classmethod
    def _hosts(cls, v: Any) -> tuple[str, ...]:
        items = re.split(r"[,\s]+", v) if isinstance(v, str) else list(v)
        hosts = tuple(dict.fromkeys(str(h).strip().lower().rstrip(".") for h in items))
        hosts = tuple(h for h in hosts if h) or ("ntfy.sh",)
        bad = [h for h in hosts if not _HOST_RE.fullmatch(h)]
        if bad:
            raise ValueError(
                f"AIRQ_ALERTS_NTFY_HOSTS: host names, comma-separated (ntfy.sh,ntfy.example.org),"
                f" not {bad[0][:60]!r}"
            )
        return hosts

    @property
    def relay(self) -> str | None:
        """The relay's Apprise URL (with its credentials), or None."""
        return self.alerts_smtp_url.get_secret_value() if self.alerts_smtp_url else None


class AlertsSettings(AlertTargetSettings):
    # the relay's and the broker's URLs hold passwords: errors name the setting, not its value
    model_config = SettingsConfigDict(
        env_prefix="AIRQ_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

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
