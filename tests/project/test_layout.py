"""Project-wide rules: dependency direction, the compose file, deploy configs in sync."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["gateway", "ingest", "api", "alerts", "firmware_tools", "dashboards"]
STDLIB_ONLY = "airq_core"


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("app", APPS)
def test_apps_never_import_each_other(app: str) -> None:
    if not (ROOT / app).exists():
        pytest.skip(f"{app}/ not created yet")
    others = (set(APPS) - {app}) | {"airq"}
    bad = sorted((f, m) for f, m in _imports(app) if m in others)
    assert bad == [], f"{app} imports other apps: {bad}"


def test_shared_package_is_stdlib_only() -> None:
    import sys

    allowed = set(sys.stdlib_module_names) | {STDLIB_ONLY, "__future__"}
    bad = sorted((f, m) for f, m in _imports(STDLIB_ONLY) if m not in allowed)
    assert bad == [], f"airq_core imports non-stdlib modules: {bad}"


def _compose() -> dict:  # type: ignore[type-arg]
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_tested_brokers_run_the_deployment_config(tmp_path: Path) -> None:
    """Every broker of the tests and the demo runs deploy/mosquitto/ with only the listeners,
    the three paths and the user changed; its accounts are the dynamic-security plugin's. The
    TLS listener (stations, 8883) is there with its certificate, or left out without one."""
    from airq.services import Mosquitto

    deploy = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text().splitlines()
    changed = ("listener", "plugin", "plugin_opt_config_file", "persistence_location")
    tls_lines = ("certfile", "keyfile", "tls_version")
    assert "listener 1883" in deploy and "listener 8883" in deploy
    assert "tls_version tlsv1.2" in deploy

    broker = Mosquitto(tmp_path / "plain", port=18883)
    conf = broker.write_config().read_text().splitlines()
    kept = [line for line in conf if not line.startswith(("#", "user ", *changed))]
    assert kept == [line for line in deploy if not line.startswith(("#", *changed, *tls_lines))]
    assert [line for line in conf if line.startswith("listener")] == ["listener 18883 127.0.0.1"]
    assert f"plugin_opt_config_file {broker.dynsec_file}" in conf
    assert any(line.endswith("mosquitto_dynamic_security.so") for line in deploy)
    assert not any(line.startswith(("password_file", "acl_file")) for line in deploy)

    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    broker = Mosquitto(tmp_path / "tls", port=18883, tls=(cert, key), tls_port=18884)
    conf = broker.write_config().read_text().splitlines()
    kept = [line for line in conf if not line.startswith(("#", "user ", *changed, *tls_lines))]
    assert kept == [line for line in deploy if not line.startswith(("#", *changed, *tls_lines))]
    assert [line for line in conf if line.startswith(("listener", *tls_lines))] == [
        "listener 18883 127.0.0.1",
        "listener 18884 127.0.0.1",
        f"certfile {cert}",
        f"keyfile {key}",
        "tls_version tlsv1.2",
    ]


def test_broker_config_refuses_an_unmapped_container_path() -> None:
    from airq.services import ServiceError, mosquitto_config

    paths = {"acl_file": Path("/tmp/acl")}
    tls = (Path("/tmp/c.pem"), Path("/tmp/k.pem"))
    with pytest.raises(ServiceError, match="cafile"):
        mosquitto_config(
            "listener 1883\nlistener 8883\ncertfile /m/c\ncafile /mosquitto/config/ca.pem\n",
            1, paths, "u", tls, 2,
        )  # fmt: skip
    with pytest.raises(ServiceError, match="one plain 'listener'"):
        mosquitto_config("acl_file /mosquitto/config/acl\n", 1, paths, "u")
    with pytest.raises(ServiceError, match="one plain 'listener'"):
        mosquitto_config("listener 1\nlistener 2\n", 1, paths, "u")
    with pytest.raises(ServiceError, match="no TLS listener"):
        mosquitto_config("listener 1883\nacl_file /x\n", 1, paths, "u", tls, 2)
    with pytest.raises(ServiceError, match="no acl_file line"):
        mosquitto_config("listener 1883\n", 1, paths, "u")


def test_tested_influxd_gets_the_deployment_settings() -> None:
    from airq.services import INFLUXDB_ENV

    assert _compose()["services"]["influxdb"]["environment"] == INFLUXDB_ENV


def test_compose_images_are_pinned_and_services_wait_for_healthy_ones() -> None:
    services = _compose()["services"]
    for name, svc in services.items():
        image = svc["image"]
        if "build" not in svc:  # ours is built from the Dockerfile
            tag = image.rpartition(":")[2]
            assert tag.count(".") == 2 and tag.replace(".", "").isdigit(), f"{name}: {image}"
        assert svc["healthcheck"]["test"], name
        for dep, how in svc.get("depends_on", {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} -> {dep}"
            assert "healthcheck" in services[dep], dep
    for name in ("api", "ingest"):  # liveness: an InfluxDB outage is not theirs to report
        assert "/livez" in " ".join(services[name]["healthcheck"]["test"]), name


def test_compose_lets_grafana_read_the_api() -> None:
    env = _compose()["services"]["api"]["environment"]
    assert "http://localhost:3000" in env["AIRQ_CORS_ORIGINS"]


def test_deploy_broker_keeps_queued_messages() -> None:
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text().splitlines()
    assert "max_queued_messages 0" in conf
    assert "allow_anonymous false" in conf


def test_docker_compose_is_valid() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: scripts/setup --dev installs it")
        pytest.skip("docker-compose not installed (scripts/setup --dev installs it)")
    env = {**os.environ, "AIRQ_INGEST_MQTT_PASSWORD": "x", "AIRQ_API_MQTT_PASSWORD": "y",
           "AIRQ_ADMIN_TOKEN": "z", "GRAFANA_ADMIN_PASSWORD": "w",
           "AIRQ_BROKER_ADMIN_PASSWORD": "v", "AIRQ_ALERTS_MQTT_PASSWORD": "u"}
    r = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for service in ("mosquitto:", "influxdb:", "grafana:", "ingest:", "api:", "alerts:"):
        assert service in r.stdout
    assert "image: influxdb:1." in r.stdout
    # every bind-mounted file or folder exists in the repository
    mounts = [line.strip().removeprefix("- ").split(":")[0] for line in r.stdout.splitlines()
              if line.strip().startswith("- " + str(ROOT))]
    assert len(mounts) >= 4
    for src in map(Path, mounts):
        assert src.exists(), f"compose mounts a missing path: {src}"


def test_compose_refuses_to_start_without_secrets() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRQ_", "GRAFANA_"))}
    r = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "set it in .env" in r.stderr


GATEWAY_UNIT = ROOT / "deploy/systemd/airq-gateway.service"


def test_gateway_unit_is_hardened() -> None:
    lines = set(GATEWAY_UNIT.read_text().splitlines())
    for directive in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/airq-gateway",  # the queue (state_dir of docs/gateway.md)
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "DevicePolicy=closed",
        "DeviceAllow=char-ttyUSB rw",
        "DeviceAllow=char-ttyACM rw",
        "DeviceAllow=char-ttyAMA rw",
        "DeviceAllow=/dev/serial0 rw",
    ):
        assert directive in lines, directive
    sample = (ROOT / "gateway/sample-config.toml").read_text()
    assert '"/var/lib/airq-gateway"' in sample  # the folder the unit lets it write


def test_gateway_unit_passes_systemd_verify(tmp_path: Path) -> None:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    # the unit as installed, but with a command that exists on this machine
    unit = tmp_path / GATEWAY_UNIT.name
    unit.write_text(
        "\n".join(
            "ExecStart=/bin/true" if line.startswith("ExecStart=") else line
            for line in GATEWAY_UNIT.read_text().splitlines()
        )
        + "\n"
    )
    r = subprocess.run([exe, "verify", str(unit)], capture_output=True, text=True, cwd=tmp_path)
    # verify exits 0 on unknown keys or bad values; it says so on stderr
    assert r.returncode == 0 and str(unit) not in r.stderr, r.stderr


def test_compose_with_the_example_env_keeps_the_registry_in_its_volume(tmp_path: Path) -> None:
    """The operator's first step is `cp .env.example .env`: the ingest and the API must still
    share the registry in the `registry` volume (a relative SQLite path would give each
    container its own file inside the image)."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose not installed")
    import yaml

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRQ_", "GRAFANA_"))}
    r = subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), "--env-file",
         str(ROOT / ".env.example"), "config"],
        env={**env, "AIRQ_ADMIN_TOKEN": "z"},  # commented out in the example
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    services = yaml.safe_load(r.stdout)["services"]
    urls = {
        services[s]["environment"]["AIRQ_DATABASE_URL"] for s in ("ingest", "api", "alerts")
    }
    assert urls == {"sqlite:////data/registry.sqlite"}
