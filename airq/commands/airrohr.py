"""``airq airrohr config``: settings that make a board on the sensor.community firmware send to
our platform (its "own API" option), applied to the board or printed step by step."""

from __future__ import annotations

import argparse
import json

from airq.commands.workshop_common import (
    add_token_args,
    station_token,
    workshop_error,
    workshop_settings,
)


def config(args: argparse.Namespace) -> int:
    from firmware_tools.airrohr import airrohr_settings, apply_settings, setup_steps
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import t
    from firmware_tools.ingest_check import check_ingest

    settings = workshop_settings()
    token, recap_sensors = station_token(args)
    sensors = args.sensors or list(recap_sensors)
    try:
        check_ingest(
            settings.ingest_host,
            settings.ingest_port,
            probe=settings.ingest_check and not args.no_ingest_check,
        )
        fields = airrohr_settings(
            args.station,
            token,
            settings,
            sensors,
            wifi_ssid=args.wifi_ssid,
            wifi_password=args.wifi_password,
            sensor_community=args.sensor_community,
        )
        if args.json:
            print(json.dumps(fields, ensure_ascii=False, indent=2))
            return 0
        if args.apply:
            auth = (args.board_user, args.board_password) if args.board_user else None
            applied = apply_settings(fields, args.apply, auth=auth)
            chip = t("airrohr_chip", chip=f"airRohr-{applied.chip_id}") if applied.chip_id else ""
            print(t("airrohr_applied", chip=chip, station=args.station, host=settings.ingest_host))
            _after_restart(args, fields, applied.home_url)
            return 0
    except WorkshopError as exc:
        raise workshop_error(exc) from None
    print(t("airrohr_steps_title", station=args.station))
    for n, step in enumerate(setup_steps(fields, args.station), 1):
        print(f"  {n}. {step}")
    return 0


def _after_restart(args: argparse.Namespace, fields: dict[str, str], home: str | None) -> None:
    """Wait for the board on the home Wi-Fi, or say how to check it got there."""
    from firmware_tools.airrohr import SETUP_WIFI_PASSWORD, wait_for_board
    from firmware_tools.i18n import t

    ssid = fields.get("wlanssid")
    if not ssid:
        print(t("airrohr_no_home_wifi", password=SETUP_WIFI_PASSWORD))
        return
    url = args.home_url or home or "http://airRohr-….local/"
    if args.wait > 0 and (args.home_url or home):
        print(t("airrohr_waiting", ssid=ssid, url=url, seconds=f"{args.wait:g}"), flush=True)
        if wait_for_board(url, args.wait):
            print(t("airrohr_back", url=url, station=args.station))
            return
        print(t("airrohr_not_back", url=url, seconds=f"{args.wait:g}"))
    print(t("airrohr_how_to_check", ssid=ssid, url=url, station=args.station))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser(
        "airrohr", help="cartes au firmware sensor.community / sensor.community firmware boards"
    )
    aa = a.add_subparsers(dest="airrohr_command", required=True)
    c = aa.add_parser(
        "config",
        help="réglages « propre API » vers la plateforme / custom-API settings",
        description="Génère les réglages qui font envoyer la carte vers la plateforme (API "
        "personnalisée, authentification station/jeton, capteurs installés) ; les applique à "
        "la carte (--apply, ordinateur connecté à son Wi-Fi airRohr-…) ou affiche les étapes.",
    )
    c.add_argument("station", help="identifiant de la station, ex. lens-01")
    add_token_args(c)
    c.add_argument("--sensors", nargs="*", help="capteurs installés, ex. sds011 bme280")
    c.add_argument("--wifi-ssid", help="Wi-Fi du logement (facultatif)")
    c.add_argument("--wifi-password", help="mot de passe de ce Wi-Fi")
    c.add_argument(
        "--sensor-community",
        action="store_true",
        help="envoyer aussi à sensor.community (avec l'accord du participant)",
    )
    c.add_argument(
        "--apply",
        nargs="?",
        const="http://192.168.4.1",
        metavar="URL",
        help="envoyer les réglages à la carte (défaut http://192.168.4.1)",
    )
    c.add_argument(
        "--home-url",
        metavar="URL",
        help="adresse de la carte sur le Wi-Fi du logement, pour attendre son retour après "
        "--apply (défaut : http://airRohr-<numéro>.local/, lu sur sa page)",
    )
    c.add_argument(
        "--wait",
        type=float,
        default=120.0,
        metavar="SECONDES",
        help="après --apply, attendre la carte sur le Wi-Fi du logement (défaut 120 ; 0 : ne "
        "pas attendre)",
    )
    c.add_argument("--board-user", help="utilisateur de la page de la carte, si protégée")
    c.add_argument("--board-password", help="mot de passe de la page de la carte")
    c.add_argument("--json", action="store_true", help="afficher les champs du formulaire")
    c.add_argument(
        "--no-ingest-check",
        action="store_true",
        help="ne pas essayer de joindre l'adresse d'envoi depuis cet ordinateur (une adresse "
        "locale 127.0.0.1/localhost reste refusée)",
    )
    c.set_defaults(func=config)
