"""``airq rollup rebuild``: recompute the aggregates of a period from the raw readings."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time

TIER_NAMES = ("1m", "1h", "1d", "1d_paris")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_when(text: str, name: str) -> float:
    from airq.errors import UsageError
    from airq_core.readings import parse_time

    value: str | float = text.strip()
    if _DATE.match(str(value)):
        value = f"{value}T00:00:00Z"
    else:
        with contextlib.suppress(ValueError):
            value = float(value)
    try:
        return parse_time(value)
    except ValueError as exc:
        raise UsageError(
            f"--{name} « {text} » : date invalide / invalid date ({exc}); "
            "exemple / example: 2026-01-31 ou/or 2026-01-31T12:00:00Z"
        ) from None


def rebuild(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from airq.errors import CliError, UsageError
    from airq.i18n import t
    from airq_core.wire import STATION_ID_RE
    from ingest.influx import InfluxWriteError, InfluxWriter
    from ingest.rebuild import rebuild as run_rebuild
    from ingest.settings import IngestSettings

    start = parse_when(args.start, "start")
    end = parse_when(args.end, "end") if args.end else time.time()
    if start >= end:
        raise UsageError("--start doit précéder --end / --start must be before --end")
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    bad = [t for t in tiers if t not in TIER_NAMES]
    if bad or not tiers:
        raise UsageError(
            f"niveau inconnu / unknown tier {', '.join(bad) or '(none)'}; "
            f"choisir parmi / choose from {', '.join(TIER_NAMES)}"
        )
    stations = args.station or None
    for s in stations or ():
        if not STATION_ID_RE.fullmatch(s):
            raise UsageError(f"identifiant de station invalide / invalid station id: {s[:64]!r}")
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        raise CliError(t("settings_invalid", why=exc)) from None
    writer = InfluxWriter(
        settings.influx_url, settings.influx_db, settings.influx_username, settings.influx_password
    )

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{100 * done / total:5.1f} %", end="", file=sys.stderr, flush=True)

    try:
        writer.ensure_database(settings.influx_raw_retention, settings.influx_agg_retention)
        report = run_rebuild(
            writer,
            round(start * 1000),
            round(end * 1000),
            stations,
            tiers,
            chunk_hours=args.chunk_hours,
            progress=progress,
        )
    except InfluxWriteError as exc:
        raise CliError(
            f"InfluxDB ({settings.influx_url}) : {exc} — vérifier AIRQ_INFLUX_URL / check it"
        ) from None
    finally:
        writer.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    points = ", ".join(f"{t}: {n}" for t, n in report.aggregate_points.items())
    print(
        f"{report.raw_points} mesures brutes relues / raw readings read; "
        f"agrégats écrits / aggregates written ({points}) en/in {report.seconds:.1f} s"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("rollup", help="agrégats (moyennes 1 min/1 h/1 j) / aggregates")
    rsub = r.add_subparsers(dest="rollup_command", required=True)
    rb = rsub.add_parser(
        "rebuild", help="recalculer les agrégats d'une période / recompute a period's aggregates"
    )
    rb.add_argument("--start", required=True, help="début / start (2026-01-31, RFC 3339, Unix s)")
    rb.add_argument("--end", help="fin / end (défaut : maintenant / default: now)")
    rb.add_argument(
        "--station", action="append", help="seulement cette station (répétable) / only this one"
    )
    rb.add_argument(
        "--tiers", default=",".join(TIER_NAMES), help="niveaux / tiers (défaut : tous / all)"
    )
    rb.add_argument("--chunk-hours", type=int, default=6, help="heures lues par requête")
    rb.set_defaults(func=rebuild)
