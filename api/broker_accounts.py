"""Broker accounts kept from the station registry, on Mosquitto's dynamic-security plugin.

The registry is the single source of truth for who may publish: adding a station, rotating
its token and retiring it are sent to the broker as dynamic-security commands (JSON published
on ``$CONTROL/dynamic-security/v1`` by an admin account) in the same step as the registry
change, so they take effect within a second, with no password file and no reload. What the
broker holds (Mosquitto 2.0.11, ``plugins/dynamic-security/``):

- one client per station: username = station id, password = the station's token, **client id
  bound to the station id** (a connection with any other client id is refused before it can
  take over anyone's session), member of the group :data:`STATIONS_GROUP`, with a role of its
  own (:func:`station_role`) allowing to publish its readings and status only (2.0.11 has no
  ``%u``/``%c`` substitution in role ACLs, hence one role per station);
- the service accounts :data:`INGEST_USER`, :data:`API_USER` and :data:`ALERTS_USER` with the
  roles of
  :data:`SERVICE_ACLS`; they are never in :data:`STATIONS_GROUP`, and nothing here deletes a
  client outside that group, so no registry operation can remove them;
- the admin account :data:`ADMIN_USER`, made by ``mosquitto_ctrl dynsec init`` before the
  broker's first start (docker-compose.yml, :class:`airq.services.Mosquitto`).

A broker that is stopped can instead be given all of it at once in its file
(:func:`first_file`, ``airq broker init``): what the commands would leave, written in seconds
for a whole fleet where the commands take tens of minutes (docs/api.md, "Bulk registration").

``deleteClient`` (retirement) and ``setClientPassword`` (rotation) make the broker close the
connections open with that username (``mosquitto_kick_client_by_username``).

Passwords set by command are hashed by the broker with PBKDF2-HMAC-SHA512, 101 iterations and
a 12-byte salt (``PW_DEFAULT_ITERATIONS`` in 2.0.11, not configurable per command); a config
file may carry other iteration counts, and the registry's own hashes (same format) are written
as they are by :func:`with_users`. Station tokens are 192 random bits, not passwords a
person chose: no iteration count changes the cost of guessing one (2^191 tries on average),
so the broker keeps its default and a reconnect costs a fraction of a millisecond
(docs/operations.md, "Broker accounts").

Errors: :class:`BrokerError` (the broker was not reached, or refused a command); the message
says what to do.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import select
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from airq_core.wire import STATION_ID_RE

__all__ = [
    "ADMIN_USER",
    "ALERTS_USER",
    "API_USER",
    "INGEST_USER",
    "STATIONS_GROUP",
    "BrokerAccounts",
    "BrokerAdminSettings",
    "BrokerError",
    "DynsecClient",
    "StartupSync",
    "StationAccounts",
    "SyncReport",
    "dynsec_init",
    "first_file",
    "hash_fields",
    "station_role",
    "with_users",
]

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

ADMIN_USER = "airq-admin"
INGEST_USER = "airq-ingest"
API_USER = "airq-api"
ALERTS_USER = "airq-alerts"
STATIONS_GROUP = "airq-stations"


def _acl(acltype: str, topic: str) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": True}


SERVICE_ACLS: dict[str, list[dict[str, Any]]] = {
    # the ingest reads every station's readings and status (a shared group too)
    INGEST_USER: [
        _acl("subscribePattern", "airq/v1/+/readings"),
        _acl("subscribePattern", "airq/v1/+/status"),
        _acl("subscribePattern", "$share/+/airq/v1/+/readings"),
        _acl("subscribePattern", "$share/+/airq/v1/+/status"),
    ],
    # the API forwards readings received over HTTP (airrohr boards, HTTP batches)
    API_USER: [_acl("publishClientSend", "airq/v1/+/readings")],
    # the alerts service reads the readings (replicas split them in a shared group)
    ALERTS_USER: [
        _acl("subscribePattern", "airq/v1/+/readings"),
        _acl("subscribePattern", "$share/+/airq/v1/+/readings"),
    ],
}
"""Service account -> ACLs of its role (the role has the account's name)."""


def station_role(station_id: str) -> tuple[str, list[dict[str, Any]]]:
    """(role name, ACLs) of one station: publish its readings and status, read its status."""
    base = f"airq/v1/{station_id}"
    return f"station-{station_id}", [
        _acl("publishClientSend", f"{base}/readings"),
        _acl("publishClientSend", f"{base}/status"),
        _acl("subscribeLiteral", f"{base}/status"),
    ]


class BrokerError(RuntimeError):
    """The broker could not be reached or refused an account change: nothing was changed in
    the registry; check that Mosquitto runs and AIRQ_BROKER_ADMIN_URL, then try again."""


class StationAccounts(Protocol):
    """What the registry calls when a station's right to publish changes (see
    :class:`api.registry.Registry`); each call raises :class:`BrokerError` when not done."""

    def create_station(self, station_id: str, token: str) -> None: ...

    def set_station_token(self, station_id: str, token: str) -> None: ...

    def remove_station(self, station_id: str) -> None: ...

    def create_stations(self, accounts: Iterable[tuple[str, str]]) -> None: ...

    def remove_stations(self, station_ids: Iterable[str]) -> None: ...


def hash_fields(mosquitto_hash: str) -> dict[str, Any]:
    """The ``password``/``salt``/``iterations`` fields of a dynamic-security client from a
    Mosquitto PBKDF2 hash (``$7$iterations$salt$digest``, as :func:`api.registry.hash_token`
    and ``mosquitto_passwd`` write them). Raises ValueError for anything else."""
    parts = mosquitto_hash.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7":
        raise ValueError("not a Mosquitto PBKDF2-SHA512 hash ($7$...)")
    iterations = int(parts[2])
    salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    if iterations < 1 or len(salt) != 12 or len(digest) != 64:
        raise ValueError("PBKDF2 hash with a salt other than 12 bytes or a digest of another size")
    return {"password": parts[4], "salt": parts[3], "iterations": iterations}


def with_users(config: Mapping[str, Any], users: Mapping[str, str]) -> dict[str, Any]:
    """A broker's first dynamic-security file: ``config`` (what ``mosquitto_ctrl dynsec init
    FILE airq-admin PASSWORD`` writes, the admin account) with the service roles, the stations
    group and ``users`` (username -> Mosquitto PBKDF2 hash) added: :data:`SERVICE_ACLS`
    accounts get their role, every other username is a station (bound client id, own role,
    stations group). The offline twin of :meth:`BrokerAccounts.sync`, for a broker not
    started yet; the broker rewrites the file after each command."""
    out: dict[str, Any] = json.loads(json.dumps(config))
    clients: list[dict[str, Any]] = out.setdefault("clients", [])
    roles: list[dict[str, Any]] = out.setdefault("roles", [])
    groups: list[dict[str, Any]] = out.setdefault("groups", [])
    taken = {c.get("username") for c in clients}
    for user in sorted(SERVICE_ACLS):
        roles.append({"rolename": user, "acls": SERVICE_ACLS[user]})
    members = []
    for user, hashed in sorted(users.items()):
        if user in taken:
            raise ValueError(f"{user} is already an account of the broker (its admin)")
        if user in SERVICE_ACLS:
            clients.append({"username": user, **hash_fields(hashed), "roles": [{"rolename": user}]})
            continue
        role, acls = station_role(user)
        roles.append({"rolename": role, "acls": acls})
        clients.append(
            {
                "username": user,
                "clientid": user,
                **hash_fields(hashed),
                "roles": [{"rolename": role}],
                "groups": [{"groupname": STATIONS_GROUP}],
            }
        )
        members.append({"username": user})
    groups.append({"groupname": STATIONS_GROUP, "clients": members, "roles": []})
    return out


ADMIN_ROLE = "admin"
ADMIN_ACLS: list[dict[str, Any]] = [
    _acl("publishClientSend", "$CONTROL/dynamic-security/#"),
    _acl("publishClientReceive", "$CONTROL/dynamic-security/#"),
    _acl("subscribePattern", "$CONTROL/dynamic-security/#"),
    _acl("publishClientReceive", "$SYS/#"),
    _acl("subscribePattern", "$SYS/#"),
    _acl("publishClientReceive", "#"),
    _acl("subscribePattern", "#"),
    _acl("unsubscribePattern", "#"),
]
"""The admin role as ``mosquitto_ctrl dynsec init`` makes it (2.0.11)."""
DEFAULT_ACL_ACCESS = {
    "publishClientSend": False,
    "publishClientReceive": True,
    "subscribe": False,
    "unsubscribe": True,
}


def dynsec_init(admin_hash: str, admin_user: str = ADMIN_USER) -> dict[str, Any]:
    """What ``mosquitto_ctrl dynsec init FILE airq-admin PASSWORD`` writes (the deployment's
    first file, docker-compose.yml), from the password's Mosquitto hash: the admin account, its
    role, the default ACL access. Made here so that ``airq broker init`` needs no
    ``mosquitto_ctrl`` (tests/broker/test_broker_init.py compares it with the tool's)."""
    return {
        "clients": [
            {
                "username": admin_user,
                "textName": "Dynsec admin user",
                **hash_fields(admin_hash),
                "roles": [{"rolename": ADMIN_ROLE}],
            }
        ],
        "roles": [{"rolename": ADMIN_ROLE, "acls": [dict(a) for a in ADMIN_ACLS]}],
        "defaultACLAccess": dict(DEFAULT_ACL_ACCESS),
    }


def first_file(
    admin_user: str,
    admin_password: str,
    services: Mapping[str, str],
    stations: Mapping[str, str],
) -> dict[str, Any]:
    """The dynamic-security file of a broker not started yet that holds what the live path
    would leave on it (``mosquitto_ctrl dynsec init``, then :meth:`BrokerAccounts.sync` at the
    API's start-up, then every station added by command): the admin account, the service
    accounts of ``services`` (username -> password, :meth:`BrokerAdminSettings.services`),
    every station of ``stations`` (id -> the registry's hash, :meth:`Registry.mosquitto_users
    <api.registry.Registry.mosquitto_users>`). Passwords are hashed as the broker hashes
    them (PBKDF2-SHA512, 101 iterations). ValueError for a station id that is not one, a
    service that is not one of :data:`SERVICE_ACLS`, or a hash of another format."""
    from api.registry import hash_token

    for user in services:
        if user not in SERVICE_ACLS:
            raise ValueError(f"{user[:64]!r} is not a service account")
    for sid, hashed in stations.items():  # never a service's or the admin's name
        if not STATION_ID_RE.fullmatch(sid) or sid.startswith("airq-"):
            raise ValueError(f"{sid[:64]!r} is not a station id")
        try:
            hash_fields(hashed)
        except ValueError as exc:
            raise ValueError(f"station {sid}: {exc}") from None
    users = {**{u: hash_token(p) for u, p in services.items()}, **stations}
    return with_users(dynsec_init(hash_token(admin_password), admin_user), users)


# --------------------------------------------------------------------------- the connection


@dataclass(frozen=True)
class AdminUrl:
    host: str
    port: int
    username: str
    password: str
    tls: bool

    @classmethod
    def parse(cls, url: str) -> AdminUrl:
        """``mqtt://airq-admin:PASSWORD@host:1883`` (``mqtts://`` for TLS); ValueError names
        what is missing, never the password."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError("the broker admin URL must start with mqtt:// or mqtts://")
        if not parts.username or not parts.password or not parts.hostname:
            raise ValueError("the broker admin URL needs user, password and host")
        tls = parts.scheme == "mqtts"
        return cls(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            unquote(parts.username),
            unquote(parts.password),
            tls,
        )


class DynsecClient:
    """Sends dynamic-security commands as the admin account and returns the broker's answers.

    One short MQTT connection per :meth:`run` (connect, subscribe to the responses, publish
    the commands, wait for the answer, disconnect): account changes are rare, and nothing is
    left open between them. Raises :class:`BrokerError` when the broker is not reached or
    refuses the admin login within ``timeout`` seconds."""

    def __init__(self, url: str, ca_file: str | None = None, timeout: float = 5.0) -> None:
        self.url = AdminUrl.parse(url)
        self.ca_file = ca_file
        self.timeout = timeout

    def run(
        self, commands: list[dict[str, Any]], timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """One answer per command, in order; an answer holding ``error`` was refused.
        ``timeout``: seconds to wait for the answers (default :attr:`timeout`)."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        u = self.url
        where = f"mqtt{'s' if u.tls else ''}://{u.host}:{u.port}"
        tag = secrets.token_hex(6)
        cmds = [{**c, "correlationData": f"{tag}-{i}"} for i, c in enumerate(commands)]
        answers: dict[str, dict[str, Any]] = {}
        state: dict[str, Any] = {}
        done = threading.Event()

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{ADMIN_USER}-{tag}", clean_session=True
        )
        client.username_pw_set(u.username, u.password)
        if u.tls:
            client.tls_set_context(ssl.create_default_context(cafile=self.ca_file))

        def on_connect(c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
            if rc.is_failure:
                state["refused"] = str(rc)
                done.set()
                return
            c.subscribe(RESPONSE_TOPIC, qos=1)

        def on_subscribe(c: mqtt.Client, _u: object, _m: object, codes: Any, _p: object) -> None:
            if any(code.is_failure for code in codes):
                state["refused"] = "subscription to the dynamic-security responses refused"
                done.set()
                return
            c.publish(CONTROL_TOPIC, json.dumps({"commands": cmds}), qos=1)

        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            try:
                body = json.loads(msg.payload)
                for answer in body.get("responses", []):
                    key = answer.get("correlationData")
                    if isinstance(key, str) and key.startswith(tag):
                        answers[key] = answer
            except (ValueError, AttributeError):
                return
            if len(answers) == len(cmds):
                done.set()

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        try:
            client.connect(u.host, u.port, keepalive=30)
        except OSError as exc:
            raise BrokerError(f"broker {where} not reachable ({exc}): {_WHAT_TO_DO}") from None
        # paho's "external loop" (select on its socket): no helper thread, and no wake-up
        # socket pair left for the garbage collector to close
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        try:
            while not done.is_set() and time.monotonic() < deadline:
                if not self._step(client):
                    state.setdefault("refused", "connection closed by the broker")
                    break
        finally:
            client.disconnect()  # written at once; paho closes its socket after it
            client.on_connect = client.on_subscribe = client.on_message = None
        if "refused" in state:
            raise BrokerError(
                f"broker {where} refused the admin account {u.username!r} "
                f"({state['refused']}): check AIRQ_BROKER_ADMIN_URL"
            )
        if len(answers) != len(cmds):
            raise BrokerError(
                f"broker {where} did not answer the account change within "
                f"{wait:.0f} s: is its dynamic-security plugin loaded? {_WHAT_TO_DO}"
            )
        return [answers[c["correlationData"]] for c in cmds]

    @staticmethod
    def _step(client: Any, timeout: float = 0.05) -> bool:
        """One turn of network traffic; False once the connection is gone."""
        import paho.mqtt.client as mqtt

        sock = client.socket()
        if sock is None:
            return False
        writing = [sock] if client.want_write() else []
        readable, writable, _ = select.select([sock], writing, [], timeout)
        ok = mqtt.MQTT_ERR_SUCCESS
        if writable and client.loop_write() != ok:
            return False
        if readable and client.loop_read() != ok:
            return False
        return bool(client.loop_misc() == ok)


_WHAT_TO_DO = "nothing was changed; start Mosquitto (docs/operations.md) and try again"

BATCH_STATIONS = 250
"""Stations whose account commands go in one publish (:meth:`BrokerAccounts.create_stations`)."""

SECONDS_PER_COMMAND = 0.5
"""Allowance per command when waiting for a batch's answers: a broker holding 13 000 stations
takes about 0.12 s per command (it rewrites its whole file after each one)."""


# --------------------------------------------------------------------------- the accounts


def _ok(answer: Mapping[str, Any], *tolerated: str) -> bool:
    """True when the command was done, or refused for one of the ``tolerated`` reasons."""
    error = answer.get("error")
    return error is None or error in tolerated


def _check(answers: Iterable[Mapping[str, Any]], *tolerated: str) -> None:
    for a in answers:
        if not _ok(a, *tolerated):
            raise BrokerError(f"the broker refused {a.get('command')}: {a.get('error')}")


@dataclass
class SyncReport:
    """What :meth:`BrokerAccounts.sync` did (station ids and usernames)."""

    created: list[str] = field(default_factory=list)  # service accounts created
    bound: list[str] = field(default_factory=list)  # stations given their role/client id
    removed: list[str] = field(default_factory=list)  # retired or unknown stations removed
    missing: list[str] = field(default_factory=list)  # active stations the broker lacks

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "created": self.created,
            "bound": self.bound,
            "removed": self.removed,
            "missing": self.missing,
        }


class BrokerAccounts:
    """The station and service accounts of the broker, changed by dynamic-security commands
    (an implementation of :class:`StationAccounts`)."""

    def __init__(self, client: DynsecClient) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str, ca_file: str | None = None) -> BrokerAccounts:
        return cls(DynsecClient(url, ca_file))

    @staticmethod
    def _station_id(station_id: str) -> str:
        # never an account outside the stations' namespace (services are airq-*)
        if not STATION_ID_RE.fullmatch(station_id) or station_id.startswith("airq-"):
            raise BrokerError(f"{station_id[:64]!r} is not a station id")
        return station_id

    def _create_commands(self, station_id: str, token: str) -> list[dict[str, Any]]:
        role, acls = station_role(station_id)
        return [
            {"command": "createGroup", "groupname": STATIONS_GROUP},
            {"command": "createRole", "rolename": role, "acls": acls},
            {
                "command": "createClient",
                "username": station_id,
                "password": token,
                "clientid": station_id,
                "roles": [{"rolename": role}],
                "groups": [{"groupname": STATIONS_GROUP}],
            },
        ]

    @staticmethod
    def _rebind_commands(station_id: str, client: Mapping[str, Any]) -> list[dict[str, Any]]:
        """What the account ``client`` (as listClients/getClient show it) lacks of a station's:
        its bound client id, its role, its group."""
        role, acls = station_role(station_id)
        roles = {r.get("rolename") for r in client.get("roles", [])}
        groups = {g.get("groupname") for g in client.get("groups", [])}
        cmds: list[dict[str, Any]] = []
        if client.get("clientid") != station_id:
            cmds.append({"command": "setClientId", "username": station_id, "clientid": station_id})
        if role not in roles:
            cmds.append({"command": "createRole", "rolename": role, "acls": acls})
            cmds.append({"command": "addClientRole", "username": station_id, "rolename": role})
        if STATIONS_GROUP not in groups:
            cmds.append(
                {"command": "addGroupClient", "groupname": STATIONS_GROUP, "username": station_id}
            )
        return cmds

    def create_station(self, station_id: str, token: str) -> None:
        """The station may publish with ``token`` as client id ``station_id`` (an account left
        by an earlier attempt gets the new token)."""
        self._station_id(station_id)
        answers = self.client.run(self._create_commands(station_id, token))
        _check(answers[:2], "Group already exists", "Role already exists")
        if _ok(answers[2]):
            return
        if answers[2].get("error") != "Client already exists":
            _check(answers[2:])
        self._set_password(station_id, token)
        (got,) = self.client.run([{"command": "getClient", "username": station_id}])
        _check([got])
        cmds = self._rebind_commands(station_id, got.get("data", {}).get("client", {}))
        if cmds:
            _check(self.client.run(cmds), "Role already exists")

    def create_stations(self, accounts: Iterable[tuple[str, str]]) -> None:
        """:meth:`create_station` for many (station id, token) pairs, :data:`BATCH_STATIONS`
        stations per publish (the answers of one publish come back together). Raises
        :class:`BrokerError` at the first refused batch: the accounts of earlier batches stay,
        the caller removes them (:meth:`remove_stations`). Mosquitto 2.0 rewrites its whole
        file after each command, so a command costs about 9 µs per station the broker already
        holds (docs/api.md, "Bulk registration"); the wait for a batch grows with it."""
        pairs = [(self._station_id(sid), token) for sid, token in accounts]
        if not pairs:
            return
        _check(
            self.client.run([{"command": "createGroup", "groupname": STATIONS_GROUP}]),
            "Group already exists",
        )
        for i in range(0, len(pairs), BATCH_STATIONS):
            chunk = pairs[i : i + BATCH_STATIONS]
            cmds = [c for sid, token in chunk for c in self._create_commands(sid, token)[1:]]
            answers = self.client.run(cmds, timeout=self._batch_timeout(len(cmds)))
            for (sid, token), role, client in zip(chunk, answers[::2], answers[1::2], strict=True):
                _check([role], "Role already exists")
                if client.get("error") == "Client already exists":  # left by an earlier attempt
                    self.create_station(sid, token)
                else:
                    _check([client])

    def remove_stations(self, station_ids: Iterable[str]) -> None:
        """:meth:`remove_station` for many stations, :data:`BATCH_STATIONS` per publish."""
        ids = [self._station_id(s) for s in station_ids]
        for i in range(0, len(ids), BATCH_STATIONS):
            cmds: list[dict[str, Any]] = []
            for sid in ids[i : i + BATCH_STATIONS]:
                cmds.append({"command": "deleteClient", "username": sid})
                cmds.append({"command": "deleteRole", "rolename": station_role(sid)[0]})
            answers = self.client.run(cmds, timeout=self._batch_timeout(len(cmds)))
            _check(answers, "Client not found", "Role not found")

    def _batch_timeout(self, n_commands: int) -> float:
        # the broker answers a publish once every command in it is done
        return self.client.timeout + SECONDS_PER_COMMAND * n_commands

    def _set_password(self, station_id: str, token: str) -> bool:
        (answer,) = self.client.run(
            [{"command": "setClientPassword", "username": station_id, "password": token}]
        )
        if answer.get("error") == "Client not found":
            return False
        _check([answer])
        return True

    def set_station_token(self, station_id: str, token: str) -> None:
        """Only ``token`` works from now on; connections open with the old one are closed."""
        self._station_id(station_id)
        if not self._set_password(station_id, token):
            self.create_station(station_id, token)

    def remove_station(self, station_id: str) -> None:
        """The station's account and role are deleted; its open connection is closed."""
        self._station_id(station_id)
        role, _ = station_role(station_id)
        _check(
            self.client.run(
                [
                    {"command": "deleteClient", "username": station_id},
                    {"command": "deleteRole", "rolename": role},
                ]
            ),
            "Client not found",
            "Role not found",
        )

    def list_clients(self) -> list[dict[str, Any]]:
        (answer,) = self.client.run([{"command": "listClients", "verbose": True}])
        _check([answer])
        clients: list[dict[str, Any]] = answer.get("data", {}).get("clients", [])
        return clients

    def sync(self, active: Iterable[str], services: Mapping[str, str] | None = None) -> SyncReport:
        """Make the broker match the registry (idempotent; at start-up, after an outage).

        ``active``: ids of the stations in service that publish (our own stations). Service
        roles and the stations group are (re)created; the service accounts of ``services``
        (username -> password) are created when missing, never changed nor removed; station
        accounts get their role and bound client id; accounts of the stations group that are
        not in ``active`` (retired, deleted) are removed, their connections closed. Active
        stations without an account are reported in ``missing``: the broker holds only their
        token's hash, so give them a new token (``airq station rotate-token``) or rebuild the
        broker's file while it is stopped (``airq broker init``)."""
        report = SyncReport()
        wanted = {self._station_id(s) for s in active}
        setup: list[dict[str, Any]] = [{"command": "createGroup", "groupname": STATIONS_GROUP}]
        for user, acls in SERVICE_ACLS.items():
            setup.append({"command": "createRole", "rolename": user, "acls": acls})
        _check(self.client.run(setup), "Group already exists", "Role already exists")
        clients = {c["username"]: c for c in self.list_clients() if "username" in c}
        for user, password in (services or {}).items():
            if user in SERVICE_ACLS and user not in clients:
                cmd = {
                    "command": "createClient",
                    "username": user,
                    "password": password,
                    "roles": [{"rolename": user}],
                }
                _check(self.client.run([cmd]))
                report.created.append(user)
        for name, c in sorted(clients.items()):
            groups = {g.get("groupname") for g in c.get("groups", [])}
            if STATIONS_GROUP in groups and name not in wanted:
                self.remove_station(name)
                report.removed.append(name)
        for sid in sorted(wanted):
            account = clients.get(sid)
            if account is None:
                report.missing.append(sid)
                continue
            cmds = self._rebind_commands(sid, account)
            if cmds:
                _check(self.client.run(cmds), "Role already exists")
                report.bound.append(sid)
        return report


# --------------------------------------------------------------------------- settings, start-up


class BrokerAdminSettings(BaseSettings):
    """Where the API and ``airq`` send account changes (``AIRQ_BROKER_ADMIN_URL``, unset: the
    registry changes alone), and the service accounts' passwords that ``sync`` creates when
    the broker lacks them (``AIRQ_INGEST_MQTT_PASSWORD``, ``AIRQ_API_MQTT_PASSWORD``, and the
    account of ``AIRQ_MQTT_URL`` when it is a service account)."""

    model_config = SettingsConfigDict(env_prefix="AIRQ_", env_file=".env", extra="ignore")

    broker_admin_url: SecretStr | None = None
    mqtt_ca_file: str | None = None
    mqtt_url: SecretStr | None = None
    ingest_mqtt_password: SecretStr | None = None
    api_mqtt_password: SecretStr | None = None
    alerts_mqtt_password: SecretStr | None = None

    @field_validator("broker_admin_url")
    @classmethod
    def _admin_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value():
            try:
                AdminUrl.parse(v.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"AIRQ_BROKER_ADMIN_URL: {exc}") from None
        return v

    def accounts(self) -> BrokerAccounts | None:
        if self.broker_admin_url is None or not self.broker_admin_url.get_secret_value():
            return None
        return BrokerAccounts.from_url(self.broker_admin_url.get_secret_value(), self.mqtt_ca_file)

    def services(self) -> dict[str, str]:
        """Service account -> password, as far as these settings know them."""
        out: dict[str, str] = {}
        if self.mqtt_url is not None:
            parts = urlsplit(self.mqtt_url.get_secret_value())
            user = unquote(parts.username or "")
            if user in SERVICE_ACLS and parts.password:
                out[user] = unquote(parts.password)
        for user, secret in ((INGEST_USER, self.ingest_mqtt_password),
                             (API_USER, self.api_mqtt_password),
                             (ALERTS_USER, self.alerts_mqtt_password)):  # fmt: skip
            if secret is not None and secret.get_secret_value():
                out[user] = secret.get_secret_value()
        return out


class StartupSync:
    """:meth:`BrokerAccounts.sync` in a thread until it succeeds: at the API's start-up the
    broker may not be up yet. A failure is logged once (then retried with capped exponential
    backoff), the success once with what was changed."""

    def __init__(
        self,
        accounts: BrokerAccounts,
        active: Callable[[], Iterable[str]],
        services: Mapping[str, str],
        max_delay: float = 30.0,
    ) -> None:
        self.accounts = accounts
        self.active = active
        self.services = dict(services)
        self.max_delay = max_delay
        self.report: SyncReport | None = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-sync", daemon=True)

    def start(self) -> StartupSync:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        delay, failing = 0.5, False
        while not self._stop.is_set():
            try:
                r = self.accounts.sync(self.active(), self.services)
            except Exception as exc:  # the registry or the broker: retried, logged once
                if not failing:
                    log.warning("broker accounts not synchronised yet (%s); retrying", exc)
                    failing = True
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_delay)
                continue
            self.report = r
            log.info(
                "broker accounts synchronised with the registry: %d service account(s) "
                "created, %d station(s) rebound, %d removed, %d without an account%s",
                len(r.created),
                len(r.bound),
                len(r.removed),
                len(r.missing),
                f" (give them a new token: {', '.join(r.missing[:20])})" if r.missing else "",
            )
            self.done.set()
            return
