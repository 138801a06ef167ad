"""Gateway configuration file (TOML), validated at start-up with messages naming the key.

See docs/gateway.md and gateway/sample-config.toml for every key and its default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airq_core.sensors import SENSORS
from airq_core.urls import parse_mqtt_url
from airq_core.wire import STATION_ID_RE


class GatewayConfigError(ValueError):
    """The configuration file is missing or wrong; the message names the key to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttConfig(_Strict):
    url: str
    ca_file: Path | None = None
    keepalive: int = Field(default=30, ge=5, le=600)
    client_id: str | None = None  # default: airq-gw-<station>

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parse_mqtt_url(v)
        return v


class QueueConfig(_Strict):
    max_disk_mb: float = Field(default=200, gt=0)
    batch_size: int = Field(default=100, ge=1, le=1000)
    max_rate: float = Field(default=200, gt=0, description="readings per second when flushing")
    max_inflight: int = Field(default=20, ge=1, le=1000)


class SensorConfig(_Strict):
    type: str
    port: str
    interval: float = Field(default=145, gt=0, description="seconds between readings")
    warmup: float | None = Field(default=None, ge=0, description="seconds after wake-up")
    mode: Literal["auto", "query", "active"] = "auto"
    baudrate: int | None = None
    silent_after: float | None = Field(
        default=None, gt=0, description="seconds without data before the port is reopened"
    )

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in SENSORS or SENSORS[v].protocol is None:
            serial = sorted(k for k, m in SENSORS.items() if m.protocol is not None)
            raise ValueError(f"unknown serial sensor {v!r}; choose one of {', '.join(serial)}")
        return v


class GatewayConfig(_Strict):
    station: str
    state_dir: Path | None = None
    mqtt: MqttConfig
    queue: QueueConfig = QueueConfig()
    sensors: list[SensorConfig] = Field(min_length=1)

    @field_validator("station")
    @classmethod
    def _station(cls, v: str) -> str:
        if not STATION_ID_RE.match(v):
            raise ValueError("station id must be 3-64 lower-case letters, digits or dashes")
        return v

    def resolved_state_dir(self) -> Path:
        return self.state_dir or Path.home() / ".local/state/airq-gateway" / self.station


def load_config(path: str | Path) -> GatewayConfig:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GatewayConfigError(f"configuration file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GatewayConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"])
            lines.append(f"  {loc}: {e['msg']}")
        raise GatewayConfigError(f"{p}: invalid configuration:\n" + "\n".join(lines)) from None
