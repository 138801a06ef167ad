"""``airq sensor``: check a sensor on its serial port (live values and a verdict in plain
language) or capture its frames as test data."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from airq.commands.workshop_common import workshop_error


def check(args: argparse.Namespace) -> int:
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import t
    from firmware_tools.sensor_check import SensorLink, describe_sample, judge

    try:
        with SensorLink(args.port, args.sensor) as link:
            print(t("check_listening", sensor=args.sensor, port=args.port, seconds=args.seconds))
            try:
                for sample in link.samples(
                    args.seconds, stop=lambda: len(link.stats.samples) >= args.samples
                ):
                    print(f"{datetime.now():%H:%M:%S}  {describe_sample(sample)}", flush=True)
            except KeyboardInterrupt:
                pass
            verdict = judge(args.sensor, link.stats, args.humidity)
    except WorkshopError as exc:
        raise workshop_error(exc) from None
    print(verdict.message)
    return 0 if verdict.working else 1


def capture(args: argparse.Namespace) -> int:
    from airq_core.errors import DecodeError
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import t
    from firmware_tools.sensor_check import (
        SensorLink,
        capture_header,
        format_capture_line,
        sample_record,
    )

    out = Path(args.output)
    written = 0
    records: list[dict[str, object]] = []
    try:
        with (
            SensorLink(args.port, args.sensor, poll=not args.no_poll) as link,
            out.open("w", encoding="utf-8") as f,
        ):
            if args.format == "lines":
                f.write(capture_header(args.sensor, args.port, time.time(), args.raw) + "\n")
            print(
                t("check_listening", sensor=args.sensor, port=args.port, seconds=args.seconds),
                file=sys.stderr,
            )
            deadline = time.monotonic() + args.seconds
            try:
                while time.monotonic() < deadline and (not args.frames or written < args.frames):
                    data, frames = link.read()
                    now = time.time()
                    if args.format == "json":
                        for frame in frames:
                            if args.frames and written >= args.frames:
                                break
                            try:
                                sample = link._decode(frame)
                            except DecodeError:
                                continue
                            source = f"capture {args.sensor} {args.port} {datetime.now():%Y-%m-%d}"
                            records.append(sample_record(frame, sample, source))
                            written += 1
                        continue
                    chunks = [data] if (args.raw and data) else frames
                    for chunk in chunks:
                        if args.frames and written >= args.frames:
                            break
                        f.write(format_capture_line(now, chunk) + "\n")
                        written += 1
                    f.flush()
            except KeyboardInterrupt:
                pass
            if args.format == "json":
                f.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
    except WorkshopError as exc:
        raise workshop_error(exc) from None
    print(t("capture_done", n=written, path=out), file=sys.stderr)
    return 0 if written else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("sensor", help="vérifier un capteur série / check a serial sensor")
    ss = s.add_subparsers(dest="sensor_command", required=True)
    c = ss.add_parser(
        "check",
        help="valeurs en direct et verdict / live values and a verdict",
        description="Lit le capteur, affiche ses mesures et dit s'il fonctionne : fonctionne, "
        "en préchauffage, aucune donnée, données illisibles, valeurs invraisemblables, humidité "
        "trop élevée pour les PM.",
    )
    c.add_argument("--port", required=True, help="port série, ex. /dev/ttyUSB0 ou COM3")
    c.add_argument("--sensor", required=True, help="modèle, ex. sds011, pms5003, mhz19b")
    c.add_argument("--seconds", type=float, default=15, help="durée maximale (défaut 15 s)")
    c.add_argument("--samples", type=int, default=5, help="arrêter après N mesures (défaut 5)")
    c.add_argument(
        "--humidity", type=float, help="humidité de l'air en %% si connue (pour le verdict PM)"
    )
    c.set_defaults(func=check)
    p = ss.add_parser(
        "capture",
        help="enregistrer les trames dans un fichier / record frames to a file",
    )
    p.add_argument("--port", required=True)
    p.add_argument("--sensor", required=True)
    p.add_argument("--output", "-o", required=True, help="fichier de sortie")
    p.add_argument("--seconds", type=float, default=30, help="durée (défaut 30 s)")
    p.add_argument("--frames", type=int, default=0, help="arrêter après N trames")
    p.add_argument(
        "--raw",
        action="store_true",
        help="octets bruts tels que reçus (parasites compris) / raw chunks",
    )
    p.add_argument(
        "--format",
        choices=["lines", "json"],
        default="lines",
        help="lines : heure + hex par ligne ; json : cas de test décodés",
    )
    p.add_argument(
        "--no-poll",
        action="store_true",
        help="ne rien envoyer au capteur (écoute seule) / listen only",
    )
    p.set_defaults(func=capture)
