"""``airq gateway run|status``: the serial → MQTT gateway of one station.

``airq gateway status --json`` prints the gateway's ``status.json`` as it is (rewritten every
2 s by the running gateway, see docs/gateway.md): an object with ``station``, ``updated``
(RFC 3339), ``pid``, ``broker`` {``url``, ``state``, ``refused``}, ``queue`` {``depth``,
``bytes``, ``dropped``, ``inflight``, ``published``}, ``clock`` {``suspect``, ``reason``}, and
the lists ``sensors`` (serial: ``type``, ``port``, ``state``, ``problem``, ``readings``,
``decode_errors``, ``withheld``, ``skipped_bytes``, ``last``), ``i2c`` and ``boards``.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from airq.commands.common import stop_event
from airq.errors import CliError
from airq.i18n import t

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from gateway.config import GatewayConfig


def _load(path: str) -> GatewayConfig:
    from gateway.config import GatewayConfigError, load_config

    try:
        return load_config(path)
    except GatewayConfigError as exc:
        raise CliError(t("config_error", why=str(exc))) from None


def run(args: argparse.Namespace) -> int:
    from gateway.service import Gateway

    Gateway(_load(args.config)).run(stop_event())
    return 0


def status(args: argparse.Namespace) -> int:
    from gateway.status import format_status

    cfg = _load(args.config)
    path = cfg.resolved_state_dir() / "status.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        raise CliError(t("no_status", station=cfg.station, path=path)) from None
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_status(data, lang=os.environ.get("AIRQ_LANG", "fr")))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    g = sub.add_parser("gateway", help="passerelle série → MQTT / serial → MQTT gateway")
    gs = g.add_subparsers(dest="gateway_command", required=True)
    gr = gs.add_parser("run", help="lancer la passerelle / run the gateway")
    gr.add_argument("--config", required=True, help="fichier TOML")
    gr.set_defaults(func=run)
    gst = gs.add_parser("status", help="état local / local status")
    gst.add_argument("--config", required=True)
    gst.add_argument(
        "--json", action="store_true", help="le fichier status.json tel quel / status.json as is"
    )
    gst.set_defaults(func=status)
