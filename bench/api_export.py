"""Export throughput and memory of the series endpoint (CSV, Parquet, JSON), measured side by
side in one run against a throwaway influxd and an ``airq api`` process.

    .venv/bin/python bench/api_export.py [--days 30] [--period-s 5]

One station, one SDS011 (pm2_5, pm10), a reading every ``period-s`` seconds for ``days`` days,
raw readings plus the 1-minute tier. Prints rows/s and the API process's peak resident memory
(VmHWM) after each export, to show that a long export is streamed, not held in memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import api_process  # noqa: E402

from airq.services import InfluxDB  # noqa: E402
from api.registry import Registry  # noqa: E402
from ingest.influx import InfluxWriter  # noqa: E402


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--period-s", type=float, default=5.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="airq-bench-export-"))
    influx = InfluxDB(tmp / "influx").start()
    try:
        w = InfluxWriter(influx.url, "bench")
        w.ensure_database(raw_retention="INF")
        t0 = 1767225600000  # 2026-01-01: fixed, the raw retention above is INF
        n = int(args.days * 86400 / args.period_s)
        t = t0 + np.arange(n, dtype=np.int64) * int(args.period_s * 1000)
        rng = np.random.default_rng(1)
        pm25, pm10 = rng.gamma(2, 4, n).round(2), rng.gamma(2, 7, n).round(2)
        for i in range(0, n, 10000):
            body = "\n".join(
                f"readings,sensor=sds011,station=bench-01 pm2_5={a!r},pm10={b!r} {ts}"
                for ts, a, b in zip(
                    t[i : i + 10000].tolist(),
                    pm25[i : i + 10000].tolist(),
                    pm10[i : i + 10000].tolist(),
                    strict=True,
                )
            )
            w.write_lines(body.encode())
        minute = (t // 60000) * 60000
        starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
        lines = []
        for q, v in (("pm2_5", pm25), ("pm10", pm10)):
            c = np.diff(np.r_[starts, n])
            s = np.add.reduceat(v, starts)
            lo, hi = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
            lines.append((q, (s / c).tolist(), lo.tolist(), hi.tolist(), c.tolist()))
        agg = []
        for j, m in enumerate(minute[starts].tolist()):
            f = ",".join(
                f"{q}_mean={mean[j]!r},{q}_min={lo[j]!r},{q}_max={hi[j]!r},{q}_count={float(c[j])!r}"
                for q, mean, lo, hi, c in lines
            )
            agg.append(f"readings_1m,sensor=sds011,station=bench-01 {f} {m}")
        for i in range(0, len(agg), 10000):
            w.write_lines("\n".join(agg[i : i + 10000]).encode(), rp="agg")
        w.close()
        reg = Registry(f"sqlite:///{tmp / 'reg.sqlite'}")
        reg.add("bench-01", 50.4, 2.8)
        reg.close()
        env = {
            "AIRQ_INFLUX_URL": influx.url,
            "AIRQ_INFLUX_DB": "bench",
            "AIRQ_DATABASE_URL": f"sqlite:///{tmp / 'reg.sqlite'}",
            "AIRQ_API_MAX_RAW_DAYS": str(args.days + 1),
            "AIRQ_API_MAX_EXPORT_ROWS": str(10 * n),
            "AIRQ_API_MAX_POINTS": str(10 * n),
            "AIRQ_RATE_LIMIT_PER_MINUTE": "100000",
        }
        with api_process(tmp, env) as (base, api):
            print(
                f"{n} raw readings x 2 quantities, {len(agg)} 1-minute windows; "
                f"API idle VmHWM {vm_hwm_kb(api.pid) / 1024:.0f} MiB"
            )
            end = t0 + args.days * 86_400_000
            for every, fmt in (
                ("raw", "csv"),
                ("raw", "parquet"),
                ("1m", "csv"),
                ("15m", "csv"),
                ("raw", "json"),
            ):
                params = {
                    "station": "bench-01",
                    "quantity": "pm2_5,pm10",
                    "every": every,
                    "format": fmt,
                    "start": str(t0 / 1000),
                    "end": str(end / 1000),
                }
                t1 = time.perf_counter()
                size = 0
                with httpx.stream("GET", f"{base}/v1/series", params=params, timeout=600) as r:
                    assert r.status_code == 200, r.read()[:300]
                    for chunk in r.iter_bytes():
                        size += len(chunk)
                dt = time.perf_counter() - t1
                rows = (
                    2 * n
                    if every == "raw"
                    else (2 * len(agg) if every == "1m" else 2 * len(agg) // 15)
                )
                print(
                    f"every={every:4} {fmt:8} {rows:>9} rows {size / 1e6:8.1f} MB "
                    f"{dt:6.2f} s {rows / dt:>10,.0f} rows/s  API VmHWM "
                    f"{vm_hwm_kb(api.pid) / 1024:.0f} MiB"
                )
    finally:
        influx.stop()


if __name__ == "__main__":
    main()
