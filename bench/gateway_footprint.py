"""Resident memory of a gateway installed with the gateway extras only (pyserial, paho-mqtt).

Creates a fresh virtual environment with ``pip install '.[gateway]'``, checks that nothing else
came in (no pydantic, no fastapi), runs ``airq gateway run`` against a real Mosquitto and a
virtual SDS011 on a pty for a while, and prints its resident memory beside a bare Python
interpreter's, measured in the same run.

    python bench/gateway_footprint.py [--seconds 30] [--keep-venv DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airq.services import Mosquitto  # noqa: E402
from api.registry import Registry  # noqa: E402
from firmware_tools.virtual import PtySensor, make_emulator  # noqa: E402


def rss_kib(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--keep-venv")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airq-footprint-"))
    venv = Path(args.keep_venv) if args.keep_venv else work / "venv"
    if not (venv / "bin/python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin/pip"), "install", "-q", f"{ROOT}[gateway]"],
            check=True,
            stderr=subprocess.DEVNULL,
        )
    py = str(venv / "bin/python")
    listed = subprocess.run(
        [str(venv / "bin/pip"), "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    heavy = [
        p
        for p in ("pydantic", "fastapi", "numpy", "httpx", "SQLAlchemy")
        if p.lower() + "==" in listed.lower()
    ]
    print("installed:", " ".join(sorted(listed.split())))
    if heavy:
        print("UNEXPECTED packages in a gateway-only install:", heavy)
        return 1

    reg = Registry(f"sqlite:///{work / 'r.sqlite'}")
    token = reg.add("bench-gw", 50.45, 2.84)
    broker = Mosquitto(work / "mq", users=reg.mosquitto_users()).start()
    pty = PtySensor(make_emulator("sds011", period=0.5)).start()
    cfg = work / "gw.toml"
    cfg.write_text(
        f'station = "bench-gw"\nstate_dir = "{work / "state"}"\n[mqtt]\n'
        f'url = "{broker.url("bench-gw", token)}"\n[[sensors]]\ntype = "sds011"\n'
        f'port = "{pty.port}"\ninterval = 1\nwarmup = 0\n'
    )
    gw = subprocess.Popen(
        [py, "-m", "airq", "gateway", "run", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=work,
    )
    bare = subprocess.Popen([py, "-c", "import time; time.sleep(60)"], cwd=work)
    try:
        time.sleep(args.seconds)
        if gw.poll() is not None:
            print(gw.stderr.read().decode()[-2000:] if gw.stderr else "")
            print("gateway exited early")
            return 1
        g_rss, g_hwm = rss_kib(gw.pid)
        b_rss, _ = rss_kib(bare.pid)
        status = (work / "state/status.json").read_text()
        published = '"published": 0' not in status
    finally:
        gw.terminate()
        bare.terminate()
        gw.wait(10)
        bare.wait(10)
        pty.close()
        broker.stop()
        reg.close()
    print(f"after {args.seconds:.0f} s, one SDS011 every 1 s, publishing: {published}")
    print(f"{'process':<34}{'RSS MiB':>9}{'peak MiB':>10}")
    print(f"{'bare python -c sleep':<34}{b_rss / 1024:>9.1f}{'':>10}")
    print(f"{'airq gateway run (gateway extras)':<34}{g_rss / 1024:>9.1f}{g_hwm / 1024:>10.1f}")
    print(f"ratio gateway / bare interpreter: {g_rss / b_rss:.1f}")
    return 0 if published else 1


if __name__ == "__main__":
    sys.exit(main())
