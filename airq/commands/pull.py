"""``airq pull``: a station's, a bounding box's or a QPV's series into a CSV or Parquet file,
through the API (streamed to disk)."""

from __future__ import annotations

import argparse
import os

from airq.errors import CliError
from airq.i18n import t


def pull(args: argparse.Namespace) -> int:
    import httpx

    from airq_client import Client, ClientError

    if not (args.station or args.bbox or args.qpv):
        raise CliError("--station, --bbox ou --qpv requis / required")
    base = args.api or os.environ.get("AIRQ_API_URL") or "http://127.0.0.1:8000"
    try:
        with Client(base) as client:
            path = client.download(
                args.output,
                station=args.station or None,
                quantity=args.quantity or ["pm2_5"],
                format=args.format,
                start=args.start,
                end=args.end,
                every=args.every,
                agg=args.agg or ["mean"],
                tz=args.tz,
                bbox=args.bbox,
                qpv=args.qpv,
                sensor=args.sensor,
            )
    except ClientError as exc:
        raise CliError(t("pull_refused", status=exc.status, why=exc.message)) from None
    except httpx.HTTPError as exc:
        raise CliError(t("pull_unreachable", url=base, why=exc)) from None
    print(t("pull_written", path=path, size=path.stat().st_size))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "pull",
        help="télécharger des séries en CSV/Parquet / download series as CSV/Parquet",
        description="Exemple : airq pull --station lens-01 -q pm2_5 -q pm10 --every 1h "
        "--start 2026-01-01T00:00:00Z --end 2026-02-01T00:00:00Z -o lens.parquet",
    )
    p.add_argument("-o", "--output", required=True, help="fichier .csv ou .parquet")
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
    p.add_argument("--format", choices=["csv", "parquet"], help="défaut : selon l'extension")
    p.set_defaults(func=pull)
