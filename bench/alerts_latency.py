"""Alerts: latency from a reading's publish to the notification, and the evaluator's cost per
reading against the ingest's own, with 1000 subscriptions on 1000 stations, in one run.

Real parts: Mosquitto (the deployment's config and ACLs), influxd for the ingest, the registry
in SQLite, a local HTTP receiver for the Apprise ``json://`` targets.

1. Cost: the same readings (one per message, one station each, PM2.5 mostly under the
   threshold, 5 % over) are queued for the alerts service's persistent session (its shared
   subscription) and for an ingest session while neither runs; then each drains them alone.
   CPU seconds of this process during each drain (the consumer's threads only run then)
   divided by the readings: the ratio alerts / ingest (the ingest's figure leaves out influxd's
   own CPU, printed beside).
2. Latency: with the service running, a station already above the threshold for 10 minutes
   (its earlier reading evaluated) gets one more reading; the time from that publish to the
   receiver's HTTP request, over ``--probes`` stations.

    python bench/alerts_latency.py [--quick] [--messages N] [--probes N]
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paho.mqtt.client as mqtt
from _common import INGEST_PASSWORD, influxd, parser, workdir
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import ALERTS_USER, API_USER, INGEST_USER, Mosquitto
from airq_core import wire
from airq_core.readings import Reading
from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from api.alerts_store import AlertStore
from api.registry import Registry, hash_token
from ingest.service import IngestService
from ingest.settings import IngestSettings

ALERTS_PASSWORD = "bench-alerts"
API_PASSWORD = "bench-api"


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                box.arrivals.setdefault(self.path.strip("/"), time.time())
                del body
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def publisher(port: int) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    c.username_pw_set(API_USER, API_PASSWORD)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def publish(c: mqtt.Client, readings: list[Reading]) -> float:
    infos = []
    for r in readings:
        infos.append(c.publish(wire.readings_topic(r.station), wire.encode_reading(r), qos=1))
        if len(infos) >= 2000:
            for i in infos:
                i.wait_for_publish(30)
            infos = []
    for i in infos:
        i.wait_for_publish(30)
    return time.time()


def ingest_session(port: int) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ingest", clean_session=False)
    c.username_pw_set(INGEST_USER, INGEST_PASSWORD)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.on_connect = lambda cl, *a: cl.subscribe(wire.READINGS_FILTER, qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def run_until(target: Any, stop: threading.Event, done: Any, timeout: float = 900) -> float:
    """Runs ``target(stop)`` in a thread until ``done()``; CPU seconds of this process."""
    cpu0 = time.process_time()
    th = threading.Thread(target=target, args=(stop,), daemon=True)
    th.start()
    t0 = time.perf_counter()
    while not done():
        if not th.is_alive() or time.perf_counter() - t0 > timeout:
            raise SystemExit("the consumer stopped or timed out")
        time.sleep(0.005)
    cpu = time.process_time() - cpu0
    stop.set()
    th.join(30)
    return cpu


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--messages", type=int, help="readings to drain (default 20000, quick 2000)")
    p.add_argument("--stations", type=int, help="stations, one subscription each (1000; quick 200)")
    p.add_argument("--probes", type=int, help="latency probes (default 30, quick 5)")
    args = p.parse_args()
    n = args.messages or (2000 if args.quick else 20_000)
    probes = args.probes or (5 if args.quick else 30)
    stations = [f"st-{i:04d}" for i in range(args.stations or (200 if args.quick else 1000))]
    receiver = Receiver()
    with workdir(args.keep) as root, influxd(root) as influx:
        reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
        t = time.perf_counter()
        for s in stations:
            reg.add(s, 50.4, 2.8)
        store = AlertStore(reg.engine)
        hook = f"json://127.0.0.1:{receiver.port}"
        for s in stations:
            store.add(kind="threshold", owner="station", station_id=s, stations=[s],
                      quantity="pm2_5", above=50, for_s=600, target=f"{hook}/{s}",
                      check_target=False)  # fmt: skip
        print(f"{len(stations)} stations and subscriptions in {time.perf_counter() - t:.1f} s")
        broker = Mosquitto(
            root / "mosquitto",
            users={INGEST_USER: hash_token(INGEST_PASSWORD), API_USER: hash_token(API_PASSWORD),
                   ALERTS_USER: hash_token(ALERTS_PASSWORD)},
        ).start()  # fmt: skip
        try:
            settings = AlertsSettings(
                mqtt_url=broker.url(ALERTS_USER, ALERTS_PASSWORD),
                database_url=str(reg.engine.url),
                alerts_client_id="bench-alerts",
            )
            # the alerts service's persistent session (shared subscription), then stopped
            first = AlertsService(settings)
            stop = threading.Event()
            th = threading.Thread(target=first.run, args=(stop,), daemon=True)
            th.start()
            while not first.subscribed.is_set():
                time.sleep(0.01)
            stop.set()
            th.join(30)
            ingest_session(broker.port)

            pub = publisher(broker.port)
            base = time.time() - 3 * 86400
            readings = []
            for i in range(n):
                s = stations[i % len(stations)]
                v = 60.0 if (i * 7919 + i // len(stations)) % 100 < 5 else 5.0 + (i * 31) % 40
                readings.append(Reading(s, "sds011", base + i * 0.1, {"pm2_5": v, "pm10": v * 1.5}))
            publish(pub, readings)
            print(f"queued {n} readings for both sessions")

            service = AlertsService(settings)
            stop = threading.Event()
            cpu_alerts = run_until(service.run, stop, lambda: service.counters.readings >= n)
            print(f"  alerts: {service.counters.transitions} state writes, "
                  f"{service.counters.conflicts} conflicts")  # fmt: skip

            ingest = IngestService(
                IngestSettings(
                    mqtt_url=broker.url(INGEST_USER, INGEST_PASSWORD),
                    influx_url=influx.url,
                    influx_db="bench_alerts",
                    database_url=str(reg.engine.url),
                    ingest_client_id="bench-ingest",
                    ingest_state_dir=str(root / "ingest-state"),
                    ingest_rollup_settle_s=0.5,
                )
            )
            influx_pid = influx.proc.pid if influx.proc else 0
            with open(f"/proc/{influx_pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            influx0 = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            cpu_ingest = run_until(ingest.run, threading.Event(), lambda: ingest.stored >= n)
            with open(f"/proc/{influx_pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            influx_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") - influx0

            # latency: each probe station's earlier reading (above, 11 min ago) is evaluated
            # first, then one more reading above is published and timed to the receiver
            service = AlertsService(settings)
            stop = threading.Event()
            th = threading.Thread(target=service.run, args=(stop,), daemon=True)
            th.start()
            while not service.subscribed.is_set():
                time.sleep(0.01)
            probe = stations[-probes:]
            now = time.time()
            count0 = service.counters.readings
            publish(pub, [Reading(s, "sds011", now - 660, {"pm2_5": 80.0}) for s in probe])
            while service.counters.readings < count0 + probes:
                time.sleep(0.01)
            latencies = []
            for s in probe:
                if s in receiver.arrivals:
                    raise SystemExit(f"{s} was notified before its probe: choose other readings")
                sent = publish(pub, [Reading(s, "sds011", time.time(), {"pm2_5": 85.0})])
                deadline = time.time() + 20
                while s not in receiver.arrivals and time.time() < deadline:
                    time.sleep(0.001)
                if s not in receiver.arrivals:
                    raise SystemExit(f"no notification for {s}")
                latencies.append(receiver.arrivals[s] - sent)
            stop.set()
            th.join(30)
            pub.disconnect()
            pub.loop_stop()
        finally:
            broker.stop()
            reg.close()
    per_alert = cpu_alerts / n * 1e6
    per_ingest = cpu_ingest / n * 1e6
    lat = sorted(latencies)
    print(f"{'consumer':40} {'CPU s':>7} {'µs/reading':>11}")
    label = f"alerts ({len(stations)} subscriptions)"
    print(f"{label:40} {cpu_alerts:7.2f} {per_alert:11.0f}")
    print(f"{'ingest (its process; influxd apart)':40} {cpu_ingest:7.2f} {per_ingest:11.0f}"
          f"   influxd: {influx_cpu:.2f} s")  # fmt: skip
    print(
        f"latency publish -> notification over {len(lat)} probes: median "
        f"{statistics.median(lat) * 1000:.0f} ms, p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} "
        f"ms, max {lat[-1] * 1000:.0f} ms"
    )
    print(f"alerts / ingest CPU per reading: {per_alert / per_ingest:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
