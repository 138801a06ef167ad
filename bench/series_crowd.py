"""The researcher's series request under a crowd (issue 16): ``/v1/series`` of one station,
the last 24 hourly means as JSON, 50 concurrent clients with ``wrk``, against ``airq api`` of
this tree and (``--old``) of another checkout side by side, in the same run, and against a
minimal Starlette app serving the same bytes (``bench/crowd_reference.py``).

    .venv/bin/python bench/series_crowd.py [--old /tmp/airq/series-old] [--duration 10]
        [--rounds 2] [--profile 2000]

One throwaway influxd holds ``--days`` of hourly aggregates of ``--stations`` stations; every
API process reads it and the same SQLite registry (the rate limiter on, out of reach). The
APIs are measured in turn, ``--rounds`` times, so that a drift of the machine shows. Prints
req/s, p50/p99 of each and the ratio to the reference; checks that every tree gives the same
document (but the time the licence was generated at). ``--profile N``: N requests in this
process under cProfile (the app through an in-process ASGI client), the top functions.
Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import contextlib
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

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import api_process, wait_idle  # noqa: E402

from airq.services import InfluxDB, free_port  # noqa: E402
from api.registry import NewStation, Registry  # noqa: E402
from ingest.influx import InfluxWriter  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def write_history(url: str, db: str, ids: list[str], days: int) -> int:
    """Hourly aggregates (pm2_5 mean/min/max/count/coverage) of every station for ``days``."""
    rnd = random.Random(16)
    w = InfluxWriter(url, db)
    w.ensure_database()
    hour = int(time.time()) // 3600 * 3600
    lines = []
    for sid in ids:
        base = rnd.uniform(5, 30)
        for i in range(days * 24):
            v = round(base + rnd.uniform(-4, 4), 2)
            lines.append(
                f"readings_1h,sensor=sds011,station={sid} pm2_5_mean={v},pm2_5_min={v},"
                f"pm2_5_max={v},pm2_5_count=24.0,pm2_5_coverage=1.0 {(hour - 3600 * i) * 1000}"
            )
    w.write_lines("\n".join(lines).encode(), rp="agg")
    w.close()
    return len(lines)


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, duration: int, clients: int, pids: dict[str, int]) -> dict[str, float]:
    """req/s, p50 and p99 (ms), the answers that were not 2xx/3xx, and the CPU time per
    request (µs) of each process of ``pids``, of one wrk run."""
    cmd = ["wrk", "-t2", f"-c{clients}", f"-d{duration}s", "--latency", url]
    before = {k: cpu_s(p) for k, p in pids.items()}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = {k: cpu_s(p) - before[k] for k, p in pids.items()}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    n = max(int(re.search(r"(\d+) requests in", out).group(1)), 1)  # type: ignore[union-attr]
    cpu = {f"{k}_us": v / n * 1e6 for k, v in used.items()}
    return {"rps": rps, "p50": p50, "p99": p99, "bad": float(bad.group(1)) if bad else 0.0, **cpu}


def reference(body: bytes, content_type: str, root: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """``bench/crowd_reference.py`` serving ``body`` at /v1/series."""
    folder = root / "reference"
    folder.mkdir()
    (folder / "0.bin").write_bytes(body)
    index = {"/v1/series": ["0.bin", {"content-type": content_type}]}
    (folder / "index.json").write_text(json.dumps(index))
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent)),
            *("crowd_reference:app", "--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning"),
        ],
        env={**os.environ, "AIRQ_BENCH_REFERENCE": str(folder)},
        stdout=(root / "reference.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/v1/series", timeout=1)
            return base, proc
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the reference did not start") from None
            time.sleep(0.1)


def without_time(doc: bytes) -> dict[str, object]:
    out = json.loads(doc)
    out["licence"].pop("generated")
    return out  # type: ignore[no-any-return]


def profile(env: dict[str, str], path: str, n: int, out: Path | None) -> None:
    """``n`` requests of ``path`` through the app in this process, under cProfile (the
    statistics saved to ``out`` when given)."""
    import asyncio
    import cProfile
    import pstats

    os.environ.update(env)
    from api.app import create_app

    app = create_app()

    async def go() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as c:
                for _ in range(50):
                    (await c.get(path)).raise_for_status()
                prof = cProfile.Profile()
                t0 = time.perf_counter()
                prof.enable()
                for _ in range(n):
                    await c.get(path)
                prof.disable()
                took = time.perf_counter() - t0
        print(f"\n{n} requests in process: {took / n * 1e6:.0f} µs each (under cProfile)")
        stats = pstats.Stats(prof)
        if out:
            stats.dump_stats(out)
        stats.sort_stats("cumulative").print_stats(45)

    asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, help="another checkout to measure beside this one")
    ap.add_argument("--stations", type=int, default=8)
    ap.add_argument("--days", type=int, default=3, help="days of hourly history")
    ap.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--profile", type=int, default=0, help="requests to profile in process")
    ap.add_argument("--profile-out", type=Path, help="where to save the profile (pstats)")
    args = ap.parse_args()
    if shutil.which("wrk") is None and not args.profile:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    trees = {"this": HERE, **({"old": args.old.resolve()} if args.old else {})}
    with tempfile.TemporaryDirectory(prefix="airq-series-crowd-") as d:
        root = Path(d)
        influx = InfluxDB(root / "influxd").start()
        try:
            ids = [f"bench-{i:05d}" for i in range(args.stations)]
            reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
            reg.add_many([NewStation(s, 50.43 + i / 1000, 2.83, name=s) for i, s in enumerate(ids)])
            reg.close()
            write_history(influx.url, "bench", ids, args.days)
            assert influx.proc is not None
            wait_idle(influx.proc.pid)
            start = datetime.fromtimestamp(time.time() // 3600 * 3600 - 86400, UTC)
            path = (
                f"/v1/series?station={ids[0]}&quantity=pm2_5&every=1h"
                f"&start={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            )
            env = {
                "AIRQ_INFLUX_URL": influx.url,
                "AIRQ_INFLUX_DB": "bench",
                "AIRQ_DATABASE_URL": f"sqlite:///{root / 'registry.sqlite'}",
                "AIRQ_RATE_LIMIT_PER_MINUTE": "1e12",
                "AIRQ_RATE_LIMIT_BURST": "1000000000",
            }
            if args.profile:
                profile(env, path, args.profile, args.profile_out)
                return
            run(trees, env, path, args, root, influx.proc.pid)
        finally:
            influx.stop()


def run(
    trees: dict[str, Path],
    env: dict[str, str],
    path: str,
    args: argparse.Namespace,
    root: Path,
    influxd_pid: int,
) -> None:
    print(f"{os.cpu_count()} cores; {args.clients} clients, {args.duration} s a run (wrk -t2)")
    print(f"GET {path}")
    with contextlib.ExitStack() as stack:
        bases, pids = {}, {}
        for name, tree in trees.items():
            tree_env = {**env, "PYTHONPATH": str(tree)}
            (root / name).mkdir()
            base, proc = stack.enter_context(api_process(root / name, tree_env))
            bases[name], pids[name] = base, proc.pid
        docs = {name: httpx.get(base + path, timeout=30) for name, base in bases.items()}
        for r in docs.values():
            r.raise_for_status()
        first = next(iter(docs.values()))
        same = all(without_time(r.content) == without_time(first.content) for r in docs.values())
        print(f"{len(first.content)} bytes; the same document from every tree: {same}")
        ref_base, ref = reference(first.content, first.headers["content-type"], root)
        stack.callback(lambda: (ref.terminate(), ref.wait(10)))
        bases["reference"], pids["reference"] = ref_base, ref.pid
        results: dict[str, list[dict[str, float]]] = {name: [] for name in bases}
        for _ in range(args.rounds):
            for name, base in bases.items():
                watch = {"server": pids[name], "influxd": influxd_pid}
                got = wrk(base + path, args.duration, args.clients, watch)
                results[name].append(got)
                bad = f" ({got['bad']:.0f} non-2xx/3xx)" if got["bad"] else ""
                print(
                    f"  {name}: {got['rps']:.0f} req/s{bad}, p50 {got['p50']:.1f} ms, "
                    f"p99 {got['p99']:.1f} ms; CPU per request: server "
                    f"{got['server_us']:.0f} µs, influxd {got['influxd_us']:.0f} µs",
                    flush=True,
                )
        ref_rps = max(r["rps"] for r in results["reference"])
        print(
            "\n| server | req/s (best round) | p50 / p99 ms | ratio to reference "
            "| server CPU µs/request |"
        )
        print("|---|---|---|---|---|")
        for name, runs in results.items():
            best = max(runs, key=lambda r: r["rps"])
            print(
                f"| {name} | {best['rps']:.0f} | {best['p50']:.1f} / {best['p99']:.1f} | "
                f"{best['rps'] / ref_rps:.3f} | {best['server_us']:.0f} |"
            )


if __name__ == "__main__":
    main()
