"""Running ``airq`` as a resident does (``python -m airq …`` in a subprocess), in a folder of
the test's own, with the default registry (no ``AIRQ_DATABASE_URL``) in a data folder of the
test's own (``AIRQ_DATA_DIR``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The folder the commands run in (no .env there): nothing may be written in it."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def cli_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AIRQ_LANG", "AIRQ_DATABASE_URL") and not k.startswith("AIRQ_WORKSHOP_")
    }
    env["AIRQ_DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture
def airq(workdir: Path, cli_env: dict[str, str]) -> Run:
    """``airq(*args, env={...}, timeout=...)`` -> CompletedProcess (text)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
        return subprocess.run(
            [sys.executable, "-m", "airq", *args],
            capture_output=True,
            text=True,
            cwd=workdir,
            env={**cli_env, **(env or {})},
            timeout=timeout,
        )

    return run
