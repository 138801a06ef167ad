"""``airq broker init``: the broker's dynamic-security file written from the registry while the
broker is stopped. A real Mosquitto started on it with the deployment's configuration accepts
every station in service at once, refuses retired ones, and holds exactly the accounts the
live path (``mosquitto_ctrl dynsec init``, the API's start-up sync, stations added by command)
would have made: ``airq broker sync`` finds nothing to change."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airq.services import ADMIN_USER, ALERTS_USER, API_USER, INGEST_USER, Mosquitto, free_port
from airq_core import wire
from api.broker_accounts import BrokerAccounts, dynsec_init, hash_fields
from api.registry import NewStation, Registry, hash_token
from tests.broker.test_broker_accounts import Session, login
from tests.helpers import MqttCollector, wait_until

pytestmark = pytest.mark.services

ADMIN_PASSWORD = "admin-secret-0123456789"
PASSWORDS = {
    INGEST_USER: "ingest-secret-0123456789",
    API_USER: "api-secret-0123456789",
    ALERTS_USER: "alerts-secret-0123456789",
}


def deployment_env(registry: Registry, port: int) -> dict[str, str]:
    """The api container's settings (docker-compose.yml): the admin account, the services'."""
    return {
        "AIRQ_DATABASE_URL": str(registry.engine.url),
        "AIRQ_BROKER_ADMIN_URL": f"mqtt://{ADMIN_USER}:{ADMIN_PASSWORD}@127.0.0.1:{port}",
        "AIRQ_MQTT_URL": f"mqtt://{API_USER}:{PASSWORDS[API_USER]}@127.0.0.1:{port}",
        "AIRQ_INGEST_MQTT_PASSWORD": PASSWORDS[INGEST_USER],
        "AIRQ_ALERTS_MQTT_PASSWORD": PASSWORDS[ALERTS_USER],
    }


def airq(
    env: dict[str, str], *args: str, cwd: Path, lang: str = "en"
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRQ_")}
    return subprocess.run(
        [sys.executable, "-m", "airq", "--lang", lang, *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def fleet(n: int, prefix: str = "sc") -> list[NewStation]:
    return [NewStation(f"{prefix}-{i:04d}", 50.4 + i / 1e4, 2.8, f"n{i}") for i in range(n)]


def broker_on_init_file(tmp_path: Path, registry: Registry, name: str) -> Mosquitto:
    """A broker of the deployment's configuration whose first file is ``airq broker init``'s."""
    broker = Mosquitto(tmp_path / name, port=free_port(), admin_password=ADMIN_PASSWORD)
    broker.dynsec_file.parent.mkdir(parents=True)
    env = deployment_env(registry, broker.port)
    r = airq(env, "broker", "init", "--file", str(broker.dynsec_file), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return broker.start()


def test_a_broker_started_on_the_init_file_takes_the_whole_fleet(
    tmp_path: Path, registry: Registry
) -> None:
    tokens = dict(zip([s.id for s in fleet(300)], registry.add_many(fleet(300)), strict=True))
    for gone in ("sc-0007", "sc-0123"):
        registry.retire(gone)
    broker = Mosquitto(tmp_path / "m", port=free_port(), admin_password=ADMIN_PASSWORD)
    dynsec = broker.dynsec_file
    dynsec.parent.mkdir(parents=True)
    env = deployment_env(registry, broker.port)

    r = airq(env, "broker", "init", "--file", str(dynsec), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "298 station(s)" in r.stdout, r.stdout
    assert stat.S_IMODE(dynsec.stat().st_mode) == 0o600
    assert [p.name for p in dynsec.parent.iterdir()] == [dynsec.name]  # no temp file left
    written = dynsec.read_bytes()
    # an existing file is the broker's: replaced only with --force
    r = airq(env, "broker", "init", "--file", str(dynsec), cwd=tmp_path)
    assert r.returncode == 1 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert dynsec.read_bytes() == written
    r = airq(env, "broker", "init", "--file", str(dynsec), cwd=tmp_path, lang="fr")
    assert r.returncode == 1 and "existe déjà" in r.stderr
    r = airq(env, "broker", "init", "--file", str(dynsec), "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert dynsec.read_bytes() != written  # new salts for the service accounts
    assert stat.S_IMODE(dynsec.stat().st_mode) == 0o600

    broker.start()
    try:
        ingest = MqttCollector(broker.url(INGEST_USER, PASSWORDS[INGEST_USER]), client_id="ing")
        try:
            for sid in ("sc-0000", "sc-0150", "sc-0299"):
                s = Session(broker.port, sid, tokens[sid], sid)
                assert s.accepted, (sid, s.reason)
                s.client.publish(wire.readings_topic(sid), b'{"own": 1}', qos=1).wait_for_publish(5)
                s.close()
            wait_until(lambda: len(ingest.messages) == 3, what="the stations' readings")
            # another station's topic: disconnected, the message dropped
            s = Session(broker.port, "sc-0001", tokens["sc-0001"], "sc-0001")
            try:
                s.client.publish(wire.readings_topic("sc-0002"), b'{"forged": 1}', qos=1)
                assert s.closed.wait(5), "a forged publish left the connection open"
            finally:
                s.close()
            time.sleep(0.3)
            assert [t for t, _ in ingest.messages] == [
                wire.readings_topic(sid) for sid in ("sc-0000", "sc-0150", "sc-0299")
            ]
        finally:
            ingest.close()
        assert login(broker.port, "sc-0010", tokens["sc-0010"], "other-id") == "Not authorized"
        assert login(broker.port, "sc-0010", "not-its-token", "sc-0010") == "Not authorized"
        for gone in ("sc-0007", "sc-0123"):
            assert login(broker.port, gone, tokens[gone], gone) == "Not authorized"
        for user in (API_USER, ALERTS_USER):
            assert login(broker.port, user, PASSWORDS[user], f"{user}-1") == "Success"

        # the admin account runs dynamic-security commands
        clients = broker.accounts.list_clients()
        names = {c["username"] for c in clients}
        assert names == {ADMIN_USER, *PASSWORDS, *(set(tokens) - {"sc-0007", "sc-0123"})}

        # what the API's start-up (and `airq broker sync`) would change: nothing
        r = airq(env, "broker", "sync", "--json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"created": [], "bound": [], "removed": [], "missing": []}
    finally:
        broker.stop()


def _state(accounts: BrokerAccounts) -> dict[str, Any]:
    """Everything the broker tells of its accounts (not the passwords)."""
    (clients, roles, groups, default) = accounts.client.run(
        [
            {"command": "listClients", "verbose": True},
            {"command": "listRoles", "verbose": True},
            {"command": "listGroups", "verbose": True},
            {"command": "getDefaultACLAccess"},
        ]
    )

    def by(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {i[key]: i for i in items}

    return {
        "clients": by("username", clients["data"]["clients"]),
        "roles": by("rolename", roles["data"]["roles"]),
        "groups": by("groupname", groups["data"]["groups"]),
        "default": default["data"],
    }


def test_the_init_file_holds_what_the_live_path_makes(tmp_path: Path, registry: Registry) -> None:
    # the live path: the deployment's first file (mosquitto_ctrl dynsec init), the API's
    # start-up sync, stations added by command, one retired
    live = Mosquitto(tmp_path / "live", admin_password=ADMIN_PASSWORD).start()
    try:
        live.accounts.sync([], PASSWORDS)
        registry.accounts = live.accounts
        registry.add_many(fleet(5))
        registry.add("lens-01", 50.4, 2.8)
        registry.retire("sc-0003")
        registry.accounts = None
        expected = _state(live.accounts)
    finally:
        live.stop()
    broker = broker_on_init_file(tmp_path, registry, "init")
    try:
        got = _state(broker.accounts)
    finally:
        broker.stop()
    assert set(got["clients"]) == {ADMIN_USER, *PASSWORDS, "lens-01", "sc-0000", "sc-0001",
                                   "sc-0002", "sc-0004"}  # fmt: skip
    assert got == expected


def test_the_admin_part_is_what_mosquitto_ctrl_writes(tmp_path: Path) -> None:
    made = tmp_path / "ctrl.json"
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(made), ADMIN_USER, ADMIN_PASSWORD],
        check=True,
        capture_output=True,
    )
    tool = json.loads(made.read_text())
    admin = tool["clients"][0]
    stored = f"$7${admin['iterations']}${admin['salt']}${admin['password']}"
    assert dynsec_init(stored) == tool
    ours = dynsec_init(hash_token(ADMIN_PASSWORD))["clients"][0]
    assert {k: v for k, v in ours.items() if k not in ("password", "salt")} == {
        k: v for k, v in admin.items() if k not in ("password", "salt")
    }
    assert hash_fields(stored)["iterations"] == 101


def test_without_the_admin_account_or_registry_stations_it_says_what_to_do(
    tmp_path: Path, registry: Registry
) -> None:
    out = tmp_path / "ds.json"
    env = deployment_env(registry, 1883)
    del env["AIRQ_BROKER_ADMIN_URL"]
    r = airq(env, "broker", "init", "--file", str(out), cwd=tmp_path)
    assert r.returncode == 1 and "AIRQ_BROKER_ADMIN_URL" in r.stderr
    assert not out.exists()
    r = airq(deployment_env(registry, 1883), "broker", "init", "--file",
             str(tmp_path / "no-such-folder" / "ds.json"), cwd=tmp_path)  # fmt: skip
    assert r.returncode == 1 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    # a hash the broker could not read: named, nothing written
    registry.add("lens-01", 50.4, 2.8)
    with registry.engine.begin() as conn:
        conn.execute(sa.text("UPDATE stations SET token_hash = 'plain' WHERE id = 'lens-01'"))
    r = airq(deployment_env(registry, 1883), "broker", "init", "--file", str(out), cwd=tmp_path)
    assert r.returncode == 1 and "station lens-01" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
