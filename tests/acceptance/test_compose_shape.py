"""What the acceptance suite runs is what docker-compose.yml deploys: same variables for each
service (only hosts, ports and paths differ), and the compose healthchecks pass against it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.compose_env import (
    ComposeVariableError,
    Localization,
    service_environment,
    substitute,
)

pytestmark = pytest.mark.services

# the services the suite runs with an environment
SERVED = ("influxdb", "ingest", "api", "alerts")


def test_substitute_follows_compose_rules() -> None:
    v = {"A": "1", "EMPTY": ""}
    assert substitute("${A:-x}-${B:-x}-${EMPTY:-x}-${EMPTY-x}-$A-$$A", v) == "1-x-x--1-$A"
    assert substitute('${C:-["http://h:3000"]}', v) == '["http://h:3000"]'
    with pytest.raises(ComposeVariableError, match="B: set it"):
        substitute("${B:?set it}", v)


def test_localize_changes_hosts_ports_and_volume_paths_only(tmp_path) -> None:
    where = Localization(hosts={"mosquitto:1883": 5555}, ports={8000: 6666})
    mounts = {"/data": tmp_path}
    url = "mqtt://u:p@mosquitto:1883"
    assert where.localize(url, mounts) == "mqtt://u:p@127.0.0.1:5555"
    db = "sqlite:////data/registry.sqlite"
    assert where.localize(db, mounts) == f"sqlite:///{tmp_path}/registry.sqlite"
    assert where.localize("/database/x", mounts) == "/database/x"
    assert where.delocalize(where.localize(db, mounts), mounts) == db
    assert where.command(["api", "--host", "0.0.0.0", "--port", "8000"]) == [
        "api", "--host", "127.0.0.1", "--port", "6666"
    ]
    assert where.localize("8000", mounts, "AIRQ_X_PORT") == "6666"
    assert where.localize("8000", mounts, "AIRQ_X_BATCH_SIZE") == "8000"
    assert where.delocalize("6666", mounts, "AIRQ_X_PORT") == "8000"


@pytest.mark.parametrize("service", SERVED)
def test_suite_passes_each_service_the_compose_environment(stack, service: str) -> None:
    """Fails when a variable is added to (or removed from) a service of docker-compose.yml and
    not to what the acceptance suite passes, or the other way round; values may differ only by
    host, port and path."""
    compose_env = service_environment(stack.compose, service)
    passed = stack.envs[service]
    assert set(passed) == set(compose_env)
    mounts = stack.where.mounts(stack.compose, service)
    for key, value in passed.items():
        assert stack.where.delocalize(value, mounts, key) == substitute(
            compose_env[key], stack.variables
        ), key


def test_services_get_nothing_else(stack) -> None:
    """The processes see no AIRQ_ variable from the machine, and no .env in their folder."""
    for name, proc in stack.procs.items():
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        keys = {e.split(b"=", 1)[0].decode() for e in environ if e}
        airq = {k for k in keys if k.startswith("AIRQ_")}
        assert airq == set(stack.envs[name]), name
    assert not (stack.root / ".env").exists()


def _healthcheck(stack, service: str) -> list[str]:
    test = stack.compose["services"][service]["healthcheck"]["test"]
    where = stack.where
    if test[0] == "CMD-SHELL":
        text = test[1].replace("$$", "$")
        for published, local in where.ports.items():
            text = text.replace(f"127.0.0.1 -p {published}", f"127.0.0.1 -p {local}")
            text = text.replace(f"127.0.0.1:{published}/", f"127.0.0.1:{local}/")
        return ["sh", "-c", text]
    args = [str(a) for a in test[1:]]
    for published, local in where.ports.items():
        args = [a.replace(f"127.0.0.1:{published}/", f"127.0.0.1:{local}/") for a in args]
    if args[0] == "python":  # our image's interpreter
        args[0] = sys.executable
    return args


@pytest.mark.parametrize("service", ["mosquitto", "influxdb", "ingest", "api", "alerts"])
def test_compose_healthchecks_pass_on_the_running_services(stack, service: str) -> None:
    args = _healthcheck(stack, service)
    tool = shlex.split(args[2])[0] if args[0] == "sh" else args[0]
    if shutil.which(tool) is None:
        package = {"mosquitto_sub": "mosquitto-clients"}.get(tool, tool)
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: apt-get install {package}")
        pytest.skip(f"{tool} not installed (apt-get install {package})")
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (args, r.stdout, r.stderr)


def test_mosquitto_healthcheck_fails_when_the_broker_is_not_there(stack) -> None:
    """The check is not a constant: on a port where no broker listens it fails."""
    if shutil.which("mosquitto_sub") is None:
        pytest.skip("mosquitto_sub not installed (apt-get install mosquitto-clients)")
    args = _healthcheck(stack, "mosquitto")
    from airq.services import free_port

    args[2] = args[2].replace(f"-p {stack.mosquitto.port}", f"-p {free_port()}")
    assert subprocess.run(args, capture_output=True, timeout=30).returncode != 0


def test_the_suite_broker_starts_like_the_compose_one(stack) -> None:
    """The compose service makes the broker's first dynamic-security file with
    ``mosquitto_ctrl dynsec init`` (admin account, password from .env) where
    deploy/mosquitto/mosquitto.conf has the plugin read it; the suite's broker is made the same
    way (airq/services.py) with the same password."""
    from airq.services import ADMIN_USER, MOSQUITTO_CONF

    svc = stack.compose["services"]["mosquitto"]
    script = " ".join(str(a) for a in svc["command"])
    conf = dict(
        line.split(None, 1) for line in MOSQUITTO_CONF.read_text().splitlines() if line.strip()
        and not line.startswith("#")
    )  # fmt: skip
    path = conf["plugin_opt_config_file"]
    assert f'mosquitto_ctrl dynsec init "$$f" {ADMIN_USER} "$$AIRQ_BROKER_ADMIN_PASSWORD"' in script
    assert f"f={path};" in script and "exec /usr/sbin/mosquitto -c" in script
    assert substitute(svc["environment"]["AIRQ_BROKER_ADMIN_PASSWORD"], stack.variables) == (
        stack.mosquitto.admin_password
    )
    admin_url = stack.envs["api"]["AIRQ_BROKER_ADMIN_URL"]
    assert admin_url == stack.mosquitto.admin_url
