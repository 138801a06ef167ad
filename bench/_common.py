"""Shared set-up of the benchmarks: real Mosquitto and influxd in a temporary folder."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from airq.services import INGEST_USER, InfluxDB, Mosquitto, free_port
from api.registry import Registry, hash_token

INGEST_PASSWORD = "bench-ingest"


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--quick", action="store_true", help="small smoke run (seconds)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return p


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.mkdtemp(prefix="airq-bench-"))
        print(f"working folder: {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="airq-bench-") as d:
        yield Path(d)


@contextlib.contextmanager
def influxd(root: Path) -> Iterator[InfluxDB]:
    server = InfluxDB(root / "influxd").start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def broker_with_stations(
    root: Path, stations: list[str]
) -> Iterator[tuple[Mosquitto, Registry, dict[str, str]]]:
    reg = Registry(f"sqlite:///{root / 'registry.sqlite'}")
    tokens = {s: reg.add(s, 50.4, 2.8) for s in stations}
    broker = Mosquitto(
        root / "mosquitto",
        users={INGEST_USER: hash_token(INGEST_PASSWORD), **reg.mosquitto_users()},
    ).start()
    try:
        yield broker, reg, tokens
    finally:
        broker.stop()
        reg.close()


@contextlib.contextmanager
def api_process(root: Path, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``airq api`` in its own process, as deployed (a client in the benchmark's interpreter
    would share its GIL), with ``env`` over this environment: (base URL, process) once it
    answers ``/healthz``; its output goes to ``api-<port>.log`` in ``root``."""
    port = free_port()
    log_path = root / f"api-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "airq", "api", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env},
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the API did not start: {log_path.read_text()[-500:]}")
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def write_lines(url: str, db: str, lines: list[str], batch: int = 10000) -> None:
    with httpx.Client(base_url=url, timeout=120) as c:
        for i in range(0, len(lines), batch):
            r = c.post(
                "/write",
                params={"db": db, "rp": "raw", "precision": "ms"},
                content="\n".join(lines[i : i + batch]).encode(),
            )
            r.raise_for_status()


def wait_idle(pid: int, busy_below: float = 0.05, timeout: float = 90.0) -> float:
    """Waits until a process uses less than ``busy_below`` of a core over half a second
    (influxd compacts what was just written, on every core, for a while); seconds waited."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_s() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        c0 = cpu_s()
        time.sleep(0.5)
        if (cpu_s() - c0) / 0.5 < busy_below:
            break
    return time.monotonic() - t0


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_ms(fn: Callable[[], object], runs: int) -> float:
    return statistics.median(timed(fn) for _ in range(runs)) * 1000


def verdict(name: str, ratio: float, target: float) -> str:
    return (
        f"{name}: {ratio:.2f}× (target ≥ {target}×) {'OK' if ratio >= target else 'BELOW TARGET'}"
    )
