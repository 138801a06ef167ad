"""The public read path under a crowd (issue 16): the map's requests and a researcher's series
request, 50 concurrent clients with ``wrk``, against the API with N stations, and against a
minimal Starlette app serving the same bytes in the same run (the reference).

    .venv/bin/python bench/public_crowd.py [--stations 8,13000] [--duration 20] [--days 3]

For each N: a throwaway influxd holding ``days`` of hourly aggregates for every station, a
SQLite registry with the N stations (``--near-qpv`` of them around the QPV of Hauts-de-France,
the others spread over Europe), ``airq api`` in
its own process as deployed (the rate limiter on, with a limit no client of the run reaches),
and ``bench/crowd_reference.py`` under the same uvicorn. Prints per route req/s, p50/p99 and
the ratio to the reference; the time of a cold build of each map layer; how long a new hourly
value takes to show on the map (the answers are rebuilt every ``AIRQ_MAP_REFRESH_S``); the API's
resident memory. Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import api_process, wait_idle  # noqa: E402

from airq.services import InfluxDB, free_port  # noqa: E402
from api.qpv.polygons import load_qpv  # noqa: E402
from api.registry import NewStation, Registry  # noqa: E402
from ingest.influx import InfluxWriter  # noqa: E402

EXPOSURE = "/v1/qpv/exposure.geojson?quantity=pm2_5"
STATIONS = "/v1/qpv/stations.geojson?quantity=pm2_5"
PAGE = "/carte"
GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what a browser sends


def station_ids(n: int) -> list[str]:
    return [f"bench-{i:05d}" for i in range(n)]


def place(n: int, near: int, seed: int = 16) -> list[NewStation]:
    """``near`` stations around the QPV (each within ~3 km of one), the others spread over
    Europe as sensor.community's fleet is (its share in Hauts-de-France is a few hundred)."""
    rnd = random.Random(seed)
    areas = load_qpv().areas
    out = []
    for i, sid in enumerate(station_ids(n)):
        if i < near:
            c = rnd.choice(areas).geometry_wgs84.representative_point()
            lat = c.y + rnd.uniform(-0.027, 0.027)
            lon = c.x + rnd.uniform(-0.04, 0.04)
        else:
            lat, lon = rnd.uniform(43.0, 55.0), rnd.uniform(-4.0, 20.0)
        out.append(NewStation(sid, round(lat, 6), round(lon, 6), name=f"Station {sid[-5:]}"))
    return out


def write_history(url: str, db: str, ids: list[str], days: int, seed: int = 16) -> int:
    """Hourly aggregates (pm2_5 mean/min/max/count/coverage) of every station for ``days``."""
    rnd = random.Random(seed)
    w = InfluxWriter(url, db)
    w.ensure_database()
    hour = int(time.time()) // 3600 * 3600
    hours = [hour - 3600 * i for i in range(days * 24)]
    n, batch = 0, []
    for sid in ids:
        base = rnd.uniform(5, 30)
        for t in hours:
            v = round(base + rnd.uniform(-4, 4), 2)
            batch.append(
                f"readings_1h,sensor=sds011,station={sid} pm2_5_mean={v},pm2_5_min={v},"
                f"pm2_5_max={v},pm2_5_count=24.0,pm2_5_coverage=1.0 {t * 1000}"
            )
        if len(batch) >= 50_000:
            w.write_lines("\n".join(batch).encode(), rp="agg")
            n, batch = n + len(batch), []
    if batch:
        w.write_lines("\n".join(batch).encode(), rp="agg")
        n += len(batch)
    w.close()
    return n


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(
    base: str, paths: list[str], headers: dict[str, str], duration: int, clients: int, root: Path
) -> dict[str, float]:
    """req/s, p50 and p99 (ms), and the answers that were not 2xx/3xx, of one wrk run."""
    script = root / "paths.lua"
    quoted = ", ".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local paths = {{{quoted}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )
    cmd = ["wrk", "-t2", f"-c{clients}", f"-d{duration}s", "--latency", "-s", str(script)]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, base], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "bad": float(bad.group(1)) if bad else 0.0}


def save_reference(base: str, paths: list[str], folder: Path) -> None:
    """The API's answers (gzip where it gives it) and their headers, for the reference app."""
    folder.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120) as c:
        for i, path in enumerate(paths):
            with c.stream("GET", path, headers=GZIP) as r:
                r.raise_for_status()
                body = b"".join(r.iter_raw())
            keep = {
                k: v
                for k, v in r.headers.items()
                if k
                in (
                    "content-type",
                    "content-encoding",
                    "etag",
                    "cache-control",
                    "last-modified",
                    "vary",
                )
            }
            (folder / f"{i}.bin").write_bytes(body)
            index[path.split("?")[0]] = [f"{i}.bin", keep]
    (folder / "index.json").write_text(json.dumps(index))


def start_reference(folder: Path, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(__file__).parent),
            "crowd_reference:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "AIRQ_BENCH_REFERENCE": str(folder)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + PAGE, timeout=1)
            return base, proc
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the reference did not start: {log.read_text()[-500:]}") from None
            time.sleep(0.1)


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":", 1)
            vals[k] = int(v.split()[0]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


def station_value(c: httpx.Client, sid: str) -> float | None:
    fc = c.get(STATIONS).json()
    for f in fc["features"]:
        if f["id"] == sid:
            return f["properties"]["value"]  # type: ignore[no-any-return]
    return None


def freshness(base: str, influx_url: str, db: str, sid: str, limit_s: float) -> float | None:
    """Seconds from writing a new hourly value of ``sid`` to seeing it in stations.geojson."""
    with httpx.Client(base_url=base, timeout=60) as c:
        before = station_value(c, sid)
        v = round(random.uniform(300, 499), 1)  # a value the map does not show yet
        hour = int(time.time()) // 3600 * 3600
        w = InfluxWriter(influx_url, db)
        w.write_lines(
            f"readings_1h,sensor=sds011,station={sid} pm2_5_mean={v},pm2_5_min={v},"
            f"pm2_5_max={v},pm2_5_count=24.0,pm2_5_coverage=1.0 {hour * 1000}".encode(),
            rp="agg",
        )
        w.close()
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit_s:
            if station_value(c, sid) != before:
                return time.monotonic() - t0
            time.sleep(0.25)
    return None


def run(n: int, args: argparse.Namespace, root: Path) -> list[str]:
    lines = [
        f"\n## {n} stations ({min(n, args.near_qpv)} around the QPV), "
        f"{args.days} days of hourly aggregates"
    ]
    print(lines[0], flush=True)
    influx = InfluxDB(root / "influxd").start()
    try:
        ids = station_ids(n)
        reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
        reg.add_many(place(n, min(n, args.near_qpv)))
        reg.close()
        t = time.monotonic()
        points = write_history(influx.url, "bench", ids, args.days)
        assert influx.proc is not None
        wait_idle(influx.proc.pid)
        print(f"{points} hourly windows written in {time.monotonic() - t:.0f} s", flush=True)
        start = datetime.fromtimestamp(time.time() // 3600 * 3600 - 86400, UTC)
        series = (
            f"/v1/series?station={ids[0]}&quantity=pm2_5&every=1h"
            f"&start={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        env = {
            "AIRQ_INFLUX_URL": influx.url,
            "AIRQ_INFLUX_DB": "bench",
            "AIRQ_DATABASE_URL": f"sqlite:///{root / 'registry.sqlite'}",
            # the limiter runs on every request; its limit is out of reach of this one client
            "AIRQ_RATE_LIMIT_PER_MINUTE": "1e12",
            "AIRQ_RATE_LIMIT_BURST": "1000000000",
            "AIRQ_MAP_REFRESH_S": str(args.refresh),
        }
        for mode in args.builder.split(","):
            lines += measure(
                mode,
                {**env, "AIRQ_MAP_BUILD_PROCESS": str(mode == "process")},
                series,
                influx,
                ids,
                args,
                root,
            )
    finally:
        influx.stop()
    return lines


def children(pid: int) -> list[str]:
    """The child processes of ``pid`` (from /proc/*/stat: their parent's pid)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(stat.parent.name)
    return out


def pss_mb(pid: int) -> float:
    """Proportional set size in MiB (pages shared with the fork server counted once)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def family_memory_mb(pid: int) -> list[tuple[str, float, float, float]]:
    """(what, VmRSS, VmHWM, PSS) in MiB of the API process and of its descendants: the fork
    server, the multiprocessing resource tracker and the map layers' build process."""
    out = []
    todo = [(pid, 0)]
    while todo:
        p, depth = todo.pop(0)
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            rss, hwm = memory_mb(p)
            pss = pss_mb(p)
            kids = children(p)
        except OSError:
            continue
        if depth == 0:
            name = "API process"
        elif "resource_tracker" in cmd:
            name = "resource tracker"
        elif depth == 1:
            name = "fork server"
        else:
            name = "map build process"
        out.append((name, rss, hwm, pss))
        todo += [(int(k), depth + 1) for k in kids]
    return out


def measure(
    mode: str,
    env: dict[str, str],
    series: str,
    influx: InfluxDB,
    ids: list[str],
    args: argparse.Namespace,
    root: Path,
) -> list[str]:
    """The rows of one API process whose map layers are built by ``mode`` (process: a
    separate build process; thread: worker threads of the API process)."""
    lines = [f"\n### map layers built in a {mode} (AIRQ_MAP_BUILD_PROCESS={mode == 'process'})"]
    print(lines[0], flush=True)
    with api_process(root, env) as (base, api):
        cold = {}
        with httpx.Client(base_url=base, timeout=300) as c:
            for path in (EXPOSURE, STATIONS):
                t = time.monotonic()
                r = c.get(path, headers=GZIP)
                r.raise_for_status()
                cold[path] = (
                    time.monotonic() - t,
                    len(r.content),
                    int(r.headers["content-length"]),
                    r.headers.get("content-encoding", "identity"),
                )
            etag = c.get(EXPOSURE, headers=GZIP).headers["etag"]
        for path, (s, size, wire, coding) in cold.items():
            line = (
                f"cold build {path.split('?')[0]}: {s * 1000:.0f} ms, "
                f"{size / 1024:.0f} kB ({wire / 1024:.0f} kB {coding})"
            )
            lines.append(line)
            print(line, flush=True)
        paths = [PAGE, EXPOSURE, STATIONS, series]
        save_reference(base, paths, root / "reference")
        ref_base, ref = start_reference(root / "reference", root / "reference.log")
        rows = [
            (PAGE, [PAGE], GZIP),
            ("exposure.geojson", [EXPOSURE], GZIP),
            ("stations.geojson", [STATIONS], GZIP),
            ("page's 3 requests", [PAGE, EXPOSURE, STATIONS], GZIP),
            ("exposure.geojson 304", [EXPOSURE], {**GZIP, "If-None-Match": etag}),
            ("researcher series 1h", [series], GZIP),
        ]
        header = "| route | ours req/s | ref req/s | ratio | ours p50 / p99 ms | ref p50 / p99 ms |"
        lines += [header, "|---|---|---|---|---|---|"]
        print(header, flush=True)
        try:
            for name, ps, headers in rows:
                ours = wrk(base, ps, headers, args.duration, args.clients, root)
                theirs = wrk(ref_base, ps, headers, args.duration, args.clients, root)
                bad = f" ({ours['bad']:.0f} non-2xx/3xx)" if ours["bad"] else ""
                line = (
                    f"| {name} | {ours['rps']:.0f}{bad} | {theirs['rps']:.0f} | "
                    f"{ours['rps'] / theirs['rps']:.2f} | {ours['p50']:.1f} / {ours['p99']:.1f}"
                    f" | {theirs['p50']:.1f} / {theirs['p99']:.1f} |"
                )
                lines.append(line)
                print(line, flush=True)
        finally:
            ref.terminate()
            ref.wait(10)
        family = family_memory_mb(api.pid)
        for name, rss, hwm, pss in family:
            lines.append(
                f"memory after the run, {name}: RSS {rss:.0f} MiB (peak {hwm:.0f}), "
                f"PSS {pss:.0f} MiB"
            )
            print(lines[-1], flush=True)
        lines.append(f"all of them: PSS {sum(f[3] for f in family):.0f} MiB")
        print(lines[-1], flush=True)
        took = freshness(base, influx.url, "bench", ids[0], 3 * args.refresh + 30)
        lines.append(
            f"a new hourly value showed on the map after "
            f"{'never' if took is None else f'{took:.1f} s'} "
            f"(AIRQ_MAP_REFRESH_S={args.refresh:g})"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", default="8,13000", help="comma-separated station counts")
    ap.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--days", type=int, default=3, help="days of hourly history")
    ap.add_argument(
        "--near-qpv",
        type=int,
        default=1000,
        help="stations placed around the QPV, the rest spread over Europe",
    )
    ap.add_argument("--refresh", type=float, default=30, help="AIRQ_MAP_REFRESH_S of the API")
    ap.add_argument(
        "--builder",
        default="process",
        help="where the map layers are built, comma-separated: process (as deployed), thread "
        "(worker threads of the API process, AIRQ_MAP_BUILD_PROCESS=false)",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    print(f"{os.cpu_count()} cores; {args.clients} clients, {args.duration} s a run (wrk -t2)")
    out: list[str] = []
    for n in (int(x) for x in args.stations.split(",")):
        with tempfile.TemporaryDirectory(prefix="airq-crowd-") as d:
            out += run(n, args, Path(d))
    print("\n".join(["", "# summary", *out]))


if __name__ == "__main__":
    main()
