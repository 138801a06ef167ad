"""Workshop subcommands of ``airq station``: ``register`` (bulk, from a participants CSV, into
the local registry or, with ``--api URL``, through the API's bulk route, all or nothing:
:mod:`airq.commands.bulk_register`),
``follow`` (latest values of one station) and ``gateway-config`` (TOML for our gateway).

Added to the ``station`` group by ``airq/commands/station.py`` via :func:`add_to`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from airq.commands.common import open_registry
from airq.commands.workshop_common import (
    add_token_args,
    station_token,
    workshop_error,
    workshop_settings,
)
from airq.errors import CliError, UsageError

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from api.registry import Registry
    from firmware_tools.follow import Follower, Update
    from firmware_tools.roster import CreateFn, Registered, RosterResult, RowProblem


def _single_row_csv(args: argparse.Namespace) -> str:
    if args.id is None or args.lat is None or args.lon is None:
        from firmware_tools.i18n import t

        raise UsageError(t("register_need_input"))
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(
        ["id", "nom", "lat", "lon", "emplacement", "position_exacte", "precision", "capteurs"]
    )
    w.writerow(
        [
            args.id,
            args.name or "",
            repr(args.lat),
            repr(args.lon),
            "intérieur" if args.indoor else "extérieur",
            "oui" if args.exact else "non",
            args.precision or "",
            " ".join(args.sensors or []),
        ]
    )
    return buf.getvalue()


def register_cmd(args: argparse.Namespace) -> int:
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import t
    from firmware_tools.ingest_check import check_platform_url
    from firmware_tools.printouts import write_labels_pdf, write_recap_csv, write_recap_pdf
    from firmware_tools.roster import decode_csv_bytes, parse_roster, register_stations

    settings = workshop_settings()
    try:  # before anything is created: the labels would carry this address home
        if check_platform_url(settings.platform_url, allow_local=args.allow_local):
            print(t("platform_local_allowed", url=settings.platform_url), file=sys.stderr)
    except WorkshopError as exc:
        raise workshop_error(exc) from None
    if args.csv:
        try:
            text = decode_csv_bytes(Path(args.csv).read_bytes())
        except OSError as exc:
            raise CliError(t("roster_unreadable", path=args.csv, why=exc.strerror)) from None
    else:
        text = _single_row_csv(args)
    out = Path(args.out or f"atelier-{datetime.now():%Y%m%d-%H%M}")
    recap_csv = out / "recap.csv"
    if not args.dry_run and recap_csv.exists():
        raise CliError(t("register_recap_exists", path=recap_csv))

    def parse(existing: list[str]) -> RosterResult:
        try:
            roster = parse_roster(text, prefix=args.prefix, existing_ids=existing)
        except WorkshopError as exc:
            raise workshop_error(exc) from None
        if roster.ignored_columns:
            print(
                t("register_ignored_columns", columns=", ".join(roster.ignored_columns)),
                file=sys.stderr,
            )
        return roster

    done: list[Registered] = []
    failed: list[RowProblem] = []
    if args.api:
        from airq.commands.bulk_register import ApiRegistrar

        with ApiRegistrar(args.api, args.admin_token) as api:
            roster = parse(api.existing_ids())
            if not roster.problems:  # all or nothing: a file with refused lines is not sent
                done, failed = api.register(roster.stations, dry_run=args.dry_run)
    else:
        reg = open_registry()
        try:
            roster = parse([s.id for s in reg.list(include_retired=True)])
            if args.dry_run:
                for s in roster.stations:
                    print(f"{s.id}\t{s.lat}\t{s.lon}\t{s.name}")
                print(t("register_dry_run", n=len(roster.stations)))
            else:
                done, failed = register_stations(roster.stations, _creator(reg))
        finally:
            reg.close()

    problems = sorted([*roster.problems, *failed], key=lambda p: p.line)
    if done:
        urls = {r.station.id: settings.station_url(r.station.id) for r in done}
        write_recap_csv(recap_csv, done, urls)
        written = [recap_csv]
        if not args.no_pdf:
            write_recap_pdf(out / "recap.pdf", done, urls, t("recap_title"))
            write_labels_pdf(out / "etiquettes.pdf", done, urls, settings.platform_url)
            written += [out / "recap.pdf", out / "etiquettes.pdf"]
        if args.gateway_configs:
            from firmware_tools.gateway_config import gateway_toml

            for r in done:
                serial = [s for s in r.station.sensors if _is_serial(s)] or ["sds011"]
                path = out / "passerelles" / f"{r.station.id}.toml"
                _write_private(
                    path,
                    gateway_toml(
                        r.station.id, r.token, settings.mqtt_url, [(s, None) for s in serial]
                    ),
                )
                written.append(path)
        print(t("register_created", n=len(done), ids=", ".join(r.station.id for r in done)))
        for path in written:
            print(t("register_wrote", path=path))
        print(t("register_tokens_once", path=recap_csv))
    if problems:
        if args.api:  # all or nothing: the whole file goes again
            from airq.i18n import t as t_cli

            print(t_cli("bulk_failed", n=len(problems)), file=sys.stderr)
        else:
            print(t("register_failed", n=len(problems)), file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    return 0


def _creator(reg: Registry) -> CreateFn:
    """``reg.add`` whose refusals are ValueErrors in the reader's language (a row problem)."""
    from airq.commands.station import add_station

    def create(
        station_id: str, lat: float, lon: float, name: str, indoor: bool, precision: int | None
    ) -> str:
        try:
            return add_station(reg, station_id, lat, lon, name, indoor, precision)
        except CliError as exc:
            raise ValueError(str(exc)) from None

    return create


def _is_serial(sensor: str) -> bool:
    from airq_core.sensors import SENSORS

    return SENSORS[sensor].protocol is not None


def _write_private(path: Path, text: str) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _when(stamp: object) -> str:
    from airq_core.readings import parse_time

    try:
        return datetime.fromtimestamp(parse_time(str(stamp))).strftime("%d/%m %H:%M")
    except (ValueError, TypeError, OverflowError):
        return "?"


def _show_hardware_event(event: dict[str, object], station: str) -> None:
    """A hardware change or a push from another station's board, for the facilitator."""
    from firmware_tools.i18n import t

    key = {"changed": "follow_hw_changed", "foreign": "follow_hw_foreign"}.get(str(event["kind"]))
    if key is not None:
        when = _when(event.get("first_seen"))
        print(t(key, when=when, station=station, chip=event.get("chip")), flush=True)


def _show_board(follower: Follower, station: str) -> None:
    """The board sending for the station, and its past hardware events."""
    from firmware_tools.i18n import t

    hardware = follower.hardware()
    if hardware is None:
        return
    events = follower.new_hardware_events(hardware)
    if hardware.get("chip"):
        print(t("follow_board", chip=hardware["chip"], since=_when(hardware.get("since"))))
    else:
        print(t("follow_no_board"))
    for event in events:
        _show_hardware_event(event, station)


def follow_cmd(args: argparse.Namespace) -> int:
    import threading

    from firmware_tools.errors import WorkshopError
    from firmware_tools.follow import Follower
    from firmware_tools.i18n import t
    from firmware_tools.sensor_check import describe_sample

    settings = workshop_settings()
    api = args.api or settings.api_url
    follower = Follower(api, args.station, lookback_s=args.lookback * 60)
    stop = threading.Event()
    shown = {"n": 0}

    def emit(update: Update) -> None:
        stamp = datetime.fromtimestamp(update.ts).strftime("%H:%M:%S")
        print(f"{stamp}  {args.station}  {describe_sample(update.as_sample())}", flush=True)
        shown["n"] += 1

    def on_state(reachable: bool, why: str) -> None:
        key = "follow_back" if reachable else "follow_lost"
        print(t(key, why=why, interval=args.interval), file=sys.stderr, flush=True)

    try:
        try:
            follower.quantities()
        except ConnectionError as exc:
            raise CliError(t("follow_lost", why=str(exc)[:120], interval=args.interval)) from None
        last = follower.last_seen or t("follow_never")
        print(t("follow_start", station=args.station, api=api, last=last), flush=True)
        _show_board(follower, args.station)
        if args.once:
            for update in follower.poll():
                emit(update)
            if not shown["n"]:
                print(t("follow_waiting"))
            return 0 if shown["n"] else 1
        print(t("follow_waiting"), flush=True)
        if args.timeout:
            threading.Timer(args.timeout, stop.set).start()
        try:
            follower.run(
                emit,
                on_state,
                stop,
                interval=args.interval,
                on_hardware=lambda e: _show_hardware_event(e, args.station),
            )
        except KeyboardInterrupt:
            stop.set()
    except WorkshopError as exc:
        raise workshop_error(exc) from None
    finally:
        stop.set()
        follower.close()
    return 0


def gateway_config_cmd(args: argparse.Namespace) -> int:
    from firmware_tools.errors import WorkshopError
    from firmware_tools.gateway_config import gateway_toml

    settings = workshop_settings()
    token, recap_sensors = station_token(args)
    specs: list[tuple[str, str | None]] = []
    for item in args.sensor or [s for s in recap_sensors if _is_serial(s)] or ["sds011"]:
        model, _, port = item.partition("=")
        specs.append((model.strip(), port.strip() or None))
    try:
        text = gateway_toml(
            args.station, token, args.mqtt_url or settings.mqtt_url, specs, interval=args.interval
        )
    except WorkshopError as exc:
        raise workshop_error(exc) from None
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        _write_private(Path(args.output), text)
    return 0


def rotate_token_cmd(args: argparse.Namespace) -> int:
    from airq.commands.common import describe_registry
    from airq.i18n import t as t_cli
    from api.broker_accounts import BrokerError
    from api.registry import RegistryError
    from firmware_tools.i18n import t

    reg = open_registry()
    try:
        token = reg.rotate_token(args.station)  # the old token refused by the broker too
    except BrokerError as exc:
        raise CliError(t_cli("broker_refused", why=exc)) from None
    except RegistryError:
        where = describe_registry(reg)
        raise CliError(t_cli("station_unknown", id=args.station, registry=where)) from None
    finally:
        reg.close()
    print(t("token_rotated", station=args.station), file=sys.stderr)
    print(token)
    return 0


def add_to(ss: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rt = ss.add_parser(
        "rotate-token",
        help="nouveau jeton pour une station (l'ancien cesse de marcher) / new station token",
    )
    rt.add_argument("station")
    rt.set_defaults(func=rotate_token_cmd)

    f = ss.add_parser(
        "follow",
        help="suivre les dernières mesures d'une station / follow a station's latest values",
    )
    f.add_argument("station", help="identifiant, ex. lens-01")
    f.add_argument("--api", help="adresse de l'API (défaut AIRQ_WORKSHOP_API_URL)")
    f.add_argument("--interval", type=float, default=10, help="secondes entre deux requêtes")
    f.add_argument(
        "--lookback",
        type=float,
        default=60,
        help="afficher d'abord les mesures des N dernières minutes (défaut 60)",
    )
    f.add_argument("--once", action="store_true", help="afficher puis quitter")
    f.add_argument("--timeout", type=float, default=0, help="arrêter après N secondes")
    f.set_defaults(func=follow_cmd)

    g = ss.add_parser(
        "gateway-config",
        help="configuration TOML de passerelle pour une station / gateway TOML for a station",
    )
    g.add_argument("station")
    add_token_args(g)
    g.add_argument(
        "--sensor", action="append", help="capteur et port, ex. sds011=/dev/ttyUSB0 (répétable)"
    )
    g.add_argument(
        "--mqtt-url",
        help="broker, ex. mqtts://mqtt.exemple.fr:8883 (défaut AIRQ_WORKSHOP_MQTT_URL)",
    )
    g.add_argument("--interval", type=float, default=145, help="secondes entre mesures")
    g.add_argument("--output", "-o", help="fichier (écrit en 600) ou - (défaut)")
    g.set_defaults(func=gateway_config_cmd)

    r = ss.add_parser(
        "register",
        help="inscrire des stations depuis un tableau de participants / bulk registration",
        description="Crée les stations d'un fichier CSV (colonnes : id;nom;lat;lon;emplacement;"
        "position_exacte;precision;capteurs;adresse;participant;contact — voir "
        "docs/workshop.md), puis "
        "écrit le récapitulatif avec les jetons et les étiquettes à imprimer.",
    )
    r.add_argument("--csv", help="fichier des participants (CSV ; ou ,)")
    r.add_argument("--prefix", default="station", help="préfixe des identifiants générés, ex. lens")
    r.add_argument("--out", help="dossier de sortie (défaut : atelier-AAAAMMJJ-HHMM)")
    r.add_argument("--dry-run", action="store_true", help="vérifier sans rien créer / check only")
    r.add_argument(
        "--api",
        metavar="URL",
        help="inscrire par l'API (tout ou rien) au lieu du registre local, ex. "
        "https://air.example.org / register through the API (all or nothing)",
    )
    r.add_argument(
        "--admin-token",
        help="jeton d'administration de l'API (sinon AIRQ_ADMIN_TOKEN) / the API's admin token",
    )
    r.add_argument("--no-pdf", action="store_true", help="sans PDF (récapitulatif CSV seulement)")
    r.add_argument(
        "--gateway-configs",
        action="store_true",
        help="écrire aussi la configuration TOML de passerelle de chaque station",
    )
    r.add_argument(
        "--allow-local",
        action="store_true",
        help="accepter une AIRQ_WORKSHOP_PLATFORM_URL locale (127.0.0.1, localhost) : essai "
        "sur cette machine, étiquettes à ne pas distribuer / accept a loopback platform URL",
    )
    one = r.add_argument_group("une seule station / a single station")
    one.add_argument("--id")
    one.add_argument("--lat", type=float)
    one.add_argument("--lon", type=float)
    one.add_argument("--name")
    one.add_argument("--indoor", action="store_true")
    one.add_argument(
        "--exact",
        action="store_true",
        help="position exacte publiée (avec l'accord du participant)",
    )
    one.add_argument(
        "--precision",
        metavar="N",
        help="décimales de la position publiée, 2 à 5 (plus de 3 : avec --exact) / decimals "
        "of the published location",
    )
    one.add_argument("--sensors", nargs="*", help="capteurs installés, ex. sds011 bme280")
    r.set_defaults(func=register_cmd)
