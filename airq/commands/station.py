from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from airq.commands import workshop_station
from airq.errors import CliError
from airq.i18n import t


def _registry():  # type: ignore[no-untyped-def]
    from api.registry import Registry
    from api.settings import ApiSettings

    return Registry(ApiSettings().database_url)


def add(args: argparse.Namespace) -> int:
    from api.registry import RegistryError

    reg = _registry()
    try:
        token = reg.add(args.id, args.lat, args.lon, args.name or "", args.indoor)
    except RegistryError as exc:
        raise CliError(str(exc)) from None
    finally:
        reg.close()
    if not args.quiet:
        print(t("station_created", id=args.id))
    print(token)
    return 0


def list_(args: argparse.Namespace) -> int:
    reg = _registry()
    try:
        for s in reg.list(include_retired=args.all):
            retired = " (retirée / retired)" if s.retired_at else ""
            print(f"{s.id}\t{s.lat:.5f}\t{s.lon:.5f}\t{s.name}{retired}")
    finally:
        reg.close()
    return 0


def mosquitto_passwd(args: argparse.Namespace) -> int:
    """Write a Mosquitto password file: the stations (username = station id) and the service
    accounts given with --service user=password (airq-ingest, airq-api)."""
    from api.registry import hash_token

    reg = _registry()
    try:
        users = reg.mosquitto_users()
    finally:
        reg.close()
    for spec in args.service or []:
        user, sep, password = spec.partition("=")
        if not sep or not user or not password:
            raise CliError(f"--service attend utilisateur=motdepasse / expects user=password: "
                           f"{spec[:40]!r}")
        users[user] = hash_token(password)
    text = "".join(f"{u}:{h}\n" for u, h in sorted(users.items()))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        os.chmod(args.output, 0o600)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("station", help="registre des stations / station registry")
    ss = s.add_subparsers(dest="station_command", required=True)
    sa = ss.add_parser("add", help="créer une station / create a station")
    sa.add_argument("id", help="identifiant, ex. lens-01")
    sa.add_argument("--lat", type=float, required=True)
    sa.add_argument("--lon", type=float, required=True)
    sa.add_argument("--name")
    sa.add_argument("--indoor", action="store_true", help="station en intérieur / indoor")
    sa.add_argument("--quiet", action="store_true", help="n'afficher que le jeton / token only")
    sa.set_defaults(func=add)
    sl = ss.add_parser("list", help="lister / list")
    sl.add_argument("--all", action="store_true", help="avec les stations retirées")
    sl.set_defaults(func=list_)
    sm = ss.add_parser(
        "mosquitto-passwd", help="entrées du fichier de mots de passe Mosquitto / password file"
    )
    sm.add_argument("output", help="fichier ou - pour la sortie standard")
    sm.add_argument("--service", action="append", metavar="USER=PASSWORD",
                    help="compte de service (airq-ingest, airq-api)")
    sm.set_defaults(func=mosquitto_passwd)
    workshop_station.add_to(ss)
