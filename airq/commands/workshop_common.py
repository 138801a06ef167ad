"""Helpers shared by the workshop commands: settings and the station token."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from airq.errors import CliError, UsageError
from airq.i18n import t as t_cli

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from firmware_tools.settings import WorkshopSettings

USAGE_KEYS = frozenset(
    {
        "bad_prefix",
        "bad_mqtt_url",
        "unknown_sensor",
        "not_serial_sensor",
        "airrohr_unsupported_sensor",
        "airrohr_too_long",
        "need_token",
        "register_need_input",
    }
)
"""WorkshopError keys that say the arguments are wrong (exit status 2, not 1)."""


def workshop_error(exc: Exception) -> CliError:
    """The CliError of a WorkshopError: a :class:`UsageError` for wrong arguments."""
    key = getattr(exc, "key", None)
    return UsageError(str(exc)) if key in USAGE_KEYS else CliError(str(exc))


def workshop_settings() -> WorkshopSettings:
    from pydantic import ValidationError

    from firmware_tools.settings import WorkshopSettings

    try:
        return WorkshopSettings()
    except ValidationError as exc:
        lines = [
            f"  AIRQ_WORKSHOP_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors()
        ]
        raise CliError(t_cli("settings_invalid", why="\n".join(lines))) from None


def station_token(args: argparse.Namespace) -> tuple[str, tuple[str, ...]]:
    """(token, sensors from the recap) from --recap, --token or AIRQ_STATION_TOKEN."""
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import t
    from firmware_tools.printouts import read_recap

    if getattr(args, "recap", None):
        try:
            return read_recap(Path(args.recap), args.station)
        except WorkshopError as exc:
            raise workshop_error(exc) from None
    token = getattr(args, "token", None) or os.environ.get("AIRQ_STATION_TOKEN")
    if not token:
        raise UsageError(t("need_token"))
    return token, ()


def add_token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recap", help="récapitulatif de l'atelier (recap.csv) où lire le jeton")
    p.add_argument("--token", help="jeton de la station (sinon AIRQ_STATION_TOKEN)")
