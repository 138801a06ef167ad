"""Time GET /v1/qpv/exposure.geojson for the 199 shipped QPV, with N stations holding a year of
hourly aggregates in a real influxd (started here, in a temporary folder).

    .venv/bin/python bench/bench_qpv_exposure.py [--stations 60] [--days 365]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from airq.services import InfluxDB, free_port
from api.app import create_app
from api.registry import Registry
from api.settings import ApiSettings
from ingest.influx import InfluxWriter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=60)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        influx = InfluxDB(Path(tmp) / "influxd").start()
        try:
            reg = Registry(f"sqlite:///{tmp}/reg.sqlite")
            rnd = random.Random(1)
            ids = [f"st-{i:03d}" for i in range(args.stations)]
            for sid in ids:  # around Lille, Roubaix and Lens
                reg.add(sid, 50.3 + rnd.random() * 0.4, 2.8 + rnd.random() * 0.5)
            reg.close()
            end = int(time.time()) // 3600 * 3600
            start = end - args.days * 86400
            w = InfluxWriter(influx.url, "bench")
            w.ensure_database()
            t0 = time.perf_counter()
            lines = []
            for sid in ids:
                for t in range(start, end, 3600):
                    v = 8 + 10 * rnd.random()
                    lines.append(
                        f"readings_1h,sensor=sds011,station={sid} pm2_5_mean={v:.2f},"
                        f"pm2_5_count=25 {t}000"
                    )
                    if len(lines) == 10000:
                        w.write_lines("\n".join(lines).encode(), rp="agg")
                        lines = []
            if lines:
                w.write_lines("\n".join(lines).encode(), rp="agg")
            w.close()
            n = args.stations * args.days * 24
            print(f"wrote {n} hourly points in {time.perf_counter() - t0:.1f} s")
            settings = ApiSettings(
                influx_url=influx.url, influx_db="bench", database_url=f"sqlite:///{tmp}/reg.sqlite"
            )
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(settings), host="127.0.0.1", port=port, log_level="warning"
                )
            )
            th = threading.Thread(target=server.run, daemon=True)
            th.start()
            while not server.started:
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port}/v1/qpv/exposure.geojson"
            params = {"quantity": "pm2_5", "start": f"now-{args.days}d", "end": "now"}
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                r = httpx.get(url, params=params, timeout=300)
                times.append(time.perf_counter() - t0)
                r.raise_for_status()
            with_data = sum(1 for f in r.json()["features"] if f["properties"]["mean"] is not None)
            print(
                f"exposure.geojson, 199 QPV, {args.stations} stations, {args.days} days: "
                f"median {statistics.median(times):.2f} s over 3 runs; {with_data} QPV with data"
            )
            server.should_exit = True
            th.join(10)
        finally:
            influx.stop()


if __name__ == "__main__":
    main()
