from __future__ import annotations

import argparse

from airq.commands.common import stop_event, with_default_registry
from airq.errors import CliError
from airq.i18n import t


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ingest.service import IngestConfigError, IngestService
    from ingest.settings import IngestSettings

    try:
        settings = with_default_registry(IngestSettings())
    except ValidationError as exc:
        raise CliError(t("settings_invalid", why=exc)) from None
    try:
        IngestService(settings).run(stop_event())
    except IngestConfigError as exc:
        raise CliError(str(exc)) from None
    return 0


def dead_letters(args: argparse.Namespace) -> int:
    """Lists the messages the ingest failed on (``ingest.deadletter``)."""
    import json
    from pathlib import Path

    from ingest.deadletter import SUBDIR, read_dead_letters

    state_dir = args.state_dir
    if state_dir is None:
        from ingest.settings import IngestSettings

        state_dir = IngestSettings().ingest_state_dir
    if not state_dir:
        raise CliError(t("dead_letters.no_dir"))
    path = Path(state_dir) / SUBDIR
    letters = read_dead_letters(path)
    if args.json:
        print(json.dumps([d.to_json() for d in letters], indent=1))
        return 0
    if not letters:
        print(t("dead_letters.none", path=path))
        return 0
    print(t("dead_letters.count", n=len(letters), path=path))
    from airq_core.readings import format_time

    for d in letters:
        preview = d.payload[:80].decode("utf-8", "replace").replace("\n", " ")
        print(f"{format_time(round(d.time, 3))}  {d.worker}  {d.topic[:80]}  {len(d.payload)} B")
        print(f"    {d.error[:200]}")
        print(f"    {preview!r}{'…' if len(d.payload) > 80 else ''}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    i = sub.add_parser("ingest", help="MQTT → InfluxDB")
    isub = i.add_subparsers(dest="ingest_command", required=True)
    ir = isub.add_parser("run", help="lancer l'ingestion / run the ingest")
    ir.set_defaults(func=run)
    dl = isub.add_parser(
        "dead-letters",
        help="messages sur lesquels l'ingestion a échoué / messages the ingest failed on",
    )
    dl.add_argument("--json", action="store_true", help="JSON (payloads in base64)")
    dl.add_argument(
        "--state-dir",
        help="dossier d'état de l'ingestion / ingest state directory "
        "(default: AIRQ_INGEST_STATE_DIR)",
    )
    dl.set_defaults(func=dead_letters)
