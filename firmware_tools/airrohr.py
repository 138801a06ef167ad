"""Settings that make a board on the sensor.community firmware ("airrohr") send to our platform
through its "Send data to own API" (custom API) option. Pure, except :func:`apply_settings`.

What was verified in the firmware source (opendata-stuttgart/sensors-software,
``airrohr-firmware/airrohr-cfg.h.py``, ``airrohr-firmware.ino``, ``defines.h``):

* the configuration page is ``/config``; a POST sets every configuration key present in the
  form (``server.hasArg(key)``), keys absent are left unchanged; the board then writes its
  configuration and restarts;
* field names are the configuration keys: ``send2custom``, ``host_custom``, ``url_custom``,
  ``port_custom``, ``user_custom``, ``pwd_custom``, ``ssl_custom``, ``sds_read``,
  ``bmx280_read``, ``send2dusti``, ``send2madavi``, ``wlanssid``, ``wlanpwd``…;
* booleans are true only for the value ``"1"`` (the page sends a hidden ``0`` after each
  checkbox, and the first value wins); a password field left empty keeps the old password;
* lengths, in bytes of UTF-8 (``char`` buffers, ``defines.h``; ``strncpy`` cuts longer
  values, possibly inside a character): Wi-Fi name 34, host and path 99, user and passwords
  64;
* in the set-up access point mode (``wificonfig_loop``) the page asks for no password, and the
  board answers at ``http://192.168.4.1`` on its own Wi-Fi ``airRohr-<chip id>``, protected by
  the password ``airrohrcfg`` (``FS_PWD``, ``ext_def.h``). The access point opens only when the
  board has not joined its configured Wi-Fi after 40 tries of 500 ms (about 20 s after boot,
  ``connectWifi``), closes 10 minutes (``time_for_wifi_config``) after the last page load, and
  the board then stays on its station Wi-Fi: the access point reopens only after a restart;
* the custom API request is an HTTP POST with HTTP Basic auth (user/password above) of the JSON
  ``{"esp8266id": …, "software_version": …, "sensordatavalues": [{"value_type", "value"}…]}``
  (reference: shared/reference/sensors.md §1.4).

Not verified (no board here): that every firmware release accepts the POST without first
loading the page, and the behaviour of releases older than the snapshot above.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_tools.errors import WorkshopError
from firmware_tools.i18n import t
from firmware_tools.settings import WorkshopSettings

__all__ = [
    "AIRROHR_SENSORS",
    "SETUP_URL",
    "SETUP_WIFI_PASSWORD",
    "Applied",
    "airrohr_settings",
    "apply_settings",
    "firmware_request",
    "setup_steps",
    "wait_for_board",
]

log = logging.getLogger(__name__)

SETUP_URL = "http://192.168.4.1"
SETUP_WIFI_PASSWORD = "airrohrcfg"  # the firmware's FS_PWD: password of its set-up access point

# our sensor name -> (airrohr config key, its name as the board's page starts it (intl_fr.h:
# INTL_SDS011, INTL_PMS, INTL_SPS30, INTL_BMX280, INTL_DHT22, INTL_SHT3X, INTL_SCD30), value
# types it sends)
AIRROHR_SENSORS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sds011": ("sds_read", "SDS011", ("SDS_P1", "SDS_P2")),
    "pms5003": ("pms_read", "Plantower PMS(1,3,5,6,7)003", ("PMS_P0", "PMS_P1", "PMS_P2")),
    "pms7003": ("pms_read", "Plantower PMS(1,3,5,6,7)003", ("PMS_P0", "PMS_P1", "PMS_P2")),
    "sps30": ("sps30_read", "Sensirion SPS30", ("SPS30_P0", "SPS30_P2", "SPS30_P4", "SPS30_P1")),
    "bme280": (
        "bmx280_read",
        "BME280 / BMP280",
        ("BME280_temperature", "BME280_pressure", "BME280_humidity"),
    ),
    "bmp280": ("bmx280_read", "BME280 / BMP280", ("BMP280_pressure", "BMP280_temperature")),
    "dht22": ("dht_read", "DHT22", ("temperature", "humidity")),
    "sht3x": ("sht3x_read", "SHT3X", ("SHT3X_temperature", "SHT3X_humidity")),
    "scd30": ("scd30_read", "SCD30", ("SCD30_temperature", "SCD30_humidity", "SCD30_co2_ppm")),
}
# every sensor switch we set, so that a board's factory defaults (SDS011 + BME280) are replaced
_ALL_READ_KEYS = sorted({key for key, _, _ in AIRROHR_SENSORS.values()})
_MAX = {
    "host_custom": 99,
    "url_custom": 99,
    "user_custom": 64,
    "pwd_custom": 64,
    "wlanssid": 34,
    "wlanpwd": 64,
}


@dataclass(frozen=True, slots=True)
class Destination:
    host: str
    port: int
    path: str
    tls: bool


def airrohr_settings(
    station: str,
    token: str,
    settings: WorkshopSettings,
    sensors: Sequence[str],
    wifi_ssid: str | None = None,
    wifi_password: str | None = None,
    sensor_community: bool = False,
) -> dict[str, str]:
    """The ``/config`` form fields, in the order of the firmware's page.

    Raises WorkshopError for a sensor the firmware cannot read, or a value too long for it.
    """
    unsupported = [s for s in sensors if s not in AIRROHR_SENSORS]
    if unsupported:
        raise WorkshopError(
            "airrohr_unsupported_sensor",
            sensors=", ".join(unsupported),
            known=", ".join(sorted(AIRROHR_SENSORS)),
        )
    if not sensors:
        raise WorkshopError("airrohr_no_sensor", known=", ".join(sorted(AIRROHR_SENSORS)))
    fields: dict[str, str] = {}
    if wifi_ssid:
        fields["wlanssid"] = wifi_ssid
        fields["wlanpwd"] = wifi_password or ""
    fitted = {AIRROHR_SENSORS[s][0] for s in sensors}
    for key in _ALL_READ_KEYS:
        fields[key] = "1" if key in fitted else "0"
    fields["send2dusti"] = "1" if sensor_community else "0"
    fields["send2madavi"] = "0"
    fields["send2custom"] = "1"
    fields["ssl_custom"] = "1" if settings.ingest_tls else "0"
    fields["host_custom"] = settings.ingest_host
    fields["url_custom"] = settings.ingest_path
    fields["port_custom"] = str(settings.ingest_port)
    fields["user_custom"] = station
    fields["pwd_custom"] = token
    for key, limit in _MAX.items():
        size = len(fields[key].encode()) if key in fields else 0
        if size > limit:  # the firmware stores bytes (strncpy into char[limit + 1])
            raise WorkshopError("airrohr_too_long", field=key, limit=limit, size=size)
    return fields


def destination(fields: dict[str, str]) -> Destination:
    return Destination(
        fields["host_custom"],
        int(fields["port_custom"]),
        fields["url_custom"],
        fields["ssl_custom"] == "1",
    )


def firmware_request(
    fields: dict[str, str], values: dict[str, float], chip_id: str = "3122405"
) -> tuple[str, dict[str, str], bytes]:
    """The request the firmware will send with these settings: (URL, headers, body).

    ``values``: prefixed value types (``SDS_P1``…) -> numbers; only those of the sensors
    switched on are sent, formatted like the firmware (strings, 2 decimals), followed by the
    diagnostics the firmware always appends. Used to check the settings against a running API.
    """
    enabled = {key for key, v in fields.items() if key.endswith("_read") and v == "1"}
    types = [vt for key, _, vts in AIRROHR_SENSORS.values() if key in enabled for vt in vts]
    data = [
        {"value_type": vt, "value": f"{values[vt]:.2f}"}
        for vt in dict.fromkeys(types)
        if vt in values
    ]
    data += [
        {"value_type": k, "value": v}
        for k, v in (
            ("samples", "5070500"),
            ("min_micro", "28"),
            ("max_micro", "20091"),
            ("interval", "145000"),
            ("signal", "-81"),
        )
    ]
    body = json.dumps(
        {"esp8266id": chip_id, "software_version": "NRZ-2024-135", "sensordatavalues": data}
    ).encode()
    dest = destination(fields)
    scheme = "https" if dest.tls else "http"
    url = f"{scheme}://{dest.host}:{dest.port}{dest.path}"
    auth = base64.b64encode(f"{fields['user_custom']}:{fields['pwd_custom']}".encode()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Sensor": f"esp8266-{chip_id}",
        "X-MAC-ID": "esp8266-5ccf7f123456",
        "Authorization": f"Basic {auth}",
    }
    return url, headers, body


def setup_steps(fields: dict[str, str], station: str) -> list[str]:
    """What to type on the board's configuration page, step by step (reader's language)."""
    labels = sorted(
        {AIRROHR_SENSORS[s][1] for s in AIRROHR_SENSORS if fields.get(AIRROHR_SENSORS[s][0]) == "1"}
    )
    steps = [
        t("airrohr_step_connect", password=SETUP_WIFI_PASSWORD),
        t("airrohr_ap_help"),
        t("airrohr_step_open", url=f"{SETUP_URL}/config"),
    ]
    if "wlanssid" in fields:
        steps.append(t("airrohr_step_wifi", ssid=fields["wlanssid"]))
    steps += [
        t("airrohr_step_sensors", sensors=", ".join(labels)),
        t("airrohr_step_apis"),
        t(
            "airrohr_step_custom",
            host=fields["host_custom"],
            path=fields["url_custom"],
            port=fields["port_custom"],
            user=fields["user_custom"],
            password=fields["pwd_custom"],
            https_box=t("tick") if fields["ssl_custom"] == "1" else t("untick"),
        ),
        t("airrohr_step_save", station=station),
    ]
    return steps


@dataclass(frozen=True, slots=True)
class Applied:
    """What the board said to the settings: it accepted them (status 200); ``cut`` when it
    restarted before finishing its reply, as the firmware does; ``chip_id`` from its page
    header (``ID: <chip id> (<mac>)``) when that part arrived."""

    chip_id: str | None
    cut: bool

    @property
    def home_url(self) -> str | None:
        """Where the board answers on the home Wi-Fi: its mDNS name ``airRohr-<chip id>``."""
        return f"http://airRohr-{self.chip_id}.local/" if self.chip_id else None


_CHIP_ID = re.compile(rb"ID: ([0-9A-Za-z]{1,16}) \(")


def apply_settings(
    fields: dict[str, str],
    board_url: str = SETUP_URL,
    timeout: float = 15.0,
    auth: tuple[str, str] | None = None,
) -> Applied:
    """POST the form to the board's ``/config`` page (laptop joined to the board's Wi-Fi).

    The firmware answers 200, sends the start of its page, writes its configuration and
    restarts without finishing the reply: the 200 status line is the success, a reply cut
    after it is expected. Raises WorkshopError with what to do when the board cannot be
    reached (no status line) or refuses.
    """
    import httpx

    url = board_url.rstrip("/") + "/config"
    body = b""
    cut = False
    try:
        with (
            httpx.Client(timeout=timeout, auth=auth) as client,
            client.stream("POST", url, data=fields) as r,
        ):
            status = r.status_code
            if status == 200:
                try:
                    for chunk in r.iter_bytes():
                        body += chunk
                        if len(body) > 65536:
                            break
                except httpx.TransportError as exc:
                    cut = True  # the board restarts: expected
                    log.debug("board reply cut after 200: %s", type(exc).__name__)
    except httpx.TransportError as exc:
        raise WorkshopError(
            "airrohr_unreachable",
            url=url,
            why=type(exc).__name__,
            password=SETUP_WIFI_PASSWORD,
            ap_help=t("airrohr_ap_help"),
        ) from None
    if status == 401:
        raise WorkshopError("airrohr_auth", url=url)
    if status != 200:
        raise WorkshopError("airrohr_refused", url=url, status=status)
    found = _CHIP_ID.search(body)
    return Applied(chip_id=found.group(1).decode() if found else None, cut=cut)


def wait_for_board(url: str, timeout: float, interval: float = 2.0) -> bool:
    """Whether the board answers any HTTP request at ``url`` within ``timeout`` seconds
    (a 401 counts: the board is there, with its page protected)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=min(5.0, max(0.5, interval)))
            return True
        except httpx.TransportError as exc:
            log.debug("board not back at %s: %s", url, type(exc).__name__)
        if time.monotonic() + interval > deadline:
            return False
        time.sleep(interval)
