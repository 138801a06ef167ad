"""``airq flash``: write a firmware to an ESP board over USB (wraps esptool), with checks and
instructions in French.

``airq flash --list-ports --json`` prints a JSON array, one object per serial port, USB ones
first::

    [{"device": "/dev/ttyUSB0", "description": "USB Serial", "hwid": "USB VID:PID=1A86:7523 …",
      "vid": 6790, "pid": 29987, "usb_chip": "CH340/CH341 (WCH)"}]

(``vid``, ``pid`` and ``usb_chip`` are null for a port that is not USB or a chip we do not know).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from airq.commands.workshop_common import workshop_error
from airq.errors import CliError, UsageError

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from serial.tools.list_ports_common import ListPortInfo


def _progress_printer(label: str) -> Callable[[int, int], None]:
    state = {"last": -1}

    def show(done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        if pct == state["last"]:
            return
        state["last"] = pct
        bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
        end = "\n" if pct >= 100 else ""
        print(f"\r{label} [{bar}] {pct:3d} %", end=end, file=sys.stderr, flush=True)

    return show


def port_json(port: ListPortInfo) -> dict[str, object]:
    """One port of ``airq flash --list-ports --json`` (shape in the module docstring)."""
    from firmware_tools.flashing.ports import USB_SERIAL_CHIPS

    return {
        "device": port.device,
        "description": port.description,
        "hwid": port.hwid,
        "vid": port.vid,
        "pid": port.pid,
        "usb_chip": USB_SERIAL_CHIPS.get(port.vid) if port.vid is not None else None,
    }


def run(args: argparse.Namespace) -> int:
    from firmware_tools.airrohr import SETUP_WIFI_PASSWORD
    from firmware_tools.errors import WorkshopError
    from firmware_tools.flashing.image import check_image_matches, inspect_image
    from firmware_tools.flashing.ports import choose_port, list_serial_ports
    from firmware_tools.i18n import t

    try:
        if args.list_ports:
            ports = list_serial_ports()
            if args.json:
                print(json.dumps([port_json(p) for p in ports], ensure_ascii=False, indent=2))
                return 0
            for p in ports:
                print(f"{p.device}\t{p.description}\t{p.hwid}")
            if not ports:
                print(t("ports_none"))
            return 0
        if args.json:
            raise UsageError("--json : seulement avec --list-ports / only with --list-ports")
        if not args.firmware:
            raise UsageError("--firmware FICHIER.bin est nécessaire / is required")
        path = Path(args.firmware)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CliError(t("firmware_unreadable", path=path, why=exc.strerror)) from None
        info = inspect_image(data, path.name)
        if args.chip != "auto":
            check_image_matches(info, args.chip, path.name)
        if info.kind == "app" and args.erase:
            raise WorkshopError("esp32_app_erase", file=path.name)
        if info.kind == "app" and args.address is None:
            raise WorkshopError("esp32_app_only", file=path.name)
        address = args.address if args.address is not None else info.address
        if address is None:
            raise WorkshopError("image_address_unknown", file=path.name)
        print(
            t(
                "image_ok",
                file=path.name,
                chip=info.chip.upper(),
                kind=info.kind,
                size=info.size,
                segments=info.segments,
                address=address,
            )
        )
        if args.check_only:
            return 0
        from firmware_tools.flashing.flasher import flash_image

        port = choose_port(args.port, list_serial_ports())
        print(t("flash_detecting", port=port), file=sys.stderr)
        report = flash_image(
            port,
            data,
            info,
            address,
            name=path.name,
            baud=args.baud,
            connect_attempts=args.connect_attempts,
            before=args.before,
            progress=_progress_printer(t("flash_writing")),
            on_retry=lambda b, lower, why: print(
                "\n" + t("flash_retry", baud=b, lower=lower, why=why), file=sys.stderr
            ),
            erase=args.erase,
            keep_config=args.keep_config,
        )
        if report.erased:
            print(t("flash_erased"))
        print(
            t(
                "flash_done",
                chip=report.chip.upper(),
                baud=report.baud,
                password=SETUP_WIFI_PASSWORD,
            )
        )
        return 0
    except WorkshopError as exc:
        raise workshop_error(exc) from None


def _address(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"adresse invalide {text!r} (ex. 0x0, 0x10000)") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    f = sub.add_parser(
        "flash",
        help="écrire un firmware sur une carte ESP / flash an ESP board",
        description="Vérifie le fichier firmware, trouve la carte USB, détecte la puce, refuse "
        "un firmware fait pour une autre puce, écrit avec une barre de progression, vérifie, et "
        "réessaie plus lentement si la liaison est mauvaise.",
    )
    f.add_argument("--firmware", help="fichier .bin du firmware (ex. latest_fr.bin)")
    f.add_argument("--port", help="port série (défaut : la seule carte USB branchée)")
    f.add_argument(
        "--chip",
        default="auto",
        help="puce attendue : auto, esp8266, esp32, esp32c3… (défaut : auto)",
    )
    f.add_argument("--baud", type=int, default=460800, help="vitesse d'écriture (défaut 460800)")
    f.add_argument("--address", type=_address, help="adresse d'écriture (défaut : selon l'image)")
    f.add_argument(
        "--connect-attempts", type=int, default=4, help="essais de connexion à la carte (défaut 4)"
    )
    f.add_argument(
        "--before",
        default="default-reset",
        choices=["default-reset", "usb-reset", "no-reset", "no-reset-no-sync"],
        help="comment mettre la carte en mode programmation (esptool --before)",
    )
    choice = f.add_mutually_exclusive_group()
    choice.add_argument(
        "--erase",
        action="store_true",
        help="effacer toute la mémoire avant d'écrire (carte réutilisée : ancien Wi-Fi, mot de "
        "passe et réglages supprimés) / erase the whole flash first",
    )
    choice.add_argument(
        "--keep-config",
        action="store_true",
        help="garder la configuration déjà sur la carte (mise à jour) / keep the board's "
        "configuration",
    )
    f.add_argument(
        "--check-only",
        action="store_true",
        help="vérifier le fichier sans écrire / check the image only",
    )
    f.add_argument("--list-ports", action="store_true", help="lister les ports série")
    f.add_argument(
        "--json",
        action="store_true",
        help="avec --list-ports : tableau JSON (device, description, hwid, vid, pid, usb_chip)",
    )
    f.set_defaults(func=run)
