"""Helpers of the ingest tests: settings with short timings, a station publisher, counts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import INGEST_USER, InfluxDB, Mosquitto
from airq_core import wire
from airq_core.readings import Reading
from ingest.settings import IngestSettings
from tests.helpers import INGEST_PASSWORD, wait_until


def fast_settings(
    broker: Mosquitto, influx_url: str, db: str, registry_url: str, state_dir: Path, **kw: Any
) -> IngestSettings:
    values: dict[str, Any] = {
        "mqtt_url": broker.url(INGEST_USER, INGEST_PASSWORD),
        "influx_url": influx_url,
        "influx_db": db,
        "database_url": registry_url,
        "ingest_client_id": "ingest-test",
        "ingest_flush_interval": 0.05,
        "ingest_rollup_grace_s": 0.5,
        "ingest_rollup_settle_s": 0.2,
        "ingest_rollup_stage_s": 0.3,
        "ingest_state_dir": str(state_dir),
        "ingest_reject_log_interval_s": 0,
    }
    values.update(kw)
    return IngestSettings(**values)


def settings_env(settings: IngestSettings) -> dict[str, str]:
    """The AIRQ_* environment that rebuilds ``settings`` in a subprocess."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"AIRQ_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return env


class StationPublisher:
    """A station's MQTT client publishing QoS 1 payloads (waits for each PUBACK batch)."""

    def __init__(self, broker: Mosquitto, user: str, password: str, topic: str | None = None):
        self.topic = topic or wire.readings_topic(user)
        # a station's account is bound to its id as client id (api/broker_accounts.py)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user)
        self.client.username_pw_set(user, password)
        self._connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: rc.is_failure or self._connected.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError(f"{user} could not connect to the broker")

    def publish(self, payloads: list[bytes], window: int = 500) -> None:
        infos: list[mqtt.MQTTMessageInfo] = []
        for p in payloads:
            infos.append(self.client.publish(self.topic, p, qos=1))
            if len(infos) >= window:
                for i in infos:
                    i.wait_for_publish(10)
                infos = []
        for i in infos:
            i.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.client.on_connect = None  # the lambda closes over self: break the cycle


def reading(
    station: str, ts: float, pm: float, sensor: str = "sds011", seq: int | None = None
) -> Reading:
    return Reading(station, sensor, ts, {"pm2_5": pm, "pm10": round(pm * 1.5, 1)}, seq)


def stored_values(influx: InfluxDB, db: str, field: str = "pm2_5") -> dict[tuple[str, int], float]:
    """(station, ms) -> value of every stored raw point."""
    res = influx.query(f'SELECT "{field}", "station" FROM "raw"."readings"', db=db)
    series = res["results"][0].get("series", [])  # type: ignore[index]
    return {(st, t): v for s in series for t, v, st in s["values"] if v is not None}


def count_stored(influx: InfluxDB, db: str) -> int:
    try:
        return len(stored_values(influx, db))
    except Exception:  # noqa: BLE001 - influxd restarting: not yet
        return -1


def wait_count(influx: InfluxDB, db: str, n: int, timeout: float = 30) -> None:
    wait_until(lambda: count_stored(influx, db) >= n, timeout=timeout, what=f"{n} stored readings")


def stream_payloads(
    stations: list[str], n_per_station: int, start: float, step: float, per_message: int
) -> dict[str, list[bytes]]:
    """station -> payloads (arrays of ``per_message`` readings with distinct times/values)."""
    out: dict[str, list[bytes]] = {}
    for k, st in enumerate(stations):
        rs = [
            reading(
                st, round(start + i * step, 3), round((i * 7 + k * 13) % 997 / 10, 1), seq=i + 1
            )
            for i in range(n_per_station)
        ]
        out[st] = [
            wire.encode_readings(rs[i : i + per_message]) for i in range(0, len(rs), per_message)
        ]
    return out


def expected_pm(payloads: dict[str, list[bytes]]) -> dict[tuple[str, int], float]:
    """(station, ms) -> pm2_5 of every published reading."""
    import orjson

    from airq_core.readings import parse_time

    out = {}
    for st, ps in payloads.items():
        for p in ps:
            objs = orjson.loads(p)
            for o in objs if isinstance(objs, list) else [objs]:
                out[(st, round(parse_time(o["ts"]) * 1000))] = o["values"]["pm2_5"]
    return out


class RatedPublisher:
    """Publishes every station's payloads from a thread, interleaved, at about ``rate``
    messages per second."""

    def __init__(
        self, pubs: dict[str, StationPublisher], payloads: dict[str, list[bytes]], rate: float
    ):
        self.sent = 0
        self.error: BaseException | None = None
        self._pubs, self._payloads, self._rate = pubs, payloads, rate
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import time

        try:
            t0 = time.monotonic()
            n = max(len(p) for p in self._payloads.values())
            for i in range(n):
                for st, ps in self._payloads.items():
                    if i < len(ps):
                        self._pubs[st].publish([ps[i]])
                        self.sent += 1
                ahead = t0 + self.sent / self._rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)  # pacing the publisher, not waiting for an event
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "publisher did not finish"
        if self.error:
            raise self.error
