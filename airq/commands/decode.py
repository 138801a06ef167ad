from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from airq.decode_cmd import run_decode

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
    d.set_defaults(func=run)
