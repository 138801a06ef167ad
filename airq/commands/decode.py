from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from airq.decode_cmd import run_decode

    if args.sensor == "airrohr":
        from airq.decode_cmd import run_decode_airrohr

        hardware = [h.strip() for h in (args.hardware or "").split(",") if h.strip()]
        return run_decode_airrohr(args.hex, pin=args.pin, hardware=hardware)
    if args.pin or args.hardware:
        from airq.errors import UsageError
        from airq.i18n import t

        raise UsageError(t("airrohr_only_option"))
    return run_decode(args.sensor, args.hex, args.stream, args.hex_stream)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("decode", help="décoder des trames capteur / decode sensor frames")
    d.add_argument(
        "sensor",
        help="modèle du capteur, ex. sds011 ; airrohr pour un envoi JSON du firmware "
        "sensor.community",
    )
    d.add_argument("hex", nargs="*", help="trame(s) en hexadécimal (airrohr : fichier(s) JSON)")
    d.add_argument(
        "--stream",
        action="store_true",
        help="lire un flux d'octets sur l'entrée standard / read a byte stream on stdin",
    )
    d.add_argument(
        "--hex-stream",
        action="store_true",
        help="avec --stream : le flux est du texte hexadécimal / stdin is hex text",
    )
    d.add_argument(
        "--pin",
        help="airrohr : en-tête X-PIN d'un envoi par capteur (1, 3, 7, 9, 11, 13, 15, 17) / "
        "X-PIN header of a per-sensor upload",
    )
    d.add_argument(
        "--hardware",
        metavar="MODELES",
        help="airrohr : capteurs de la station, séparés par des virgules (ex. sps30,bme280), "
        "pour trancher un pin partagé / the station's sensors, to settle a shared pin",
    )
    d.set_defaults(func=run)
