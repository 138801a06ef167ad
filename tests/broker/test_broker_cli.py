"""``airq station add`` / ``rotate-token`` change the broker's accounts at once, and
``airq broker sync`` reconciles it, with the broker's admin account in the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airq.services import API_USER, INGEST_USER
from tests.broker.test_broker_accounts import login
from tests.helpers import INGEST_PASSWORD

pytestmark = pytest.mark.services


def airq(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRQ_")}
    return subprocess.run(
        [sys.executable, "-m", "airq", "--lang", "en", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_station_commands_and_broker_sync(tmp_path, registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    env = {
        "AIRQ_DATABASE_URL": str(registry.engine.url),
        "AIRQ_BROKER_ADMIN_URL": mosquitto.admin_url,
        "AIRQ_API_MQTT_PASSWORD": "api-secret-0123456789",
    }
    r = airq(
        env, "station", "add", "lens-01", "--lat", "50.4", "--lon", "2.8", "--quiet", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Success"
    r = airq(env, "station", "rotate-token", "lens-01", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Not authorized"
    assert login(mosquitto.port, "lens-01", r.stdout.strip(), "lens-01") == "Success"

    r = airq(env, "broker", "sync", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "created": [API_USER],
        "bound": [],
        "removed": [],
        "missing": [],
    }
    assert login(mosquitto.port, API_USER, "api-secret-0123456789", "airq-api-1") == "Success"
    assert login(mosquitto.port, INGEST_USER, INGEST_PASSWORD, "airq-ingest") == "Success"

    mosquitto.accounts.remove_station("lens-01")  # the broker lost it
    r = airq(env, "broker", "sync", cwd=tmp_path)
    assert r.returncode == 1
    assert "lens-01" in r.stderr and "rotate-token" in r.stderr


def test_a_broker_down_fails_the_command_and_leaves_the_registry(
    tmp_path, registry, mosquitto
) -> None:  # type: ignore[no-untyped-def]
    env = {
        "AIRQ_DATABASE_URL": str(registry.engine.url),
        "AIRQ_BROKER_ADMIN_URL": mosquitto.admin_url,
    }
    mosquitto.stop()
    r = airq(env, "station", "add", "lens-01", "--lat", "50.4", "--lon", "2.8", cwd=tmp_path)
    assert r.returncode != 0
    assert "broker" in r.stderr and "Traceback" not in r.stderr
    assert registry.get("lens-01") is None
    r = airq(env, "broker", "sync", cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    r = airq({**env, "AIRQ_BROKER_ADMIN_URL": "http://x"}, "broker", "sync", cwd=tmp_path)
    assert r.returncode != 0 and "AIRQ_BROKER_ADMIN_URL" in r.stderr


def test_broker_sync_needs_the_admin_account(tmp_path, registry) -> None:  # type: ignore[no-untyped-def]
    r = airq({"AIRQ_DATABASE_URL": str(registry.engine.url)}, "broker", "sync", cwd=tmp_path)
    assert r.returncode != 0 and "AIRQ_BROKER_ADMIN_URL is not set" in r.stderr
