"""One year of hourly means for one station: read from the 1-hour aggregates against InfluxQL
``GROUP BY time(1h)`` over the raw readings, in the same run; and through the API
(``GET /v1/stations/{id}/series?every=1h``, ``airq api`` in its own process) when it is
installed, as JSON and as Parquet (what ``airq_client`` asks for); its answers are checked
against the raw ``GROUP BY`` first. The API runs twice: as deployed, with its cache (every
request still reads the year from InfluxDB; the answer, or a file, already built from that
same stored content is served again) and with the cache off (every request decodes and
encodes the year, as the first request for a station does).

Data: one station, one reading a minute for 365 days (525,600 raw readings; ``--step 10``
for one every 10 s; the gateways' default is one every 145 s). InfluxQL reads ask for
MessagePack. Targets (issue 5): ≥ 20 × faster than raw, and under 100 ms median.

    python bench/long_window.py [--quick] [--days N] [--runs N]
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import statistics
import sys
import time
from collections.abc import Callable

import httpx
import numpy as np
from _common import (
    api_process,
    influxd,
    parser,
    timed,
    verdict,
    wait_idle,
    workdir,
    write_lines,
)

from ingest.influx import InfluxWriter
from ingest.rebuild import rebuild
from ingest.rollup import time_range

STATION = "year-01"
DB = "bench"


def _get_ok(client: httpx.Client, url: str, params: dict[str, str]) -> None:
    client.get(url, params=params).raise_for_status()


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--days", type=int, help="days of data (default 365, quick 30)")
    p.add_argument(
        "--runs", type=int, default=30, help="rounds (each path once per round; medians)"
    )
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
                f"{tag}pm2_5={v},pm10={v * 1.6:.1f} {start_ms + i * args.step * 1000}"
                for i, v in enumerate(values)
            ],
        )
        rebuild(writer, start_ms, end_ms, [STATION], ["1h"])
        dt = time.perf_counter() - t
        print(f"{n} raw readings and their 1-hour aggregates written in {dt:.1f} s")
        assert influx.proc is not None
        waited = wait_idle(influx.proc.pid)
        print(f"influxd idle (compactions done) after {waited:.1f} s")

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
        q_packed = (
            f'SELECT "pm2_5_mean" FROM "agg"."readings_1h_by_day" WHERE {where} '
            'GROUP BY "station", "sensor"'
        )
        paths: dict[str, Callable[[], object]] = {
            "InfluxQL GROUP BY time(1h) over raw": functools.partial(rows, q_raw),
            "1-hour aggregates, readings_1h (InfluxQL read)": functools.partial(rows, q_agg),
            "1-hour aggregates packed by day (InfluxQL read)": functools.partial(rows, q_packed),
        }
        from api.registry import Registry

        reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
        reg.add(STATION, 50.4, 2.8)
        params = {
            "quantity": "pm2_5",
            "every": "1h",
            "agg": "mean",
            "start": str(start_ms / 1000),
            "end": str(end_ms / 1000),
        }
        api_installed = all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn"))
        with contextlib.ExitStack() as stack:
            # the API as deployed (its cache on), and without its cache: every request then
            # decodes and encodes the whole year, as the first request for a station does
            for name, cache_mb in (("cache", "32"), ("no cache", "0")):
                if not api_installed:
                    break
                env = {
                    "AIRQ_INFLUX_URL": influx.url,
                    "AIRQ_INFLUX_DB": DB,
                    "AIRQ_DATABASE_URL": str(reg.engine.url),
                    "AIRQ_RATE_LIMIT_PER_MINUTE": "100000",
                    "AIRQ_RATE_LIMIT_BURST": "10000",
                    "AIRQ_API_CACHE_MB": cache_mb,
                }
                base, _ = stack.enter_context(api_process(root, env))
                c = stack.enter_context(httpx.Client(timeout=60))
                url = f"{base}/v1/stations/{STATION}/series"
                r = c.get(url, params=params)
                if r.status_code != 200:
                    raise SystemExit(f"API {r.status_code}: {r.text[:300]}")
                points = r.json()["points"]
                if len(points) != len(b) or any(
                    abs(p["mean"] - y[1]) > 1e-9 for p, y in zip(points, b, strict=True)
                ):
                    raise SystemExit("the API and raw GROUP BY disagree")
                import pyarrow.parquet as pq  # with the API's dependencies

                r = c.get(url, params={**params, "format": "parquet"})
                table = pq.read_table(io.BytesIO(r.content))
                if table.column("mean").to_pylist() != [p["mean"] for p in points]:
                    raise SystemExit("the API's Parquet and JSON answers disagree")
                label = f"API /series?every=1h (HTTP, JSON), {name}"
                paths[label] = functools.partial(_get_ok, c, url, params)
                # the researchers' client (airq_client) asks for Parquet
                label = f"API /series?every=1h&format=parquet (HTTP), {name}"
                pq_params = {**params, "format": "parquet"}
                paths[label] = functools.partial(_get_ok, c, url, pq_params)
            # rounds: every path once per round, so that the machine's ups and downs fall on
            # all of them alike; medians over the rounds
            times: dict[str, list[float]] = {k: [] for k in paths}
            for _ in range(runs):
                for k, fn in paths.items():
                    times[k].append(timed(fn) * 1000)
        median = {k: statistics.median(v) for k, v in times.items()}
        reg.close()
        writer.close()
    print(f"{len(a)} hourly means of one station ({days} days, {n} raw readings), {runs} rounds")
    print(f"{'path':58} {'median ms':>10}")
    for k, ms in median.items():
        print(f"{k:58} {ms:10.1f}")
    raw_ms = median["InfluxQL GROUP BY time(1h) over raw"]
    for k, ms in list(median.items())[1:]:
        print(
            verdict(
                k.replace(" (InfluxQL read)", "").replace(" (HTTP, JSON)", ""), raw_ms / ms, 20.0
            )
        )
    api = [ms for k, ms in median.items() if k.startswith("API") and k.endswith(", cache")]
    best = max(api) if api else median["1-hour aggregates packed by day (InfluxQL read)"]
    print(f"under 100 ms median: {'OK' if best < 100 else 'NO'} ({best:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
