"""Gateway configuration file (TOML), validated at start-up with messages naming the key.

Plain dataclasses and hand-written checks: a Raspberry Pi gateway installs only pyserial and
paho-mqtt (pydantic's compiled core has no wheel for 32-bit Raspberry Pi OS).
See gateway/sample-config.toml for every key, its meaning and its default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from airq_core.sensors import SENSORS
from airq_core.urls import parse_mqtt_url
from airq_core.wire import STATION_ID_RE


class GatewayConfigError(ValueError):
    """The configuration file is missing or wrong; the message names the key to fix."""


@dataclass(frozen=True)
class MqttConfig:
    url: str
    ca_file: Path | None = None
    keepalive: int = 30
    client_id: str | None = None  # default: the station id (the broker binds it)


@dataclass(frozen=True)
class QueueConfig:
    max_disk_mb: float = 200.0  # store-and-forward cap; past it the oldest readings go first
    batch_size: int = 100  # readings per MQTT message when flushing a backlog
    max_rate: float = 200.0  # readings per second when flushing
    max_inflight: int = 20  # unacknowledged MQTT messages


@dataclass(frozen=True)
class SensorConfig:
    type: str
    port: str
    interval: float = 145.0  # seconds between readings
    warmup: float | None = None  # seconds after wake-up; None: the sensor's default
    mode: str = "auto"  # auto | query | active
    baudrate: int | None = None  # None: the protocol's speed
    abc: bool | None = None  # CO2 sensors' automatic baseline correction; None: leave it


ABC_SENSORS = ("mhz19b", "scd30", "senseair_s8")


@dataclass(frozen=True)
class BoardConfig:
    """A sensor.community (airrohr) board on the LAN, polled on its local /data.json."""

    url: str  # e.g. http://192.168.1.50/data.json
    interval: float = 145.0  # seconds between polls (the firmware measures every 145 s)
    timeout: float = 10.0


I2C_TYPES = ("bme280", "bmp280", "b43f")
I2C_DEFAULT_ADDRESS = {"bme280": 0x76, "bmp280": 0x76, "b43f": 0x48}  # b43f: its ADS1115


@dataclass(frozen=True)
class I2CConfig:
    """A sensor on the Raspberry Pi's I2C bus."""

    type: str  # bme280 | bmp280 | b43f (NO2-B43F on its ISB through an ADS1115)
    bus: int = 1  # /dev/i2c-1 on a Raspberry Pi
    address: int | None = None  # default: 0x76 (BME280), 0x48 (ADS1115)
    interval: float = 60.0
    # b43f only: ADS1115 inputs and gain, AAN 803-05 algorithm, the calibration sheet (mV,
    # mV/ppb), and a fixed cell temperature when the station has no temperature sensor
    we_channel: int = 0
    ae_channel: int = 1
    gain: float = 2
    algorithm: int = 1
    we_e: float | None = None
    ae_e: float | None = None
    we_0: float | None = None
    ae_0: float | None = None
    sensitivity: float | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class GatewayConfig:
    station: str
    mqtt: MqttConfig
    sensors: list[SensorConfig]
    queue: QueueConfig = field(default_factory=QueueConfig)
    state_dir: Path | None = None
    boards: list[BoardConfig] = field(default_factory=list)
    i2c: list[I2CConfig] = field(default_factory=list)

    def resolved_state_dir(self) -> Path:
        return self.state_dir or Path.home() / ".local/state/airq-gateway" / self.station

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GatewayConfig:
        errors: list[str] = []
        cfg = _build(data, errors)
        if errors or cfg is None:
            raise GatewayConfigError(
                "invalid configuration:\n" + "\n".join(f"  {e}" for e in errors)
            )
        return cfg


def _check_keys(section: dict[str, Any], allowed: type, where: str, errors: list[str]) -> None:
    names = {f.name for f in fields(allowed)}
    for key in section:
        if key not in names:
            errors.append(f"{where}{key}: unknown key (allowed: {', '.join(sorted(names))})")


def _sections(
    raw: Any, name: str, cls: type, errors: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``[[name]]`` tables of the file, each with its key prefix (``name.i.``); anything
    that is not a table, and unknown keys, are reported in ``errors``."""
    if not isinstance(raw, list):
        errors.append(f"{name}: must be [[{name}]] sections")
        return
    for i, section in enumerate(raw):
        if not isinstance(section, dict):
            errors.append(f"{name}.{i}: must be a [[{name}]] section")
            continue
        where = f"{name}.{i}."
        _check_keys(section, cls, where, errors)
        yield where, section


def _number(
    section: dict[str, Any],
    key: str,
    where: str,
    errors: list[str],
    *,
    default: Any,
    lo: float,
    hi: float = float("inf"),
    integer: bool = False,
) -> Any:
    v = section.get(key, default)
    if v is None:
        return None
    wrong_type = not isinstance(v, int | float) or (integer and not isinstance(v, int))
    if isinstance(v, bool) or wrong_type:
        errors.append(
            f"{where}{key}: expected {'an integer' if integer else 'a number'}, got {v!r}"
        )
        return default
    if not lo <= v <= hi:
        errors.append(f"{where}{key}: {v} is outside [{lo}, {hi}]")
        return default
    return v


def _build(data: dict[str, Any], errors: list[str]) -> GatewayConfig | None:
    _check_keys(data, GatewayConfig, "", errors)
    station = data.get("station")
    if not isinstance(station, str) or not STATION_ID_RE.fullmatch(station):
        errors.append(
            "station: required, 3-64 lower-case letters, digits or dashes "
            f"(e.g. lens-01), got {station!r}"
        )
    m = data.get("mqtt")
    mqtt = None
    if not isinstance(m, dict):
        errors.append('mqtt: required section [mqtt] with url = "mqtt://station:TOKEN@host:1883"')
    else:
        _check_keys(m, MqttConfig, "mqtt.", errors)
        url = m.get("url")
        try:
            if not isinstance(url, str):
                raise ValueError("required")
            parse_mqtt_url(url)
        except ValueError as exc:
            errors.append(f"mqtt.url: {exc}")
        ca = m.get("ca_file")
        if ca is not None and not Path(ca).is_file():
            errors.append(f"mqtt.ca_file: file not found: {ca}")
        mqtt = MqttConfig(
            url=url if isinstance(url, str) else "",
            ca_file=Path(ca) if ca else None,
            keepalive=_number(
                m, "keepalive", "mqtt.", errors, default=30, lo=5, hi=600, integer=True
            ),
            client_id=m.get("client_id"),
        )
    q = data.get("queue", {})
    if not isinstance(q, dict):
        errors.append("queue: must be a section [queue]")
        q = {}
    _check_keys(q, QueueConfig, "queue.", errors)
    queue = QueueConfig(
        max_disk_mb=_number(q, "max_disk_mb", "queue.", errors, default=200.0, lo=0.001),
        batch_size=_number(
            q, "batch_size", "queue.", errors, default=100, lo=1, hi=1000, integer=True
        ),
        max_rate=_number(q, "max_rate", "queue.", errors, default=200.0, lo=0.1),
        max_inflight=_number(
            q, "max_inflight", "queue.", errors, default=20, lo=1, hi=1000, integer=True
        ),
    )
    raw_sensors = data.get("sensors")
    sensors: list[SensorConfig] = []
    serial = sorted(k for k, mdl in SENSORS.items() if mdl.protocol is not None)
    boards: list[BoardConfig] = []
    for where, b in _sections(data.get("boards", []), "boards", BoardConfig, errors):
        url = b.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors.append(f'{where}url: required, e.g. "http://192.168.1.50/data.json"')
        boards.append(
            BoardConfig(
                url=str(url),
                interval=_number(b, "interval", where, errors, default=145.0, lo=0.05),
                timeout=_number(b, "timeout", where, errors, default=10.0, lo=0.1, hi=120),
            )
        )
    i2c = _i2c_sections(data.get("i2c", []), errors)
    if raw_sensors is None and (boards or i2c):
        raw_sensors = []
    elif not isinstance(raw_sensors, list) or not raw_sensors:
        errors.append(
            "sensors: at least one [[sensors]] section with type and port "
            "(or a [[boards]] or [[i2c]] section)"
        )
        raw_sensors = []
    for where, s in _sections(raw_sensors, "sensors", SensorConfig, errors):
        typ = s.get("type")
        if typ not in serial:
            errors.append(
                f"{where}type: unknown serial sensor {typ!r}; choose one of {', '.join(serial)}"
            )
        port = s.get("port")
        if not isinstance(port, str) or not port:
            errors.append(f'{where}port: required, e.g. "/dev/ttyUSB0"')
        mode = s.get("mode", "auto")
        if mode not in ("auto", "query", "active"):
            errors.append(f"{where}mode: auto, query or active, got {mode!r}")
        abc = s.get("abc")
        if abc is not None and (not isinstance(abc, bool) or typ not in ABC_SENSORS):
            errors.append(
                f"{where}abc: true or false, for {', '.join(ABC_SENSORS)} only, got {abc!r}"
            )
        sensors.append(
            SensorConfig(
                type=str(typ),
                port=str(port),
                mode=str(mode),
                interval=_number(s, "interval", where, errors, default=145.0, lo=0.01),
                warmup=_number(s, "warmup", where, errors, default=None, lo=0, hi=3600),
                baudrate=_number(
                    s, "baudrate", where, errors, default=None, lo=300, hi=1_000_000, integer=True
                ),
                abc=abc if isinstance(abc, bool) else None,
            )
        )
    sd = data.get("state_dir")
    if errors or mqtt is None:
        return None
    return GatewayConfig(
        station=str(station),
        mqtt=mqtt,
        sensors=sensors,
        queue=queue,
        state_dir=Path(sd) if sd else None,
        boards=boards,
        i2c=i2c,
    )


def _i2c_sections(raw: Any, errors: list[str]) -> list[I2CConfig]:
    out = []
    for where, s in _sections(raw, "i2c", I2CConfig, errors):
        typ = s.get("type")
        if typ not in I2C_TYPES:
            errors.append(f"{where}type: one of {', '.join(I2C_TYPES)}, got {typ!r}")
            continue
        sheet = {}
        for key in ("we_e", "ae_e", "we_0", "ae_0", "sensitivity"):
            sheet[key] = _number(s, key, where, errors, default=None, lo=-5000, hi=5000)
            if typ == "b43f" and sheet[key] is None:
                errors.append(f"{where}{key}: required for a b43f (from its calibration sheet)")
        if typ == "b43f" and sheet["sensitivity"] == 0:
            errors.append(f"{where}sensitivity: must not be zero (mV/ppb)")
        gain = s.get("gain", 2)
        if gain not in (2 / 3, 1, 2, 4, 8, 16):
            errors.append(f"{where}gain: one of 2/3, 1, 2, 4, 8, 16 (ADS1115 PGA), got {gain!r}")
            gain = 2
        out.append(
            I2CConfig(
                type=typ,
                bus=_number(s, "bus", where, errors, default=1, lo=0, hi=64, integer=True),
                address=_number(
                    s, "address", where, errors, default=None, lo=0x03, hi=0x77, integer=True
                ),
                interval=_number(s, "interval", where, errors, default=60.0, lo=0.05),
                we_channel=_number(
                    s, "we_channel", where, errors, default=0, lo=0, hi=3, integer=True
                ),
                ae_channel=_number(
                    s, "ae_channel", where, errors, default=1, lo=0, hi=3, integer=True
                ),
                gain=gain,
                algorithm=_number(
                    s, "algorithm", where, errors, default=1, lo=1, hi=4, integer=True
                ),
                temperature=_number(s, "temperature", where, errors, default=None, lo=-40, hi=85),
                **sheet,
            )
        )
    return out


def load_config(path: str | Path) -> GatewayConfig:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GatewayConfigError(f"configuration file not found: {p}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GatewayConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return GatewayConfig.from_dict(data)
    except GatewayConfigError as exc:
        raise GatewayConfigError(f"{p}: {exc}") from None
