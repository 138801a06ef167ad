"""``airq calibration``: import reference-station data, list co-located pairs, fit a
correction against a reference site (docs/calibration.md)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from airq.commands.common import existing_files, import_writer, ingest_settings
from airq.errors import CliError
from airq.i18n import t


def _time_ms(name: str, text: str) -> int:
    from airq_core.readings import parse_time

    try:
        try:
            value: float | str = float(text)
        except ValueError:
            value = text
        return int(parse_time(value) * 1000)
    except ValueError as exc:
        raise CliError(t("calibration_bad_time", name=name, why=exc)) from None


def _signed(value: float, digits: int) -> str:
    return f"{'−' if value < 0 else '+'} {abs(value):.{digits}f}"


def import_reference(args: argparse.Namespace) -> int:
    from api.calibration_store import CalibrationStore, ReferenceSite
    from ingest.influx import InfluxWriteError
    from ingest.reference_import import SitesError, import_reference, read_sites

    path, sites_path = existing_files([args.file, args.sites])
    try:
        sites = read_sites(sites_path)
    except SitesError as exc:
        raise CliError(t("calibration_bad_sites", why=exc)) from None
    settings = ingest_settings()
    store = CalibrationStore.from_url(settings.database_url)
    writer = import_writer(settings)
    try:
        store.upsert_sites([ReferenceSite(c, n, lat, lon, args.format) for c, n, lat, lon in sites])
        writer.ensure_database(settings.influx_raw_retention, settings.influx_agg_retention)
        report = import_reference(args.format, path, writer, utc_offset_h=args.utc_offset)
    except ValueError as exc:
        raise CliError(t("calibration_bad_file", path=path, why=exc)) from None
    except InfluxWriteError as exc:
        raise CliError(t("import_influx_error", why=exc)) from None
    finally:
        writer.close()
        store.close()
    print(
        t(
            "calibration_import_summary",
            rows=report.rows,
            imported=report.imported,
            sites=len(report.sites),
            invalid=report.skipped_invalid,
            n_sites=len(sites),
        )
    )
    for reason, count in sorted(report.refused.items()):
        rows = ", ".join(str(r) for r in report.refused_rows.get(reason, []))
        print(t("calibration_import_refused", reason=reason, count=count, rows=rows))
    unknown = sorted(report.sites - {c for c, _, _, _ in sites})
    if unknown:
        print(t("calibration_sites_missing", codes=", ".join(unknown[:20])))
    return 0


def fit(args: argparse.Namespace) -> int:
    from airq_core.calibration import CalibrationError
    from api.calibration_data import NotColocatedError, fit_colocated
    from api.calibration_store import CalibrationStore
    from api.influx import InfluxQueryError, InfluxReader
    from api.registry import Registry

    start_ms, end_ms = _time_ms("--start", args.start), _time_ms("--end", args.end)
    if end_ms <= start_ms:
        raise CliError(t("calibration_bad_time", name="--start", why="--start >= --end"))
    settings = ingest_settings()
    registry = Registry(settings.database_url)
    store = CalibrationStore(registry.engine)

    async def run() -> Any:
        influx = InfluxReader(
            settings.influx_url,
            settings.influx_db,
            settings.influx_username,
            settings.influx_password,
        )
        try:
            return await fit_colocated(
                influx,
                registry,
                store,
                site_code=args.site,
                start_ms=start_ms,
                end_ms=end_ms,
                station=args.station,
                model=args.model,
                max_distance_m=args.max_distance_m,
            )
        finally:
            await influx.aclose()

    try:
        record = asyncio.run(run())
    except NotColocatedError as exc:
        raise CliError(t("calibration_not_colocated", why=exc)) from None
    except CalibrationError as exc:
        raise CliError(t("calibration_fit_refused", why=exc)) from None
    except InfluxQueryError as exc:
        raise CliError(t("import_influx_error", why=exc)) from None
    finally:
        registry.close()
    f = record.fit
    print(
        t(
            "calibration_fit_done",
            id=record.id,
            who=record.station or record.sensor,
            site=record.site,
            a=f"{f.a:.4f}",
            b=_signed(f.b, 4),
            c=_signed(f.c, 3),
            n=f.n,
            r2=f"{f.r2:.3f}",
            rmse=f"{f.rmse:.2f}",
        )
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibration",
        help="étalonnage contre des stations de référence / calibration against reference monitors",
    )
    ps = p.add_subparsers(dest="calibration_command", required=True)
    imp = ps.add_parser(
        "import-reference",
        help="importer des mesures de stations de référence / import reference-station data",
        description="fr : fichiers CSV de la base nationale (Geod'air, données E2/D) ; eea : "
        "service de téléchargement de l'AEE (Parquet ou CSV). fr: national database CSV "
        "(Geod'air E2/D); eea: EEA download service (Parquet or CSV).",
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--format", choices=("fr", "eea"), required=True)
    imp.add_argument(
        "--sites",
        required=True,
        metavar="SITES.csv",
        help="coordonnées des sites (code,name,lat,lon) / site coordinates",
    )
    imp.add_argument(
        "--utc-offset",
        type=float,
        default=0.0,
        help="décalage UTC des heures du fichier (0 par défaut) / UTC offset of the file's "
        "times (default 0)",
    )
    imp.set_defaults(func=import_reference)
    f = ps.add_parser(
        "fit",
        help="ajuster une correction sur les heures co-localisées / fit a correction on "
        "co-located hours",
    )
    who = f.add_mutually_exclusive_group(required=True)
    who.add_argument("--station", metavar="ID")
    who.add_argument("--model", metavar="MODEL", help="ex. / e.g. sds011")
    f.add_argument("--site", required=True, metavar="CODE", help="site de référence / site")
    f.add_argument("--start", required=True, help="RFC 3339")
    f.add_argument("--end", required=True, help="RFC 3339")
    f.add_argument(
        "--max-distance-m",
        type=float,
        default=100.0,
        help="distance de co-localisation (m, 100 par défaut) / co-location distance",
    )
    f.set_defaults(func=fit)
