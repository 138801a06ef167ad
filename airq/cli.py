"""``airq``: one command, a subcommand per app. Apps are imported only when used, so a
Raspberry Pi with the gateway extras alone can run ``airq gateway``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from airq.errors import CliError
from airq.i18n import t


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(signum, frame):  # type: ignore[no-untyped-def]
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def cmd_decode(args: argparse.Namespace) -> int:
    from airq.decode_cmd import run_decode

    return run_decode(args.sensor, args.hex, args.stream, args.hex_stream)


def cmd_gateway_run(args: argparse.Namespace) -> int:
    from gateway.config import GatewayConfigError, load_config
    from gateway.service import Gateway

    try:
        cfg = load_config(args.config)
    except GatewayConfigError as exc:
        raise CliError(t("config_error", why=str(exc))) from None
    Gateway(cfg).run(_stop_event())
    return 0


def cmd_gateway_status(args: argparse.Namespace) -> int:
    from gateway.config import GatewayConfigError, load_config
    from gateway.status import format_status

    try:
        cfg = load_config(args.config)
    except GatewayConfigError as exc:
        raise CliError(t("config_error", why=str(exc))) from None
    path = cfg.resolved_state_dir() / "status.json"
    try:
        status = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        raise CliError(t("no_status", station=cfg.station, path=path)) from None
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print(format_status(status, lang=os.environ.get("AIRQ_LANG", "fr")))
    return 0


def cmd_ingest_run(args: argparse.Namespace) -> int:
    from ingest.service import IngestConfigError, IngestService
    from ingest.settings import IngestSettings

    try:
        svc = IngestService(IngestSettings())
        svc.run(_stop_event())
    except IngestConfigError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings

    settings = ApiSettings()
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0


def _registry():  # type: ignore[no-untyped-def]
    from api.registry import Registry
    from api.settings import ApiSettings

    return Registry(ApiSettings().database_url)


def cmd_station_add(args: argparse.Namespace) -> int:
    from api.registry import RegistryError

    reg = _registry()
    try:
        token = reg.add(args.id, args.lat, args.lon, args.name or "", args.indoor)
    except RegistryError as exc:
        raise CliError(str(exc)) from None
    finally:
        reg.close()
    if args.quiet:
        print(token)
    else:
        print(t("station_created", id=args.id))
        print(token)
    return 0


def cmd_station_list(args: argparse.Namespace) -> int:
    reg = _registry()
    try:
        for s in reg.list(include_retired=args.all):
            retired = " (retirée / retired)" if s.retired_at else ""
            print(f"{s.id}\t{s.lat:.5f}\t{s.lon:.5f}\t{s.name}{retired}")
    finally:
        reg.close()
    return 0


def cmd_station_mosquitto(args: argparse.Namespace) -> int:
    """Write the station entries of a Mosquitto password file (username = station id)."""
    reg = _registry()
    try:
        users = reg.mosquitto_users()
    finally:
        reg.close()
    text = "".join(f"{u}:{h}\n" for u, h in sorted(users.items()))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        os.chmod(args.output, 0o600)
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from airq.stack import run_stack

    return run_stack(Path(args.data), stations=args.stations, interval=args.interval,
                     api_port=args.api_port)


def cmd_virtual(args: argparse.Namespace) -> int:
    import time

    from firmware_tools.virtual import PtySensor, make_emulator

    try:
        emu = make_emulator(args.sensor, seed=args.seed, period=args.period)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    stop = _stop_event()
    with PtySensor(emu) as pty:
        print(f"{args.sensor} virtuel sur / virtual on: {pty.port}", flush=True)
        while not stop.wait(1.0):
            pass
        time.sleep(0)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="airq", description="AirQuartiers: capteurs citoyens de "
                                "qualité de l'air / citizen air-quality sensors")
    p.add_argument("-v", "--verbose", action="store_true", help="détails et traces / debug logs")
    p.add_argument("--lang", choices=["fr", "en"], help="langue des messages / message language")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("decode", help="décoder des trames capteur / decode sensor frames")
    d.add_argument("sensor", help="modèle du capteur, ex. sds011")
    d.add_argument("hex", nargs="*", help="trame(s) en hexadécimal")
    d.add_argument("--stream", action="store_true",
                   help="lire un flux d'octets sur l'entrée standard / read a byte stream on stdin")
    d.add_argument("--hex-stream", action="store_true",
                   help="avec --stream : le flux est du texte hexadécimal / stdin is hex text")
    d.set_defaults(func=cmd_decode)

    g = sub.add_parser("gateway", help="passerelle série → MQTT / serial → MQTT gateway")
    gs = g.add_subparsers(dest="gateway_command", required=True)
    gr = gs.add_parser("run", help="lancer la passerelle / run the gateway")
    gr.add_argument("--config", required=True, help="fichier TOML")
    gr.set_defaults(func=cmd_gateway_run)
    gst = gs.add_parser("status", help="état local / local status")
    gst.add_argument("--config", required=True)
    gst.add_argument("--json", action="store_true")
    gst.set_defaults(func=cmd_gateway_status)

    i = sub.add_parser("ingest", help="MQTT → InfluxDB")
    isub = i.add_subparsers(dest="ingest_command", required=True)
    ir = isub.add_parser("run", help="lancer l'ingestion / run the ingest")
    ir.set_defaults(func=cmd_ingest_run)

    a = sub.add_parser("api", help="lancer l'API / run the API")
    a.add_argument("--host")
    a.add_argument("--port", type=int)
    a.set_defaults(func=cmd_api)

    s = sub.add_parser("station", help="registre des stations / station registry")
    ss = s.add_subparsers(dest="station_command", required=True)
    sa = ss.add_parser("add", help="créer une station / create a station")
    sa.add_argument("id", help="identifiant, ex. lens-01")
    sa.add_argument("--lat", type=float, required=True)
    sa.add_argument("--lon", type=float, required=True)
    sa.add_argument("--name")
    sa.add_argument("--indoor", action="store_true", help="station en intérieur / indoor")
    sa.add_argument("--quiet", action="store_true", help="n'afficher que le jeton / token only")
    sa.set_defaults(func=cmd_station_add)
    sl = ss.add_parser("list", help="lister / list")
    sl.add_argument("--all", action="store_true", help="avec les stations retirées")
    sl.set_defaults(func=cmd_station_list)
    sm = ss.add_parser("mosquitto-passwd",
                       help="entrées du fichier de mots de passe Mosquitto / password file")
    sm.add_argument("output", help="fichier ou - pour la sortie standard")
    sm.set_defaults(func=cmd_station_mosquitto)

    st = sub.add_parser("stack", help="pile locale de démonstration / local demo stack")
    st.add_argument("--data", default=".airq-data", help="dossier des données / data folder")
    st.add_argument("--stations", type=int, default=8, help="stations virtuelles (1-8)")
    st.add_argument("--interval", type=float, default=5.0, help="secondes entre mesures")
    st.add_argument("--api-port", type=int, default=8000)
    st.set_defaults(func=cmd_stack)

    v = sub.add_parser("virtual-sensor", help="capteur virtuel sur un pty / virtual sensor")
    v.add_argument("sensor")
    v.add_argument("--period", type=float, default=1.0)
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(func=cmd_virtual)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        os.environ["AIRQ_LANG"] = args.lang
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        if args.verbose:
            raise
        print(f"airq: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
