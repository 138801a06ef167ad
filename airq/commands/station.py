"""``airq station``: the station registry (add, list, Mosquitto password file), plus the
workshop subcommands of :mod:`airq.commands.workshop_station`.

The registry is ``AIRQ_DATABASE_URL`` when set, else the one of the local stack
(:func:`airq.commands.common.default_data_dir`), so a station added here shows on the demo map.
With ``AIRQ_BROKER_ADMIN_URL`` set, adding a station, rotating its token and retiring it change
its broker account in the same step (api/broker_accounts.py); when the broker refuses or cannot
be reached, the command fails and the registry is unchanged.

``airq station list --json`` prints a JSON array, one object per station, ordered by id::

    [{"id": "lens-01", "name": "Grande Résidence", "lat": 50.449, "lon": 2.839,
      "indoor": false, "source": "airquartiers", "precision": null,
      "created_at": "2026-12-05T09:00:00+00:00", "retired_at": null}]

(times in RFC 3339, UTC; ``retired_at`` is null for a station in service; ``precision`` is
the decimals of lat/lon chosen for public outputs, null for the deployment's
``AIRQ_PUBLIC_LOCATION_DECIMALS``).

``--precision N`` (``add``, ``update``; 2 to 5) is the owner's choice of how precisely the
station's location is published; ``update --precision défaut`` goes back to the deployment's.
A precision alone moves nothing; past placements published more precisely are coarsened to
it (docs/api.md "Privacy").

``airq station update ID --lat/--lon/--indoor/--outdoor [--moved-at TIME]`` moves a station:
its current placement ends at ``--moved-at`` (default now) and a new one starts, so what it
measured before stays attributed to where it was (QPV statistics). ``--name`` alone moves
nothing. ``airq station placements ID [--json]`` lists where it has been: exact locations
(the registry is the operator's, as ``GET /v1/admin/stations``), then each as the public API
shows it, rounded at the placement's own precision (``precision`` in the JSON: for the
current one, the station's; for an earlier one, the precision it was published at).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from airq.commands import workshop_station
from airq.commands.common import describe_registry, open_registry
from airq.errors import CliError, UsageError
from airq.i18n import t

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from api.registry import Placement, Registry, Station

RESERVED_PREFIX = "airq-"
DEFAULT_WORDS = ("défaut", "defaut", "default")


def parse_precision(text: str, update: bool = False) -> int:
    """``--precision``: 2 to 5 decimals (the registry's bounds), else :class:`UsageError`."""
    from api.registry import PRECISION_MAX, PRECISION_MIN

    word = text.strip()
    if word.isascii() and word.isdigit() and PRECISION_MIN <= int(word) <= PRECISION_MAX:
        return int(word)
    key = "station_bad_precision_update" if update else "station_bad_precision"
    raise UsageError(t(key, value=text[:20], min=PRECISION_MIN, max=PRECISION_MAX))


def check_station(station_id: str, lat: float, lon: float) -> None:
    """The registry's own checks, before it is opened, with messages in the reader's language
    (:class:`UsageError`: the arguments are wrong)."""
    from airq_core.wire import STATION_ID_RE

    if not STATION_ID_RE.fullmatch(station_id):
        raise UsageError(t("station_bad_id", id=station_id[:64]))
    if station_id.startswith(RESERVED_PREFIX):
        raise UsageError(t("station_reserved_id", id=station_id))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise UsageError(t("station_bad_coords", lat=lat, lon=lon))


def add_station(
    reg: Registry,
    station_id: str,
    lat: float,
    lon: float,
    name: str = "",
    indoor: bool = False,
    precision: int | None = None,
) -> str:
    """Create a station and return its token; refusals are :class:`CliError` (or
    :class:`UsageError`) in the reader's language."""
    from api.broker_accounts import BrokerError
    from api.registry import RegistryError

    check_station(station_id, lat, lon)
    if reg.get(station_id) is not None:
        raise CliError(t("station_exists", id=station_id, registry=describe_registry(reg)))
    try:
        # and its broker account
        return reg.add(station_id, lat, lon, name, indoor, precision=precision)
    except BrokerError as exc:
        raise CliError(t("broker_refused", why=exc)) from None
    except RegistryError as exc:  # another process added it meanwhile, or a new rule
        if reg.get(station_id) is not None:
            raise CliError(
                t("station_exists", id=station_id, registry=describe_registry(reg))
            ) from None
        raise CliError(t("station_refused", id=station_id, why=exc)) from None


def add(args: argparse.Namespace) -> int:
    check_station(args.id, args.lat, args.lon)
    precision = None if args.precision is None else parse_precision(args.precision)
    reg = open_registry()
    try:
        token = add_station(
            reg, args.id, args.lat, args.lon, args.name or "", args.indoor, precision
        )
        published = reg.public_decimals if precision is None else precision
    finally:
        reg.close()
    if not args.quiet:
        print(t("station_created", id=args.id))
        print(t("station_published_at", decimals=published, metres=_metres(published)))
    print(token)
    return 0


def _metres(decimals: int) -> str:
    """The size of a rounding step in latitude, for people: 3 -> '100 m'."""
    step = 111_000 / 10**decimals
    return f"{step / 1000:.0f} km" if step >= 1000 else f"{step:.0f} m"


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:  # SQLite gives back naive datetimes; they were stored in UTC
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


def station_json(s: Station) -> dict[str, object]:
    """One station of ``airq station list --json`` (shape in the module docstring)."""
    return {
        "id": s.id,
        "name": s.name,
        "lat": s.lat,
        "lon": s.lon,
        "indoor": s.indoor,
        "source": s.source,
        "precision": s.precision,
        "created_at": _iso(s.created_at),
        "retired_at": _iso(s.retired_at),
    }


def list_(args: argparse.Namespace) -> int:
    reg = open_registry()
    try:
        found = reg.list(include_retired=args.all)
    finally:
        reg.close()
    if args.json:
        print(json.dumps([station_json(s) for s in found], ensure_ascii=False, indent=2))
        return 0
    for s in found:
        retired = f" ({t('station_retired')})" if s.retired_at else ""
        print(f"{s.id}\t{s.lat:.5f}\t{s.lon:.5f}\t{s.name}{retired}")
    return 0


def parse_moved_at(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; UTC when none is given); refused in the future."""
    try:
        when = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(t("station_bad_time", value=text[:40])) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > datetime.now(UTC):
        raise UsageError(t("station_move_future", when=when.isoformat()))
    return when


def update(args: argparse.Namespace) -> int:
    from api.registry import DEPLOYMENT_DEFAULT, RegistryError

    moved_at = parse_moved_at(args.moved_at) if args.moved_at is not None else None
    precision: int | Literal["default"] | None = None
    if args.precision is not None and args.precision.strip().lower() in DEFAULT_WORDS:
        precision = DEPLOYMENT_DEFAULT
    elif args.precision is not None:
        precision = parse_precision(args.precision, update=True)
    given = (args.name, args.lat, args.lon, args.indoor, precision)
    if all(v is None for v in given):
        raise UsageError(t("station_nothing_to_update"))
    if args.lat is not None or args.lon is not None:
        lat = 0.0 if args.lat is None else args.lat
        lon = 0.0 if args.lon is None else args.lon
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise UsageError(t("station_bad_coords", lat=args.lat, lon=args.lon))
    reg = open_registry()
    try:
        before = reg.get(args.id)
        if before is None:
            raise CliError(t("station_unknown", id=args.id, registry=describe_registry(reg)))
        history = reg.placements(args.id)
        n_before = len(history)
        if moved_at is not None and history and moved_at < history[-1].valid_from:
            raise CliError(
                t(
                    "station_move_before",
                    when=_iso(moved_at),
                    start=_iso(history[-1].valid_from),
                )
            )
        try:
            reg.update(
                args.id,
                name=args.name,
                lat=args.lat,
                lon=args.lon,
                indoor=args.indoor,
                moved_at=moved_at,
                precision=precision,
            )
        except RegistryError as exc:
            raise CliError(t("station_refused", id=args.id, why=exc)) from None
        placements = reg.placements(args.id)
    finally:
        reg.close()
    if len(placements) > n_before:
        print(t("station_moved", id=args.id, when=_iso(placements[-1].valid_from)))
    else:
        print(t("station_updated", id=args.id))
    if placements and placements[-1].precision != history[-1].precision:
        d = placements[-1].precision
        print(t("station_published_at", decimals=d, metres=_metres(d)))
    return 0


def placement_json(p: Placement) -> dict[str, object]:
    return {
        "valid_from": _iso(p.valid_from),
        "valid_to": _iso(p.valid_to),
        "lat": p.lat,
        "lon": p.lon,
        "indoor": p.indoor,
        "precision": p.precision,
    }


def placements(args: argparse.Namespace) -> int:
    reg = open_registry()
    try:
        if reg.get(args.id) is None:
            raise CliError(t("station_unknown", id=args.id, registry=describe_registry(reg)))
        found = reg.placements(args.id)
    finally:
        reg.close()
    if args.json:
        print(json.dumps([placement_json(p) for p in found], ensure_ascii=False, indent=2))
        return 0
    for p in found:
        where = t("placement_indoor") if p.indoor else t("placement_outdoor")
        until = _iso(p.valid_to) or t("placement_current")
        # exact (the registry is the operator's), then as the public API shows this
        # placement: rounded at its own precision (AIRQ_PUBLIC_LOCATION_DECIMALS when opened)
        d = p.precision
        public = t("placement_public", lat=f"{p.lat:.{d}f}", lon=f"{p.lon:.{d}f}")
        print(f"{_iso(p.valid_from)}\t{until}\t{p.lat:.5f}\t{p.lon:.5f}\t{where}\t{public}")
    return 0


def mosquitto_passwd(args: argparse.Namespace) -> int:
    """Write a Mosquitto password file: the stations (username = station id) and the service
    accounts given with --service user=password (airq-ingest, airq-api). For brokers of your
    own that use a password file; the deployment's broker takes its accounts from the
    registry live (dynamic security, ``airq broker sync``)."""
    from api.registry import hash_token

    services: dict[str, str] = {}
    for spec in args.service or []:
        user, sep, password = spec.partition("=")
        if not sep or not user or not password:
            raise UsageError(t("service_spec", spec=repr(spec[:40])))
        services[user] = password
    reg = open_registry()
    try:
        users = reg.mosquitto_users()
    finally:
        reg.close()
    users.update({user: hash_token(password) for user, password in services.items()})
    text = "".join(f"{u}:{h}\n" for u, h in sorted(users.items()))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text)
            os.chmod(args.output, 0o600)
        except OSError as exc:
            raise CliError(t("cannot_write", path=args.output, why=exc.strerror or exc)) from None
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("station", help="registre des stations / station registry")
    ss = s.add_subparsers(dest="station_command", required=True)
    sa = ss.add_parser("add", help="créer une station / create a station")
    sa.add_argument("id", help="identifiant, ex. lens-01")
    sa.add_argument("--lat", type=float, required=True)
    sa.add_argument("--lon", type=float, required=True)
    sa.add_argument("--name")
    sa.add_argument("--indoor", action="store_true", help="station en intérieur / indoor")
    sa.add_argument(
        "--precision",
        metavar="N",
        help="décimales de la position publiée, 2 (≈ 1 km) à 5 (≈ 1 m) ; défaut : celle du "
        "déploiement (AIRQ_PUBLIC_LOCATION_DECIMALS) / decimals of the published location",
    )
    sa.add_argument("--quiet", action="store_true", help="n'afficher que le jeton / token only")
    sa.set_defaults(func=add)
    sl = ss.add_parser("list", help="lister / list")
    sl.add_argument("--all", action="store_true", help="avec les stations retirées")
    sl.add_argument(
        "--json",
        action="store_true",
        help="tableau JSON (id, name, lat, lon, indoor, source, precision, created_at, "
        "retired_at) / JSON array",
    )
    sl.set_defaults(func=list_)
    su = ss.add_parser(
        "update",
        help="renommer ou déplacer une station / rename or move a station",
        description="Un nouvel emplacement (--lat/--lon, --indoor/--outdoor) ferme "
        "l'emplacement actuel à --moved-at (maintenant par défaut) : les mesures d'avant "
        "restent attribuées à l'ancien emplacement. / A new location closes the current "
        "placement at --moved-at (default now); earlier readings stay where they were taken.",
    )
    su.add_argument("id", help="identifiant, ex. lens-01")
    su.add_argument("--name")
    su.add_argument("--lat", type=float)
    su.add_argument("--lon", type=float)
    place = su.add_mutually_exclusive_group()
    place.add_argument(
        "--indoor", dest="indoor", action="store_true", default=None, help="en intérieur / indoor"
    )
    place.add_argument(
        "--outdoor", dest="indoor", action="store_false", help="en extérieur / outdoor"
    )
    su.add_argument(
        "--precision",
        metavar="N",
        help="décimales de la position publiée, 2 à 5, ou « défaut » ; ne déplace rien, "
        "les emplacements passés plus précis sont arrondis aussi / decimals of the published "
        "location (2 to 5, or 'default'); moves nothing, coarsens past placements too",
    )
    su.add_argument(
        "--moved-at",
        metavar="DATE",
        help="date du déplacement, ISO 8601 (UTC par défaut), ex. 2026-03-01T14:00Z / "
        "time of the move",
    )
    su.set_defaults(func=update)
    sp = ss.add_parser("placements", help="historique des emplacements / where a station has been")
    sp.add_argument("id", help="identifiant, ex. lens-01")
    sp.add_argument(
        "--json",
        action="store_true",
        help="tableau JSON (valid_from, valid_to, lat, lon, indoor, precision) / JSON array",
    )
    sp.set_defaults(func=placements)
    sm = ss.add_parser(
        "mosquitto-passwd",
        help="fichier de mots de passe pour un autre broker (le déploiement : airq broker "
        "sync) / password file for another broker",
    )
    sm.add_argument("output", help="fichier ou - pour la sortie standard")
    sm.add_argument(
        "--service",
        action="append",
        metavar="USER=PASSWORD",
        help="compte de service (airq-ingest, airq-api)",
    )
    sm.set_defaults(func=mosquitto_passwd)
    workshop_station.add_to(ss)
