"""Typed settings of the API, from ``AIRQ_*`` environment variables (see .env.example)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from airq_core.flags import MIN_WINDOW_COVERAGE

PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "change_me",
        "changethis",
        "secret",
        "admin",
        "password",
        "token",
        "xxx",
        "todo",
        "test",
        "example",
        "default",
    }
)
"""Values refused for secrets: they come from copied examples, not from a generator."""


def check_secret(name: str, value: str) -> str:
    """Refuse placeholder or short secrets, naming the setting and how to make a good one."""
    how = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if value.strip().lower() in PLACEHOLDER_SECRETS or "change" in value.lower():
        raise ValueError(f"{name} is a placeholder ({value[:12]!r}); {how}")
    if len(value) < 16:
        raise ValueError(f"{name} is too short (at least 16 characters); {how}")
    return value


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

    qpv_min_window_coverage: float = Field(
        default=MIN_WINDOW_COVERAGE,
        ge=0,
        le=1,
        description="hourly windows whose coverage is known and below this are left out of "
        "the QPV statistics, the ATMO index and the annual means (docs/qpv-dashboards.md)",
    )

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_max_points: int = Field(default=200_000, ge=1000)
    api_default_window_h: float = Field(default=24, gt=0)
    api_cache_mb: float = Field(
        default=32,
        ge=0,
        description="memory for series already built (whole answers, and the JSON of whole "
        "hourly days), keyed by the stored content they were built from, so never stale; "
        "0: none",
    )

    # --- researchers' API (series, exports, registry administration) ---
    admin_token: SecretStr | None = Field(
        default=None,
        description="bearer token of the registry endpoints (/v1/admin/...); unset: they "
        "answer 403. Placeholders such as 'change-me' are refused.",
    )
    public_location_decimals: int = Field(
        default=3, ge=0, le=6, description="decimals of lat/lon on public outputs (3 ≈ 100 m)"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description='origins allowed by CORS, JSON list: ["https://…"]'
    )
    rate_limit_per_minute: float = Field(default=600, gt=0, description="per client address")
    rate_limit_burst: int = Field(default=120, ge=1)
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='reverse proxies (addresses or networks, JSON list: ["127.0.0.1"]) whose '
        "X-Forwarded-For is believed; the client is the last address before them",
    )
    trust_forwarded_for: bool = Field(
        default=False, description="replaced by AIRQ_TRUSTED_PROXIES (refused when set alone)"
    )
    max_request_bytes: int = Field(default=1 << 20, ge=1024, description="request body limit")
    api_max_export_rows: int = Field(
        default=5_000_000, ge=1000, description="rows of one CSV or Parquet export"
    )
    api_max_raw_days: float = Field(
        default=31, gt=0, description="longest period of one raw (or median/p95) request"
    )
    api_max_raw_values: int = Field(
        default=2_000_000, ge=1000, description="raw values read for one median/p95 request"
    )
    api_max_stations: int = Field(default=200, ge=1, description="stations in one request")
    api_active_within_h: float = Field(
        default=24, gt=0, description="a station is active when seen within this many hours"
    )
    api_stations_cache_s: float = Field(default=30, ge=0, description="last-seen cache")

    map_tiles_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="tile template of the public map ({z}, {x}, {y}; {s} for subdomains), "
        "e.g. IGN's Plan IGN (docs/map.md)",
    )
    map_tiles_attribution: str = Field(
        default="© les contributeurs d'OpenStreetMap",
        description="plain text the tile source requires under the map",
    )
    map_tiles_attribution_url: str = "https://www.openstreetmap.org/copyright"
    map_tiles_max_zoom: int = Field(default=19, ge=1, le=22)
    # the pages' language when neither ?lang= nor the browser's Accept-Language names one
    # that has a catalogue (airq_core/locale, docs/translations.md)
    lang: str = "fr"

    @field_validator("lang")
    @classmethod
    def _check_lang(cls, v: str) -> str:
        from api.i18n import LANGUAGES

        if v.lower() not in LANGUAGES:
            offered = ", ".join(LANGUAGES)
            raise ValueError(f"AIRQ_LANG={v!r} has no catalogue; one of: {offered}")
        return v.lower()

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, v: list[str]) -> list[str]:
        for text in v:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(
                    f"AIRQ_TRUSTED_PROXIES: {text[:60]!r} is not an IP address or network"
                ) from None
        return v

    @model_validator(mode="after")
    def _forwarded_for_needs_proxies(self) -> ApiSettings:
        if self.trust_forwarded_for and not self.trusted_proxies:
            raise ValueError(
                "AIRQ_TRUST_FORWARDED_FOR trusted X-Forwarded-For from anyone (any client could "
                "pick its own address): list your reverse proxies in AIRQ_TRUSTED_PROXIES, e.g. "
                '["127.0.0.1"], and remove AIRQ_TRUST_FORWARDED_FOR'
            )
        return self

    @field_validator(
        "map_tiles_url", "map_tiles_attribution", "map_tiles_attribution_url", mode="before"
    )
    @classmethod
    def _empty_tiles_setting_is_the_default(cls, v: object, info: ValidationInfo) -> object:
        # docker-compose passes an unset variable as "" (its defaults cannot hold "{z}")
        if v == "":
            return cls.model_fields[info.field_name or ""].default
        return v

    @field_validator("map_tiles_url")
    @classmethod
    def _check_tiles_url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")) or not all(
            k in v for k in ("{z}", "{x}", "{y}")
        ):
            raise ValueError(
                "AIRQ_MAP_TILES_URL must be an http(s) tile template with {z}, {x} and {y}, "
                "e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png"
            )
        return v

    @field_validator("map_tiles_attribution_url")
    @classmethod
    def _check_attribution_url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("AIRQ_MAP_TILES_ATTRIBUTION_URL must start with https:// or http://")
        return v

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            check_secret("AIRQ_ADMIN_TOKEN", v.get_secret_value())
        return v

    @field_validator("influx_url")
    @classmethod
    def _check_influx_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("AIRQ_INFLUX_URL must start with http:// or https://")
        return v.rstrip("/")
