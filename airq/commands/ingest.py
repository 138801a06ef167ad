from __future__ import annotations

import argparse

from airq.commands.common import stop_event
from airq.errors import CliError


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ingest.service import IngestConfigError, IngestService
    from ingest.settings import IngestSettings

    try:
        settings = IngestSettings()
    except ValidationError as exc:
        raise CliError(f"invalid AIRQ_* setting: {exc}") from None
    try:
        IngestService(settings).run(stop_event())
    except IngestConfigError as exc:
        raise CliError(str(exc)) from None
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    i = sub.add_parser("ingest", help="MQTT → InfluxDB")
    isub = i.add_subparsers(dest="ingest_command", required=True)
    ir = isub.add_parser("run", help="lancer l'ingestion / run the ingest")
    ir.set_defaults(func=run)
