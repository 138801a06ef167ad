"""Start real Mosquitto and InfluxDB 1.x processes on free local ports, in a folder of ours.

Used by the local stack (``airq stack``) and by the test fixtures, so that what the demo runs
is what the tests run; the brokers run the deployment's configuration
(``deploy/mosquitto/mosquitto.conf``) with only the listeners, the file paths and the user
changed, and its dynamic-security plugin holds the accounts and ACLs
(:mod:`api.broker_accounts`), changed live by the registry.
"""

from __future__ import annotations

import getpass
import glob
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from api.broker_accounts import BrokerAccounts

log = logging.getLogger(__name__)

# the service accounts and the admin account of the broker (api/broker_accounts.py)
INGEST_USER = "airq-ingest"
API_USER = "airq-api"
ALERTS_USER = "airq-alerts"
ADMIN_USER = "airq-admin"

# The broker's configuration is the deployment's (deploy/mosquitto/, mounted by
# docker-compose.yml): every broker started here runs it, with only the listeners, the file
# paths and the user changed (see :func:`mosquitto_config`).
DEPLOY_DIR = Path(__file__).resolve().parents[1] / "deploy"
MOSQUITTO_CONF = DEPLOY_DIR / "mosquitto" / "mosquitto.conf"
# directives of the deployment's mosquitto.conf whose value is a path of the container
_PATH_DIRECTIVES = (
    "plugin",
    "plugin_opt_config_file",
    "persistence_location",
    "password_file",
    "acl_file",
)
# where Debian (and the eclipse-mosquitto image) put the dynamic-security plugin
_DYNSEC_PLUGIN = (
    "/usr/lib/*/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)

# InfluxDB settings of the deployment, as influxd's own environment overrides: the influxdb
# service of docker-compose.yml sets exactly these (tests/project/test_layout.py checks it),
# and every influxd started here gets them on top of its local folders and ports.
INFLUXDB_ENV = {
    "INFLUXDB_REPORTING_DISABLED": "true",
    "INFLUXDB_HTTP_LOG_ENABLED": "false",
    "INFLUXDB_DATA_QUERY_LOG_ENABLED": "false",
    # readings of a whole outage replayed by the ingest, `airq import` batches
    "INFLUXDB_HTTP_MAX_BODY_SIZE": "50000000",
    # no _internal database growing beside the readings
    "INFLUXDB_MONITOR_STORE_ENABLED": "false",
    # aggregates are computed by the ingest (docs/ingest.md), never by continuous queries
    "INFLUXDB_CONTINUOUS_QUERIES_ENABLED": "false",
}


class ServiceError(RuntimeError):
    """A service binary is missing or did not start; the message says how to fix it."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def find_binary(name: str, debian_package: str) -> str:
    sbin = Path("/usr/sbin") / name
    path = shutil.which(name) or (str(sbin) if sbin.exists() else None)
    if not path:
        raise ServiceError(
            f"'{name}' is not installed. Install it with: sudo apt-get install {debian_package}"
        )
    return path


def _read_deploy_file(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ServiceError(
            f"cannot read {path} ({exc.strerror}): the local brokers run the deployment's "
            "configuration; run from a checkout of the repository, which has deploy/"
        ) from None


def find_dynsec_plugin() -> Path:
    """Mosquitto's dynamic-security plugin on this machine (Debian's ``mosquitto`` ships it)."""
    for pattern in _DYNSEC_PLUGIN:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    raise ServiceError(
        "Mosquitto's dynamic-security plugin (mosquitto_dynamic_security.so) is missing: "
        "install Mosquitto 2.0 or later with: sudo apt-get install mosquitto"
    )


# options of a listener that make it speak TLS (Mosquitto reads them as the last listener's)
_TLS_DIRECTIVES = (
    "certfile",
    "keyfile",
    "cafile",
    "capath",
    "tls_version",
    "ciphers",
    "ciphers_tls1.3",
    "dhparamfile",
    "require_certificate",
    "crlfile",
)


def mosquitto_config(
    deploy_conf: str,
    port: int,
    paths: dict[str, Path],
    user: str,
    tls: tuple[Path, Path] | None = None,
    tls_port: int = 0,
) -> str:
    """The deployment's ``mosquitto.conf`` text with only what differs on this machine changed.

    The deployment has two listeners: a plain one (the compose network's, for the services)
    and a TLS one (a ``listener`` followed by ``certfile``/``keyfile``: stations and gateways).
    The plain one binds ``port`` on 127.0.0.1. With ``tls`` (certfile, keyfile), the TLS one
    binds ``tls_port`` on 127.0.0.1 with those files, its other options (``tls_version``...)
    kept. Without ``tls`` the TLS listener and its options are left out: Mosquitto refuses to
    start when a certificate is missing, and most tests and the demo have none (they speak
    plain MQTT on ``port``, as the services do in the deployment).

    Each directive of ``paths`` (``plugin``, ``plugin_opt_config_file``,
    ``persistence_location``) points to this machine's file, and a ``user`` line keeps the
    broker running as ``user``. Every other line, the limits above all, is kept as it is.
    Raises :class:`ServiceError` when the file does not have exactly one plain listener and
    at most one TLS listener (a TLS one needs ``tls_port`` when ``tls`` is given), or a path
    directive that is not substituted (it would point into the container's /mosquitto)."""
    lines = deploy_conf.splitlines()
    keys = [w[0] if (w := ln.split()) and not w[0].startswith("#") else "" for ln in lines]
    # which listener each line belongs to, and which listeners speak TLS
    owner: list[int] = []
    tls_listeners: set[int] = set()
    current = -1
    for i, key in enumerate(keys):
        if key == "listener":
            current = i
        elif key in ("certfile", "keyfile") and current >= 0:
            tls_listeners.add(current)
        owner.append(current)
    plain = [i for i, k in enumerate(keys) if k == "listener" and i not in tls_listeners]
    if len(plain) != 1 or len(tls_listeners) > 1:
        raise ServiceError(
            "mosquitto.conf: expected one plain 'listener' and at most one TLS listener "
            f"(with certfile/keyfile), found {len(plain)} plain and {len(tls_listeners)} TLS"
        )
    if tls and not (tls_listeners and tls_port):
        raise ServiceError(
            "mosquitto.conf: certificates given but no TLS listener (certfile/keyfile) "
            "or no port for it (tls_port)"
        )

    out = [
        "# Generated by AirQuartiers from deploy/mosquitto/mosquitto.conf: only the listeners,",
        "# the file paths and the user differ. See docs/operations.md.",
        "# Run as the user who started us (as root, Mosquitto would otherwise switch to",
        "# 'mosquitto' and could not read our files).",
        f"user {user}",
    ]
    seen: set[str] = set()
    for line, key, listener in zip(lines, keys, owner, strict=True):
        in_tls = listener in tls_listeners
        if in_tls and not tls and (key == "listener" or key in _TLS_DIRECTIVES):
            continue  # no certificate here: the TLS listener is left out (docstring)
        if key == "listener":
            out.append(f"listener {tls_port if in_tls else port} 127.0.0.1")
        elif in_tls and key in ("certfile", "keyfile") and tls:
            out.append(f"{key} {tls[0] if key == 'certfile' else tls[1]}")
        elif key == "user":
            continue
        elif key in paths:
            seen.add(key)
            trail = "/" if key == "persistence_location" else ""
            out.append(f"{key} {paths[key]}{trail}")
        elif key in _PATH_DIRECTIVES or (key and "/mosquitto/" in line):
            raise ServiceError(f"mosquitto.conf: no local path given for {line.strip()!r}")
        else:
            out.append(line)
    missing = sorted(set(paths) - seen)
    if missing:
        raise ServiceError(f"mosquitto.conf: no {', '.join(missing)} line to point at our files")
    return "\n".join(out) + "\n"


def _wait_tcp(
    port: int, proc: subprocess.Popen[bytes], timeout: float, what: str, logf: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode}; see {logf}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServiceError(f"{what} did not open port {port} within {timeout:.0f} s; see {logf}")


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Mosquitto:
    """A Mosquitto broker running the deployment's configuration, its accounts and ACLs held by
    the dynamic-security plugin, sized so that queued QoS 1 messages of a persistent session
    are not silently dropped during an outage.

    ``users`` (username -> Mosquitto PBKDF2 hash, as the registry stores tokens) are the
    accounts the broker starts with: :data:`INGEST_USER` and :data:`API_USER` get the service
    roles, any other name is a station (client id bound to its name, its own topics only).
    Afterwards accounts change live through :attr:`accounts` (dynamic-security commands sent
    as :data:`ADMIN_USER`, whose password is :attr:`admin_password`).

    As in the deployment, the services (admin, ingest, API: :meth:`url`, :attr:`admin_url`)
    use the plain listener on :attr:`port`; with ``tls`` (certfile, keyfile) the broker also
    serves MQTT over TLS on :attr:`tls_port` (the stations' and gateways' listener,
    :meth:`tls_url`)."""

    workdir: Path
    port: int = 0
    users: dict[str, str] = field(default_factory=dict)  # username -> password hash
    proc: subprocess.Popen[bytes] | None = None
    tls: tuple[Path, Path] | None = None  # (certfile, keyfile): the TLS listener's
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    tls_port: int = 0  # the TLS listener's (a free one when 0 and ``tls`` is given)

    @property
    def dynsec_file(self) -> Path:
        """The plugin's file: written before the first start, rewritten by the broker."""
        return self.workdir / "data" / "dynamic-security.json"

    @property
    def admin_url(self) -> str:
        """The admin account on the plain listener (the api container's mosquitto:1883)."""
        return f"mqtt://{ADMIN_USER}:{self.admin_password}@127.0.0.1:{self.port}"

    @property
    def accounts(self) -> BrokerAccounts:
        """The broker's accounts, changed by dynamic-security commands (what the registry
        calls: ``registry.accounts = broker.accounts``)."""
        from api.broker_accounts import BrokerAccounts

        return BrokerAccounts.from_url(self.admin_url)

    def write_config(self) -> Path:
        """Write the deployment's configuration (deploy/mosquitto/) adapted to our folder and
        port, and, unless the broker already saved one, the dynamic-security file of
        ``users``."""
        if not self.port:
            self.port = free_port()
        if self.tls and not self.tls_port:
            self.tls_port = free_port()
        conf_text = mosquitto_config(
            _read_deploy_file(MOSQUITTO_CONF),
            self.port,
            {
                "plugin": find_dynsec_plugin(),
                "plugin_opt_config_file": self.dynsec_file,
                "persistence_location": self.workdir / "data",
            },
            getpass.getuser(),
            self.tls,
            self.tls_port,
        )
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        if not self.dynsec_file.exists():
            self.write_dynsec()
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(conf_text)
        return conf

    def write_dynsec(self) -> None:
        """The dynamic-security file as docker-compose.yml makes it (``mosquitto_ctrl dynsec
        init``: the admin account), with ``users`` added (:func:`api.broker_accounts.with_users`,
        what ``airq broker sync`` does on a running broker). Broker stopped: a running broker
        overwrites the file after each command."""
        from api.broker_accounts import with_users

        ctrl = find_binary("mosquitto_ctrl", "mosquitto")
        self.dynsec_file.parent.mkdir(parents=True, exist_ok=True)
        base = self.dynsec_file.with_name("dynamic-security.init.json")
        base.unlink(missing_ok=True)
        r = subprocess.run(
            [ctrl, "dynsec", "init", str(base), ADMIN_USER, self.admin_password],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise ServiceError(f"mosquitto_ctrl dynsec init failed: {r.stderr.strip()[:300]}")
        config = with_users(json.loads(base.read_text()), self.users)
        base.unlink()
        self.dynsec_file.write_text(json.dumps(config, indent=1))
        os.chmod(self.dynsec_file, 0o600)

    def set_users(self, users: dict[str, str]) -> None:
        """Replace every account by ``users`` (username -> hash). The broker cannot take a
        hash by command, so a running broker is stopped, given the new file and started again
        on the same port (its persistent sessions and queued messages are kept); to change
        accounts live, use :attr:`accounts`."""
        self.users = dict(users)
        running = self.proc is not None and self.proc.poll() is None
        if running:
            self.stop()
        self.write_dynsec()
        if running:
            self.start()

    def start(self, timeout: float = 15) -> Mosquitto:
        binary = find_binary("mosquitto", "mosquitto")
        conf = self.write_config()
        logf = self.workdir / "mosquitto.log"
        with open(logf, "ab") as err:
            self.proc = subprocess.Popen(
                [binary, "-c", str(conf)],
                stdout=err,  # the deployment logs to stdout (docker logs)
                stderr=err,
                start_new_session=True,
            )
        _wait_tcp(self.port, self.proc, timeout, "mosquitto", logf)
        if self.tls:
            _wait_tcp(self.tls_port, self.proc, timeout, "mosquitto (TLS)", logf)
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def url(self, user: str, password: str) -> str:
        """Plain MQTT on :attr:`port`: the services' listener."""
        return f"mqtt://{user}:{password}@127.0.0.1:{self.port}"

    def tls_url(self, user: str, password: str) -> str:
        """MQTT over TLS on :attr:`tls_port`: the stations' and gateways' listener (the
        certificate names 127.0.0.1 or localhost for clients to check it)."""
        if not self.tls:
            raise ServiceError("this broker has no TLS listener: give it tls=(certfile, keyfile)")
        return f"mqtts://{user}:{password}@127.0.0.1:{self.tls_port}"


@dataclass
class InfluxDB:
    """An InfluxDB 1.x server (``influxd``) speaking the v1 HTTP API on a local port, with
    the deployment's settings (:data:`INFLUXDB_ENV`, overridden by ``env``)."""

    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # more INFLUXDB_* overrides

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        rpc = free_port()
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            f"""\
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{self.workdir / "meta"}"
[data]
  dir = "{self.workdir / "data"}"
  wal-dir = "{self.workdir / "wal"}"
  cache-snapshot-write-cold-duration = "1m"
[http]
  bind-address = "127.0.0.1:{self.port}"
"""
        )
        return conf

    def start(self, timeout: float = 30) -> InfluxDB:
        binary = find_binary("influxd", "influxdb")
        conf = self.write_config()
        logf = self.workdir / "influxd.log"
        with open(logf, "ab") as err:
            self.proc = subprocess.Popen(
                [binary, "-config", str(conf)],
                env={**os.environ, **INFLUXDB_ENV, **self.env},
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        _wait_tcp(self.port, self.proc, timeout, "influxd", logf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServiceError(f"influxd did not answer /ping; see {logf}")

    def stop(self) -> None:
        _stop(self.proc, timeout=20)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def query(self, q: str, db: str | None = None) -> dict[str, object]:
        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        r = httpx.post(f"{self.url}/query", params=params, timeout=30)
        r.raise_for_status()
        answer: dict[str, object] = r.json()
        return answer
