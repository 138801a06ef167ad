"""Registering a fleet: ``POST /v1/admin/stations/bulk`` against one ``POST /v1/admin/stations``
per station, measured in the same run on the same machine, through a real ``airq api`` process
(its own interpreter), with and without the broker's accounts (a real Mosquitto with its
dynamic-security plugin, as deployed).

    .venv/bin/python bench/bulk_register.py [--stations 13000] [--sample 300]
        [--broker-stations 1000] [--quick]

Registry only: ``--stations`` in one CSV request, against ``--sample`` single requests (the
rate of the one-by-one route does not change with the fleet's size: each request is one insert
and one hash). With the broker: two fresh brokers and registries, ``--broker-stations`` sent in
bulk to one and one by one to the other (same sizes: Mosquitto 2.0 rewrites its whole file
after each command, so a command's cost grows with the accounts it already holds, and only
equal sizes compare). Prints stations/s of each and the ratio; the rate limit is lifted so the
work is measured (at its default of 600 a minute the single route takes ~22 min for 13 000
stations, the bulk route one request).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import api_process, influxd, parser, workdir  # noqa: E402

from airq.services import Mosquitto  # noqa: E402

ADMIN = "bench-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def _env(root: Path, name: str, broker: Mosquitto | None, influx_url: str) -> dict[str, str]:
    env = {
        "AIRQ_INFLUX_URL": influx_url,  # the API is ready (/healthz) once InfluxDB answers
        "AIRQ_DATABASE_URL": f"sqlite:///{root / f'{name}.sqlite'}",
        "AIRQ_ADMIN_TOKEN": ADMIN,
        "AIRQ_RATE_LIMIT_PER_MINUTE": "10000000",
        "AIRQ_RATE_LIMIT_BURST": "10000000",
        "AIRQ_MAX_REQUEST_BYTES": str(8 << 20),
    }
    if broker is not None:
        env["AIRQ_BROKER_ADMIN_URL"] = broker.admin_url
    return env


def _csv(ids: list[str]) -> bytes:
    lines = ["id,lat,lon,name,indoor"]
    lines += [f"{s},{50 + i % 1000 / 1e4:.4f},{2.8 + i // 1000 / 1e3:.4f},Lieu {i},false"
              for i, s in enumerate(ids)]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def bulk(base: str, ids: list[str]) -> float:
    body = _csv(ids)
    with httpx.Client(base_url=base, headers=AUTH, timeout=3600) as c:
        t0 = time.perf_counter()
        r = c.post("/v1/admin/stations/bulk", content=body, headers={"Content-Type": "text/csv"})
        dt = time.perf_counter() - t0
    assert r.status_code == 201, r.text[:300]
    assert r.json()["created"] == len(ids)
    return dt


def one_by_one(base: str, ids: list[str]) -> float:
    with httpx.Client(base_url=base, headers=AUTH, timeout=600) as c:
        t0 = time.perf_counter()
        for i, sid in enumerate(ids):
            body = {"id": sid, "lat": 50 + i / 1e4, "lon": 2.8, "name": f"Lieu {i}"}
            r = c.post("/v1/admin/stations", json=body)
            assert r.status_code == 201, r.text[:300]
        return time.perf_counter() - t0


def list_pages(base: str) -> None:
    """``GET /v1/stations`` on the fleet just registered: its default page, and every page."""
    with httpx.Client(base_url=base, timeout=60) as c:
        for what, limit in (("default page (1000)", None), ("every page, limit 10000", 10_000)):
            times, size, pages = [], 0, 0
            for _ in range(5):
                url: str | None = "/v1/stations" + (f"?limit={limit}" if limit else "")
                t0 = time.perf_counter()
                size = pages = 0
                while url is not None:
                    r = c.get(url)
                    assert r.status_code == 200, r.text[:200]
                    size, pages = size + len(r.content), pages + 1
                    url = None if limit is None else r.links.get("next", {}).get("url")
                times.append(time.perf_counter() - t0)
            print(
                f"  GET /v1/stations, {what:<24} {pages} page(s) {size / 1e6:5.2f} MB  "
                f"median {statistics.median(times) * 1000:6.0f} ms"
            )


def _line(what: str, n: int, seconds: float) -> float:
    rate = n / seconds
    print(f"  {what:<34} {n:>6} stations  {seconds:8.2f} s  {rate:9.0f} stations/s")
    return rate


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--stations", type=int, default=13_000)
    p.add_argument("--sample", type=int, default=300)
    p.add_argument("--broker-stations", type=int, default=1000)
    args = p.parse_args()
    if args.quick:
        args.stations, args.sample, args.broker_stations = 500, 50, 50
    with workdir(args.keep) as root, influxd(root) as influx:
        print("registry only (SQLite), one API process:")
        with api_process(root, _env(root, "bulk", None, influx.url)) as (base, _):
            b = _line(
                "bulk (one CSV request)",
                args.stations,
                bulk(base, [f"sc-{i:05d}" for i in range(args.stations)]),
            )
            list_pages(base)
        with api_process(root, _env(root, "single", None, influx.url)) as (base, _):
            s = _line(
                "one by one",
                args.sample,
                one_by_one(base, [f"sc-{i:05d}" for i in range(args.sample)]),
            )
        print(f"  ratio bulk / one by one: {b / s:.1f}x; {args.stations} one by one would take "
              f"~{args.stations / s:.0f} s")  # fmt: skip

        n = args.broker_stations
        ids = [f"sc-{i:05d}" for i in range(n)]
        print(f"with the broker's accounts (fresh Mosquitto, {n} stations each way):")
        rates: dict[str, float] = {}
        for name, run in (("bulk (batches of 250 per publish)", bulk), ("one by one", one_by_one)):
            broker = Mosquitto(root / f"mosquitto-{len(rates)}").start()
            try:
                with api_process(root, _env(root, f"broker-{len(rates)}", broker, influx.url)) as (
                    base,
                    _,
                ):
                    time.sleep(1.0)  # the API's start-up sync with the broker
                    rates[name] = _line(name, n, run(base, ids))
                    size = broker.dynsec_file.stat().st_size / 1e6
            finally:
                broker.stop()
        first, second = rates.values()
        print(f"  ratio bulk / one by one: {first / second:.1f}x (broker file {size:.1f} MB)")


if __name__ == "__main__":
    main()
