"""``airq broker sync``: make the broker's accounts match the station registry.

The registry is the single source of truth for broker accounts (api/broker_accounts.py): the
API and ``airq station`` change them live, and the API reconciles them at start-up. This
command does the same by hand, e.g. after the broker was restored from a backup: service
accounts created when missing (``AIRQ_INGEST_MQTT_PASSWORD``, ``AIRQ_API_MQTT_PASSWORD``),
stations bound to their client id and role, retired or unknown stations removed (their
connections closed). Idempotent. Exit status 1 when stations in service have no account (the
broker holds only a hash of their token: give them a new one).

``--json`` prints ``{"created": [...], "bound": [...], "removed": [...], "missing": [...]}``.

``airq broker init --file /var/lib/mosquitto/dynamic-security.json``: the broker's
dynamic-security file written whole while the broker is stopped, holding what the live path
would leave on it (``mosquitto_ctrl dynsec init``, the API's start-up sync, every station added
by command): the admin account of ``AIRQ_BROKER_ADMIN_URL``, the service accounts whose
passwords the settings give (as ``sync`` creates them), every station in service with the
hash of its token kept by the registry. A broker started on it accepts the whole fleet at once
(13 000 stations: seconds, where commands on a live broker take tens of minutes, docs/api.md
"Bulk registration"). Refuses an existing file unless ``--force``; written atomically (a temp
file renamed), mode 0600.

``airq broker tls-cert --domain mqtt.example.org --out deploy/mosquitto/tls``: the broker's
certificate for its TLS listener (8883) when the operator has none from a public CA. Makes a
private CA once (``ca.crt``, ``ca.key`` in ``--ca-dir``, by default ``tls-ca`` beside
``--out``; later runs reuse it, so gateways keep trusting the broker after a renewal) and
signs a server certificate for the names given: ``fullchain.pem`` and ``privkey.pem`` in
``--out``, the names ``deploy/mosquitto/mosquitto.conf`` reads, with a copy of ``ca.crt``
for the gateways (``[mqtt] ca_file``). Uses the ``openssl`` command (no Python dependency).
Files are replaced atomically, so a running broker told to reload (SIGHUP) never reads half
a file (docs/operations.md, "MQTT over TLS").
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from airq.commands.common import broker_accounts, open_registry
from airq.errors import CliError, UsageError
from airq.i18n import t


def sync(args: argparse.Namespace) -> int:
    from api.broker_accounts import BrokerAdminSettings, BrokerError

    accounts = broker_accounts()
    if accounts is None:
        raise CliError(t("broker_not_configured"))
    reg = open_registry()
    try:
        active = reg.publishing_ids()
    finally:
        reg.close()
    try:
        report = accounts.sync(active, BrokerAdminSettings().services())
    except BrokerError as exc:
        raise CliError(t("broker_refused", why=exc)) from None
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(
            t(
                "broker_synced",
                created=len(report.created),
                bound=len(report.bound),
                removed=len(report.removed),
                missing=len(report.missing),
            )
        )
    if report.missing:
        print(t("broker_missing", ids=", ".join(report.missing)), file=sys.stderr)
        return 1
    return 0


def init(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from api.broker_accounts import AdminUrl, BrokerAdminSettings, first_file

    path = Path(args.file)
    if not args.force and path.exists():
        raise CliError(t("broker_init_exists", path=path))
    try:
        settings = BrokerAdminSettings()
    except ValidationError as exc:
        raise CliError(t("settings_invalid", why=exc)) from None
    if settings.broker_admin_url is None or not settings.broker_admin_url.get_secret_value():
        raise CliError(t("broker_not_configured"))
    admin = AdminUrl.parse(settings.broker_admin_url.get_secret_value())
    services = settings.services()
    reg = open_registry()
    try:
        stations = reg.mosquitto_users()
    finally:
        reg.close()
    try:
        config = first_file(admin.username, admin.password, services, stations)
    except ValueError as exc:
        raise CliError(t("broker_init_bad_account", why=exc)) from None
    data = json.dumps(config, indent=1).encode()
    try:
        _write_atomic(path, data, 0o600, replace=args.force)
    except FileExistsError:
        raise CliError(t("broker_init_exists", path=path)) from None
    except OSError as exc:
        raise CliError(t("broker_init_write_failed", path=path, why=exc)) from None
    print(
        t(
            "broker_init_done",
            path=path,
            stations=len(stations),
            services=", ".join(sorted(services)) or "-",
            admin=admin.username,
        )
    )
    return 0


# a DNS name: labels of letters, digits and hyphens (a wildcard first label allowed)
_DNS_NAME = re.compile(
    r"(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
    re.IGNORECASE,
)
CA_DAYS = 3650  # the private CA: gateways carry its certificate for years
CA_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = {cn}
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""
SERVER_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


def _subject_alt_names(names: list[str]) -> str:
    out = []
    for name in names:
        try:
            out.append(f"IP:{ipaddress.ip_address(name)}")
            continue
        except ValueError:
            pass
        if not _DNS_NAME.fullmatch(name):
            raise UsageError(t("broker_tls_bad_name", name=name[:80]))
        out.append(f"DNS:{name.lower()}")
    return ",".join(out)


def _openssl(what: str, *args: str) -> str:
    exe = shutil.which("openssl")
    if exe is None:
        raise CliError(t("broker_tls_no_openssl"))
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise CliError(t("broker_tls_openssl_failed", what=what, why=r.stderr.strip()[-300:]))
    return r.stdout


def _write_atomic(path: Path, data: bytes, mode: int, replace: bool = True) -> None:
    """Replace ``path`` whole (a broker reloading on SIGHUP reads the old or the new file).
    ``replace=False``: FileExistsError when ``path`` exists, even one made meanwhile."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # never over an existing file
    finally:
        Path(tmp).unlink(missing_ok=True)


def make_tls_cert(names: list[str], out: Path, ca_dir: Path, days: int = 825) -> tuple[bool, str]:
    """Sign a server certificate for ``names`` (DNS names or IP addresses, the first one is
    the subject) with the private CA of ``ca_dir``, made there first when it has none. Writes
    ``fullchain.pem`` (server certificate, then the CA's), ``privkey.pem`` (mode 0600) and
    ``ca.crt`` in ``out``. Returns (whether the CA is new, the certificate's end date).
    Raises :class:`CliError` (:class:`UsageError` for a bad name)."""
    san = _subject_alt_names(names)
    out.mkdir(parents=True, exist_ok=True)
    ca_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_crt, ca_key = ca_dir / "ca.crt", ca_dir / "ca.key"
    if ca_crt.exists() != ca_key.exists():
        raise CliError(t("broker_tls_ca_incomplete", folder=ca_dir))
    new_ca = not ca_crt.exists()
    with tempfile.TemporaryDirectory(prefix="airq-tls-") as tmp_name:
        tmp = Path(tmp_name)
        if new_ca:
            (tmp / "ca.cnf").write_text(CA_CONFIG.format(cn=f"AirQuartiers MQTT CA {names[0]}"))
            _openssl(
                "CA",
                "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-sha256",
                "-days", str(CA_DAYS), "-config", str(tmp / "ca.cnf"),
                "-keyout", str(tmp / "ca.key"), "-out", str(tmp / "ca.crt"),
            )  # fmt: skip
            _write_atomic(ca_key, (tmp / "ca.key").read_bytes(), 0o600)
            _write_atomic(ca_crt, (tmp / "ca.crt").read_bytes(), 0o644)
        (tmp / "server.ext").write_text(SERVER_EXT.format(san=san))
        _openssl(
            "server key",
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
            "-subj", f"/CN={names[0]}",
            "-keyout", str(tmp / "privkey.pem"), "-out", str(tmp / "server.csr"),
        )  # fmt: skip
        _openssl(
            "server certificate",
            "x509", "-req", "-in", str(tmp / "server.csr"), "-sha256", "-days", str(days),
            "-CA", str(ca_crt), "-CAkey", str(ca_key),
            "-set_serial", f"0x{secrets.token_hex(16)}",
            "-extfile", str(tmp / "server.ext"), "-out", str(tmp / "server.crt"),
        )  # fmt: skip
        until = _openssl("end date", "x509", "-in", str(tmp / "server.crt"), "-noout", "-enddate")
        ca_pem = ca_crt.read_bytes()
        _write_atomic(out / "privkey.pem", (tmp / "privkey.pem").read_bytes(), 0o600)
        _write_atomic(out / "fullchain.pem", (tmp / "server.crt").read_bytes() + ca_pem, 0o644)
        _write_atomic(out / "ca.crt", ca_pem, 0o644)
    return new_ca, until.strip().partition("=")[2]


def tls_cert(args: argparse.Namespace) -> int:
    out = Path(args.out)
    ca_dir = Path(args.ca_dir) if args.ca_dir else out.resolve().parent / "tls-ca"
    new_ca, until = make_tls_cert(args.domain, out, ca_dir, args.days)
    print(
        t(
            "broker_tls_done",
            names=", ".join(args.domain),
            until=until,
            cert=out / "fullchain.pem",
            keyfile=out / "privkey.pem",
            ca_state=t("broker_tls_ca_new" if new_ca else "broker_tls_ca_kept"),
            ca_dir=ca_dir,
            ca_file=out / "ca.crt",
        )
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser("broker", help="comptes du broker MQTT / MQTT broker accounts")
    bs = b.add_subparsers(dest="broker_command", required=True)
    s = bs.add_parser(
        "sync",
        help="aligner les comptes du broker sur le registre / make the broker match the registry",
    )
    s.add_argument("--json", action="store_true", help="rapport JSON / JSON report")
    s.set_defaults(func=sync)
    i = bs.add_parser(
        "init",
        help="écrire le fichier du broker arrêté depuis le registre / write the stopped "
        "broker's file from the registry",
    )
    i.add_argument(
        "--file",
        required=True,
        help="fichier dynamic-security du broker (plugin_opt_config_file), ex. "
        "/mosquitto/data/dynamic-security.json / the broker's dynamic-security file",
    )
    i.add_argument(
        "--force",
        action="store_true",
        help="remplacer un fichier existant / replace an existing file",
    )
    i.set_defaults(func=init)
    c = bs.add_parser(
        "tls-cert",
        help="certificat TLS du broker signé par une autorité privée / the broker's TLS "
        "certificate from a private CA",
    )
    c.add_argument(
        "--domain",
        action="append",
        required=True,
        help="nom (ou adresse IP) par lequel les passerelles joignent le broker, répétable / "
        "name (or IP address) the gateways reach the broker by, repeatable",
    )
    c.add_argument(
        "--out",
        required=True,
        help="dossier monté sur /mosquitto/tls, ex. deploy/mosquitto/tls / folder mounted on "
        "/mosquitto/tls",
    )
    c.add_argument(
        "--ca-dir",
        help="dossier de l'autorité privée (défaut : tls-ca à côté de --out) / the private "
        "CA's folder (default: tls-ca beside --out)",
    )
    c.add_argument("--days", type=int, default=825, help="validité / validity (default: 825)")
    c.set_defaults(func=tls_cert)
