"""Ingest drain rate against a bare paho subscriber, and the cost of the live rollups.

Readings are queued in Mosquitto for three persistent sessions while nobody is connected, then
drained one consumer after the other, in the same run:

* a bare paho subscriber (QoS 1, automatic acks, ``json.loads`` per message, nothing stored);
* the ingest with rollups on (validated, stored in InfluxDB, then acknowledged);
* the ingest with rollups off.

Targets (issue 5): ingest ≥ 0.6 × bare; rollups on ≥ 0.85 × rollups off.

    python bench/ingest_drain.py [--quick] [--messages N]
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from _common import INGEST_PASSWORD, broker_with_stations, influxd, parser, verdict, workdir
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import INGEST_USER
from airq_core import wire
from airq_core.readings import Reading
from ingest.service import IngestService
from ingest.settings import IngestSettings


def client(cid: str, user: str, password: str, port: int, clean: bool) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=clean)
    c.username_pw_set(user, password)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not connected.wait(10):
        raise SystemExit(f"{cid}: cannot connect to the broker")
    return c


def make_session(cid: str, port: int) -> None:
    """A persistent session subscribed like the ingest, then disconnected: messages queue."""
    c = client(cid, INGEST_USER, INGEST_PASSWORD, port, clean=False)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.subscribe(wire.READINGS_FILTER, qos=1)
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def publish(stations: list[str], tokens: dict[str, str], port: int, n: int) -> None:
    start = time.time() - 3 * 86400
    per = n // len(stations)
    # a station may connect only with its id as client id (dynamic security)
    clients = {s: client(s, s, tokens[s], port, clean=True) for s in stations}
    infos = []
    for i in range(per):
        for k, s in enumerate(stations):
            v = ((i * 31 + k * 7) % 900) / 10
            r = Reading(
                s,
                "sps30",
                start + i * 10 + k * 0.01,
                {"pm1": v, "pm2_5": v + 1, "pm4": v + 1.5, "pm10": v + 2},
                i + 1,
            )
            infos.append(clients[s].publish(wire.readings_topic(s), wire.encode_reading(r), qos=1))
        if len(infos) >= 5000:
            for info in infos:
                info.wait_for_publish(30)
            infos = []
    for info in infos:
        info.wait_for_publish(30)
    for c in clients.values():
        c.disconnect()
        c.loop_stop()


def drain_bare(port: int, n: int) -> float:
    got = 0
    done = threading.Event()

    def on_message(c, u, msg):  # type: ignore[no-untyped-def]
        nonlocal got
        json.loads(msg.payload)
        got += 1
        if got >= n:
            done.set()

    t0 = time.perf_counter()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare", clean_session=False)
    c.username_pw_set(INGEST_USER, INGEST_PASSWORD)
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not done.wait(600):
        raise SystemExit(f"bare subscriber got {got} of {n}")
    dt = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return dt


def cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process (user + system)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_ingest(settings: IngestSettings, n: int, influx_pid: int) -> tuple[float, float]:
    """(drain seconds, seconds until the rollups were done too)."""
    ingest = IngestService(settings)
    cpu0, own0 = cpu_s(influx_pid), time.process_time()
    stop = threading.Event()
    th = threading.Thread(target=ingest.run, args=(stop,), daemon=True)
    t0 = time.perf_counter()
    th.start()
    while ingest.stored < n:
        if not th.is_alive():
            raise SystemExit("the ingest stopped")
        time.sleep(0.005)
    drained = time.perf_counter() - t0
    cpu1, own1 = cpu_s(influx_pid), time.process_time()
    busy = ingest.roller.busy_s if ingest.roller else 0.0
    print(
        f"  {settings.ingest_client_id}: during the drain influxd used {cpu1 - cpu0:.2f} s CPU, "
        f"this process {own1 - own0:.2f} s; rollup recomputes took {busy:.2f} s"
    )
    while (
        ingest.roller is not None
        and len(ingest.roller.dirty)
        and ingest.settings.ingest_rollup_settle_s < 60
        and time.perf_counter() - t0 < 600
    ):
        time.sleep(0.01)
    settled = time.perf_counter() - t0
    stop.set()
    th.join(30)
    rej = dict(ingest.handler.counters.rejected)
    if rej:
        raise SystemExit(f"rejections during the benchmark: {rej}")
    return drained, settled


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--messages", type=int, help="messages to queue (default 100000, quick 4000)")
    p.add_argument("--settle", type=float, default=2.0, help="AIRQ_INGEST_ROLLUP_SETTLE_S")
    args = p.parse_args()
    n = args.messages or (4000 if args.quick else 100_000)
    stations = [f"bench-{i:03d}" for i in range(20)]
    n -= n % len(stations)
    with (
        workdir(args.keep) as root,
        influxd(root) as influx,
        broker_with_stations(root, stations) as (broker, reg, tokens),
    ):
        for cid in ("bare", "ingest-on", "ingest-off"):
            make_session(cid, broker.port)
        t = time.perf_counter()
        publish(stations, tokens, broker.port, n)
        dt = time.perf_counter() - t
        print(f"queued {n} messages (1 reading × 4 quantities each) in {dt:.1f} s")

        def settings(cid: str, rollups: bool) -> IngestSettings:
            return IngestSettings(
                mqtt_url=broker.url(INGEST_USER, INGEST_PASSWORD),
                influx_url=influx.url,
                influx_db=f"bench_{cid.replace('-', '_')}",
                database_url=str(reg.engine.url),
                ingest_client_id=cid,
                ingest_rollups=rollups,
                ingest_state_dir=str(root / "state"),
                ingest_rollup_settle_s=args.settle,
                ingest_rollup_grace_s=1 if args.quick else 10,
                ingest_rollup_stage_s=0.5 if args.quick else 5,
            )

        bare = drain_bare(broker.port, n)
        pid = influx.proc.pid if influx.proc else 0
        on, on_settled = drain_ingest(settings("ingest-on", True), n, pid)
        off, _ = drain_ingest(settings("ingest-off", False), n, pid)
    print(f"{'consumer':34} {'seconds':>8} {'msg/s':>9}")
    print(f"{'bare paho subscriber (json.loads)':34} {bare:8.2f} {n / bare:9.0f}")
    print(
        f"{'ingest, rollups on':34} {on:8.2f} {n / on:9.0f}   (rollups done at {on_settled:.2f} s)"
    )
    print(f"{'ingest, rollups off':34} {off:8.2f} {n / off:9.0f}")
    print(verdict("ingest (rollups on) / bare", bare / on, 0.6))
    print(verdict("rollups on / rollups off", off / on, 0.85))
    return 0


if __name__ == "__main__":
    sys.exit(main())
