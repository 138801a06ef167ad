"""``airq broker sync``: make the broker's accounts match the station registry.

The registry is the single source of truth for broker accounts (api/broker_accounts.py): the
API and ``airq station`` change them live, and the API reconciles them at start-up. This
command does the same by hand, e.g. after the broker was restored from a backup: service
accounts created when missing (``AIRQ_INGEST_MQTT_PASSWORD``, ``AIRQ_API_MQTT_PASSWORD``),
stations bound to their client id and role, retired or unknown stations removed (their
connections closed). Idempotent. Exit status 1 when stations in service have no account (the
broker holds only a hash of their token: give them a new one).

``--json`` prints ``{"created": [...], "bound": [...], "removed": [...], "missing": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import sys

from airq.commands.common import broker_accounts, open_registry
from airq.errors import CliError
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser("broker", help="comptes du broker MQTT / MQTT broker accounts")
    bs = b.add_subparsers(dest="broker_command", required=True)
    s = bs.add_parser(
        "sync",
        help="aligner les comptes du broker sur le registre / make the broker match the registry",
    )
    s.add_argument("--json", action="store_true", help="rapport JSON / JSON report")
    s.set_defaults(func=sync)
