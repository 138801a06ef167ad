"""Rebuild of 1-hour and 1-day aggregates from raw readings: ``airq rollup rebuild`` (numpy)
against InfluxQL ``SELECT … INTO`` for the same tiers on the same data, in the same run.

Data: 1000 stations × 2000 timestamps (one a minute) × 4 quantities = 2 M raw readings.
Target (issue 5): the rebuild at least 2 × faster. Each method runs ``--runs`` times (2),
alternating, and the best run of each is compared (right after the write, influxd is still
compacting on the other core: whichever ran first paid for it). The rebuild also writes the
hourly windows packed by day, which ``SELECT … INTO`` does not.

    python bench/rebuild.py [--quick] [--stations N] [--timestamps N] [--runs N]
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
from _common import influxd, parser, verdict, workdir, write_lines

from airq_core.storage import AGG_RP
from ingest.influx import InfluxWriter
from ingest.rebuild import rebuild
from ingest.rollup import time_range

FIELDS = ("pm1", "pm2_5", "pm4", "pm10")
DB = "bench"


def make_lines(stations: int, timestamps: int, start_ms: int) -> list[str]:
    rng = np.random.default_rng(42)
    base = rng.uniform(2, 60, size=(stations, timestamps)).round(1)
    lines = []
    for s in range(stations):
        tag = f"readings,sensor=sps30,station=bench-{s:04d} "
        row = base[s].tolist()
        for i, v in enumerate(row):
            lines.append(
                f"{tag}pm1={v * 0.6:.1f},pm2_5={v},pm4={v * 1.2:.1f},pm10={v * 1.5:.1f} "
                f"{start_ms + i * 60_000}"
            )
    return lines


def select_into(influx, start_ms: int, end_ms: int) -> None:  # type: ignore[no-untyped-def]
    select = ", ".join(
        f'{stat}("{f}") AS "{f}_{stat}"' for f in FIELDS for stat in ("mean", "min", "max", "count")
    )
    for tier, every in (("1h", "1h"), ("1d", "1d")):
        res = influx.query(
            f'SELECT {select} INTO "{AGG_RP}"."into_{tier}" FROM "raw"."readings" '
            f"WHERE {time_range(start_ms, end_ms)} GROUP BY time({every}), *",
            db=DB,
        )
        err = res["results"][0].get("error")
        if err:
            raise SystemExit(f"SELECT INTO failed: {err}")


def compare(writer: InfluxWriter, ours: str, theirs: str) -> int:
    """Checks that both methods agree on every mean; the number of points compared."""

    def load(m: str) -> dict[tuple[str, int], float]:
        res = writer.query(f'SELECT "pm2_5_mean" FROM "{AGG_RP}"."{m}" GROUP BY "station"')
        return {
            (s["tags"]["station"], t): v for s in res[0].get("series", []) for t, v in s["values"]
        }

    a, b = load(ours), load(theirs)
    if a.keys() != b.keys() or not all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in a):
        raise SystemExit(f"{ours} and {theirs} differ")
    return len(a)


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--stations", type=int)
    p.add_argument("--timestamps", type=int)
    p.add_argument("--prefetch", type=int, default=2, help="chunks fetched ahead")
    p.add_argument("--chunk-hours", type=int, default=6)
    p.add_argument("--runs", type=int, default=2, help="runs of each method, alternating")
    args = p.parse_args()
    stations = args.stations or (50 if args.quick else 1000)
    timestamps = args.timestamps or (400 if args.quick else 2000)
    n = stations * timestamps
    day = 86_400_000
    start_ms = (int(time.time() * 1000) // day - 4) * day  # a UTC midnight 4 days ago
    end_ms = start_ms + timestamps * 60_000
    with workdir(args.keep) as root, influxd(root) as influx:
        writer = InfluxWriter(influx.url, DB, timeout=600)
        writer.ensure_database()
        t = time.perf_counter()
        write_lines(influx.url, DB, make_lines(stations, timestamps, start_ms))
        print(
            f"wrote {n} raw readings × {len(FIELDS)} quantities in {time.perf_counter() - t:.1f} s"
        )
        # each method twice, alternating, so that neither pays alone for influxd still
        # compacting what was just written; the best run of each is compared
        ours_runs: list[float] = []
        theirs_runs: list[float] = []
        for _ in range(args.runs):
            t = time.perf_counter()
            report = rebuild(
                writer,
                start_ms,
                end_ms,
                tiers=["1h", "1d"],
                prefetch=args.prefetch,
                chunk_hours=args.chunk_hours,
            )
            ours_runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            select_into(influx, start_ms, end_ms)
            theirs_runs.append(time.perf_counter() - t)
        ours, theirs = min(ours_runs), min(theirs_runs)
        checked = compare(writer, "readings_1h", "into_1h") + compare(
            writer, "readings_1d", "into_1d"
        )
        writer.close()
    if report.raw_points != n:
        raise SystemExit(f"rebuild read {report.raw_points} raw readings, expected {n}")
    print(f"{'method (1h + 1d tiers)':32} {'seconds':>8} {'readings/s':>11}")
    runs = ", ".join(f"{x:.2f}" for x in ours_runs)
    print(f"{'airq rollup rebuild (numpy)':32} {ours:8.2f} {n / ours:11.0f}  runs: {runs}")
    runs = ", ".join(f"{x:.2f}" for x in theirs_runs)
    print(f"{'InfluxQL SELECT … INTO':32} {theirs:8.2f} {n / theirs:11.0f}  runs: {runs}")
    print(f"both agree on {checked} aggregate means")
    print(verdict("rebuild speed-up", theirs / ours, 2.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
