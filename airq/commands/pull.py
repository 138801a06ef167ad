"""``airq pull``: a station's, a bounding box's or a QPV's series into a CSV, Parquet or JSON
file, through the API (streamed to disk)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from airq.errors import CliError, UsageError
from airq.i18n import t

FORMATS = ("csv", "parquet", "json")
"""What the API's ``/v1/series`` writes (its ``format`` parameter)."""
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def output_format(path: str, fmt: str | None) -> str:
    """The format to ask the API for: ``fmt`` (``--format``) or the one the extension names.
    An unknown extension without ``--format``, or one naming another format than ``--format``,
    is a :class:`UsageError`: the file would hold something its name does not say."""
    ext = Path(path).suffix.lower()
    named = EXTENSIONS.get(ext)
    if fmt is not None:
        if named is not None and named != fmt:
            raise UsageError(t("pull_format_mismatch", path=path, ext=ext, named=named, fmt=fmt))
        return fmt
    if named is None:
        known = ", ".join(
            f"{f} ({' '.join(e for e, n in EXTENSIONS.items() if n == f)})" for f in FORMATS
        )
        raise UsageError(t("pull_bad_extension", path=path, ext=ext or '""', formats=known))
    return named


def pull(args: argparse.Namespace) -> int:
    import httpx

    from airq_client import Client, ClientError

    if not (args.station or args.bbox or args.qpv):
        raise UsageError(t("pull_need_selection"))
    fmt = output_format(args.output, args.format)
    base = args.api or os.environ.get("AIRQ_API_URL") or "http://127.0.0.1:8000"
    token = os.environ.get("AIRQ_API_TOKEN") or None
    try:
        with Client(base, token=token) as client:
            path = client.download(
                args.output,
                station=args.station or None,
                quantity=args.quantity or ["pm2_5"],
                format=fmt,
                start=args.start,
                end=args.end,
                every=args.every,
                agg=args.agg or ["mean"],
                tz=args.tz,
                bbox=args.bbox,
                qpv=args.qpv,
                sensor=args.sensor,
                include_flagged=args.include_flagged,
            )
    except ClientError as exc:
        raise CliError(t("pull_refused", status=exc.status, why=exc.message)) from None
    except httpx.HTTPError as exc:
        raise CliError(t("pull_unreachable", url=base, why=exc)) from None
    print(t("pull_written", path=path, size=path.stat().st_size))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pull",
        help="télécharger des séries en CSV/Parquet/JSON / download series as CSV/Parquet/JSON",
        description="Exemple : airq pull --station lens-01 -q pm2_5 -q pm10 --every 1h "
        "--start 2026-01-01T00:00:00Z --end 2026-02-01T00:00:00Z -o lens.parquet. "
        "Stations d'intérieur : AIRQ_API_TOKEN=<jeton de la station ou d'admin> (indoor "
        "stations: their station's token or the admin token in AIRQ_API_TOKEN).",
    )
    p.add_argument("-o", "--output", required=True, help="fichier .csv, .parquet ou .json")
    p.add_argument("--api", help="URL de l'API (défaut : AIRQ_API_URL ou http://127.0.0.1:8000)")
    p.add_argument("--station", action="append", help="station (répétable / repeatable)")
    p.add_argument("--bbox", help="min_lon,min_lat,max_lon,max_lat")
    p.add_argument("--qpv", help="code du QPV / QPV code")
    p.add_argument("-q", "--quantity", action="append", help="grandeur, ex. pm2_5 (répétable)")
    p.add_argument("--start", help="RFC 3339, ex. 2026-01-01T00:00:00Z")
    p.add_argument("--end", help="RFC 3339")
    p.add_argument("--every", default="1h", help="raw, 1m, 1h, 1d… (défaut 1h)")
    p.add_argument("--agg", action="append", help="mean, min, max, count, median, p95")
    p.add_argument("--tz", default="UTC", choices=["UTC", "Europe/Paris"])
    p.add_argument("--sensor", help="modèle de capteur / sensor model")
    p.add_argument("--format", choices=FORMATS, help="défaut : selon l'extension")
    p.add_argument(
        "--include-flagged",
        action="store_true",
        help="avec --every raw : inclure aussi les mesures écartées des moyennes (warmup, "
        "clock_suspect…) / with --every raw: also the readings left out of the aggregates",
    )
    p.set_defaults(func=pull)
