"""Every benchmark of bench/ runs in --quick mode (so they do not rot) and prints its figures
side by side with the ratio. Figures of a quick run are not judged: the machine is shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
BENCHES = {
    "alerts_latency.py": ["alerts / ingest CPU per reading:", "latency publish -> notification"],
    "ingest_drain.py": ["ingest (rollups on) / bare:", "rollups on / rollups off:"],
    "rebuild.py": ["rebuild speed-up:", "both agree on"],
    "long_window.py": [
        "packed by day:",
        "API /series?every=1h, cache:",
        "API /series?every=1h&format=parquet (HTTP), cache:",
        "under 100 ms median:",
    ],
}


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_benchmark_runs_in_quick_mode(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRQ_")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for marker in BENCHES[name]:
        assert marker in out.stdout, out.stdout
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
