"""One year of hourly means for one station: read from the 1-hour aggregates against InfluxQL
``GROUP BY time(1h)`` over the raw readings, in the same run; and through the API
(``GET /v1/stations/{id}/series?every=1h``) when it is installed.

Data: one station, one reading a minute for 365 days (525,600 raw readings; ``--step 10``
for one every 10 s). Both InfluxQL reads ask for MessagePack.
Targets (issue 5): aggregates ≥ 20 × faster than raw, and under 100 ms median.

    python bench/long_window.py [--quick] [--days N] [--runs N]
"""

from __future__ import annotations

import sys
import threading
import time

import httpx
import numpy as np
from _common import influxd, median_ms, parser, verdict, workdir, write_lines

from airq.services import free_port
from ingest.influx import InfluxWriter
from ingest.rebuild import rebuild
from ingest.rollup import time_range

STATION = "year-01"
DB = "bench"


def serve_api(influx_url: str, registry_url: str):  # type: ignore[no-untyped-def]
    """The API on a local port, or None when it is not installed."""
    try:
        import uvicorn

        from api.app import create_app
        from api.settings import ApiSettings
    except ImportError:
        return None, None
    port = free_port()
    settings = ApiSettings(
        influx_url=influx_url,
        influx_db=DB,
        database_url=registry_url,
        rate_limit_per_minute=100_000,
        rate_limit_burst=10_000,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the API did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--days", type=int, help="days of data (default 365, quick 30)")
    p.add_argument("--runs", type=int, default=7, help="runs per method (median)")
    p.add_argument("--step", type=int, default=60, help="seconds between raw readings")
    args = p.parse_args()
    days = args.days or (30 if args.quick else 365)
    runs = 3 if args.quick else args.runs
    now_ms = int(time.time() * 1000)
    end_ms = now_ms - now_ms % 3_600_000
    start_ms = end_ms - days * 86_400_000
    n = days * 86400 // args.step
    with workdir(args.keep) as root, influxd(root) as influx:
        writer = InfluxWriter(influx.url, DB, timeout=300)
        writer.ensure_database()
        rng = np.random.default_rng(3)
        values = rng.gamma(2.0, 6.0, n).round(1).tolist()
        tag = f"readings,sensor=sds011,station={STATION} "
        t = time.perf_counter()
        write_lines(
            influx.url,
            DB,
            [
                f"{tag}pm2_5={v},pm10={v * 1.6:.1f} {start_ms + i * 60_000}"
                for i, v in enumerate(values)
            ],
        )
        rebuild(writer, start_ms, end_ms, [STATION], ["1h"])
        dt = time.perf_counter() - t
        print(f"{n} raw readings and their 1-hour aggregates written in {dt:.1f} s")

        where = f"\"station\" = '{STATION}' AND {time_range(start_ms, end_ms)}"
        q_agg = f'SELECT "pm2_5_mean" FROM "agg"."readings_1h" WHERE {where}'
        q_raw = f'SELECT mean("pm2_5") FROM "raw"."readings" WHERE {where} GROUP BY time(1h)'

        def rows(q: str) -> list[list[float]]:
            # MessagePack: InfluxDB 1.6 spends about half of such a read encoding JSON
            return writer.query(q, binary=True)[0]["series"][0]["values"]

        a, b = rows(q_agg), rows(q_raw)
        b = [r for r in b if r[1] is not None]
        if len(a) != len(b) or any(abs(x[1] - y[1]) > 1e-9 for x, y in zip(a, b, strict=True)):
            raise SystemExit("aggregates and raw GROUP BY disagree")
        agg_ms = median_ms(lambda: rows(q_agg), runs)
        raw_ms = median_ms(lambda: rows(q_raw), max(3, runs // 2))

        api_ms = None
        from api.registry import Registry

        reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
        reg.add(STATION, 50.4, 2.8)
        server, base = serve_api(influx.url, str(reg.engine.url))
        if server is not None:
            params = {
                "quantity": "pm2_5",
                "every": "1h",
                "agg": "mean",
                "start": str(start_ms / 1000),
                "end": str(end_ms / 1000),
            }
            url = f"{base}/v1/stations/{STATION}/series"
            with httpx.Client(timeout=60) as c:
                r = c.get(url, params=params)
                if r.status_code != 200:
                    raise SystemExit(f"API {r.status_code}: {r.text[:300]}")
                api_ms = median_ms(lambda: c.get(url, params=params).raise_for_status(), runs)
            server.should_exit = True
        reg.close()
        writer.close()
    print(f"{len(a)} hourly means of one station ({days} days, {n} raw readings)")
    print(f"{'path':44} {'median ms':>10}")
    print(f"{'InfluxQL GROUP BY time(1h) over raw':44} {raw_ms:10.1f}")
    print(f"{'1-hour aggregates (InfluxQL read)':44} {agg_ms:10.1f}")
    if api_ms is not None:
        print(f"{'API /series?every=1h (HTTP, JSON)':44} {api_ms:10.1f}")
    else:
        print("API /series?every=1h: not installed, not measured")
    print(verdict("aggregates vs raw", raw_ms / agg_ms, 20.0))
    best = api_ms if api_ms is not None else agg_ms
    print(f"under 100 ms median: {'OK' if best < 100 else 'NO'} ({best:.1f} ms)")
    if api_ms is not None:
        print(verdict("API vs raw GROUP BY", raw_ms / api_ms, 20.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
