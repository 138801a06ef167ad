"""A fleet's broker accounts written while the broker is stopped (``airq broker init``) against
the same accounts created by command on a live broker, measured in the same run on real
Mosquitto (the deployment's configuration, dynamic-security plugin).

    .venv/bin/python bench/broker_init.py [--stations 13000] [--sample 500] [--quick]

Offline: ``--stations`` registered in the registry (one ``add_many``, no broker), then ``airq
broker init`` in its own process (the file from the registry's hashes), the broker started on
it (until it listens), the last station's login, and ``airq broker sync`` against it (what the
API does at start-up; it must find nothing to change). Live: ``--sample`` new stations sent
by command (``BrokerAccounts.create_stations``, what the bulk route does) to that broker holding
the fleet, and to a fresh broker; Mosquitto 2.0 rewrites its whole file after each command, so
a command's cost grows with the accounts it holds and the whole fleet from empty is about
``stations`` x (the per-station cost at ``stations``) / 2 (printed as an estimate).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import parser, workdir  # noqa: E402

from airq.services import ADMIN_USER, ALERTS_USER, API_USER, INGEST_USER, Mosquitto, free_port  # noqa: E402
from api.registry import NewStation, Registry  # noqa: E402

ADMIN_PASSWORD = "bench-admin-0123456789"
PASSWORDS = {
    INGEST_USER: "bench-ingest-0123",
    API_USER: "bench-api-0123",
    ALERTS_USER: "bench-alerts-0123",
}


def _airq(env: dict[str, str], *args: str, cwd: Path) -> tuple[float, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRQ_")}
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "airq", "--lang", "en", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=cwd,
    )
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"airq {' '.join(args)} failed: {r.stderr[-500:]}")
    return dt, r.stdout


def _login_s(port: int, user: str, password: str) -> float:
    """Seconds from connect to a successful CONNACK (raises otherwise)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    t0 = time.perf_counter()
    client.connect("127.0.0.1", port, keepalive=30)
    while True:
        client.loop(0.05)
        if client.is_connected():
            dt = time.perf_counter() - t0
            client.disconnect()
            return dt
        if time.perf_counter() - t0 > 10:
            raise SystemExit(f"{user} could not log in")


def _live(broker: Mosquitto, ids: list[str]) -> float:
    t0 = time.perf_counter()
    broker.accounts.create_stations((sid, f"token-of-{sid}-0123456789") for sid in ids)
    return time.perf_counter() - t0


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--stations", type=int, default=13_000)
    p.add_argument("--sample", type=int, default=500)
    args = p.parse_args()
    if args.quick:
        args.stations, args.sample = 500, 50
    n = args.stations
    with workdir(args.keep) as root:
        reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
        fleet = [
            NewStation(f"sc-{i:05d}", 50 + i % 1000 / 1e4, 2.8 + i // 1000 / 1e3) for i in range(n)
        ]
        t0 = time.perf_counter()
        tokens = reg.add_many(fleet)
        print(
            f"registry: {n} stations in one add_many, {time.perf_counter() - t0:.2f} s (no broker)"
        )
        reg.close()

        broker = Mosquitto(root / "init", port=free_port(), admin_password=ADMIN_PASSWORD)
        broker.dynsec_file.parent.mkdir(parents=True)
        env = {
            "AIRQ_DATABASE_URL": f"sqlite:///{root / 'registry.sqlite'}",
            "AIRQ_BROKER_ADMIN_URL": broker.url(ADMIN_USER, ADMIN_PASSWORD),
            "AIRQ_MQTT_URL": broker.url(API_USER, PASSWORDS[API_USER]),
            "AIRQ_INGEST_MQTT_PASSWORD": PASSWORDS[INGEST_USER],
            "AIRQ_ALERTS_MQTT_PASSWORD": PASSWORDS[ALERTS_USER],
        }
        write_s, _ = _airq(env, "broker", "init", "--file", str(broker.dynsec_file), cwd=root)
        size = broker.dynsec_file.stat().st_size / 1e6
        t0 = time.perf_counter()
        broker.start(timeout=120)
        start_s = time.perf_counter() - t0
        login_s = _login_s(broker.port, fleet[-1].id, tokens[-1])
        print(f"offline, {n} stations:")
        print(f"  airq broker init (its own process)   {write_s:7.2f} s  (file {size:.1f} MB)")
        print(f"  broker start on it (until it listens) {start_s:7.2f} s")
        print(f"  last station's login                  {login_s * 1000:7.1f} ms")
        print(f"  together                              {write_s + start_s:7.2f} s")
        try:
            sync_s, out = _airq(env, "broker", "sync", "--json", cwd=root)
            print(f"  airq broker sync against it           {sync_s:7.2f} s  {json.loads(out)}")
            ids = [f"sc-{i:05d}" for i in range(n, n + args.sample)]
            at_n = _live(broker, ids)
        finally:
            broker.stop()
        fresh = Mosquitto(root / "fresh").start()
        try:
            from_empty = _live(fresh, [f"sc-{i:05d}" for i in range(args.sample)])
        finally:
            fresh.stop()
        per_at_n = at_n / args.sample
        print(f"live, {args.sample} new stations by command (create_stations, batches of 250):")
        print(f"  on a fresh broker                     {from_empty:7.2f} s  "
              f"({args.sample / from_empty:.0f} stations/s)")  # fmt: skip
        print(f"  on the broker holding {n:<6}          {at_n:7.2f} s  "
              f"({per_at_n * 1000:.0f} ms a station)")  # fmt: skip
        est = n * per_at_n / 2
        print(f"  {n} from empty, estimated ~{est:.0f} s (~{est / 60:.0f} min): "
              f"{est / (write_s + start_s):.0f}x the offline way")  # fmt: skip


if __name__ == "__main__":
    main()
