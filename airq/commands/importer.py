"""``airq import sensor-community FILE…``: archive CSV files and data.json into the platform."""

from __future__ import annotations

import argparse
import sys

from airq.commands.common import existing_files, import_writer, ingest_settings
from airq.errors import CliError
from airq.i18n import t


def _detail(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))


def import_sensor_community(args: argparse.Namespace) -> int:
    from api.registry import SOURCE_SENSOR_COMMUNITY, Registry
    from ingest.importer import ScStation, SensorCommunityImporter
    from ingest.influx import InfluxWriteError

    paths = existing_files(args.files)
    settings = ingest_settings()
    registry = Registry(settings.database_url)
    writer = import_writer(settings)

    def station_ok(st: ScStation) -> bool:
        if args.create_stations:
            registry.ensure(
                st.id, st.lat, st.lon, st.name, st.indoor, source=SOURCE_SENSOR_COMMUNITY
            )
            return True
        return registry.get(st.id) is not None

    from tqdm import tqdm

    total = sum(p.stat().st_size for p in paths)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc="Import",
        file=sys.stderr,
        disable=None if args.progress is None else not args.progress,
    )
    importer = SensorCommunityImporter(
        writer,
        station_ok,
        raw_retention=settings.influx_raw_retention,
        humidity_threshold=settings.ingest_humidity_threshold,
        humidity_max_age_s=settings.ingest_humidity_max_age_s,
    )
    try:
        report = importer.run(paths, progress=bar.update)
    except InfluxWriteError as exc:
        raise CliError(t("import_influx_error", why=exc)) from None
    finally:
        bar.close()
        writer.close()
        registry.close()

    print(
        t(
            "import_summary",
            files=report.files,
            rows=report.rows,
            readings=report.readings,
            stations=len(report.stations),
            aggregates=report.aggregate_points,
        )
    )
    if report.history_only:
        print(t("import_history_only", n=report.history_only))
    if report.flagged:
        print(t("import_flagged", detail=_detail(report.flagged), excluded=report.excluded))
    if report.rejected:
        print(t("import_rejected", detail=_detail(report.rejected)))
    if report.unsupported_types:
        print(t("import_unsupported", detail=_detail(report.unsupported_types)))
    for why in report.failed_files.values():
        print(t("import_failed_file", why=why), file=sys.stderr)
    if report.unknown_stations:
        ids = ", ".join(sorted(report.unknown_stations)[:20])
        raise CliError(t("import_unknown_stations", n=len(report.unknown_stations), ids=ids))
    return 1 if report.failed_files else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="importer des données / import data")
    ps = p.add_subparsers(dest="import_source", required=True)
    sc = ps.add_parser(
        "sensor-community",
        help="fichiers d'archive CSV ou data.json de sensor.community / archive CSV or data.json",
        description="Stations sc-<location id>; importer deux fois ne change rien. "
        "Stations named sc-<location id>; importing twice changes nothing.",
    )
    sc.add_argument("files", nargs="+", metavar="FILE", help="*.csv, *.csv.gz, *.json")
    sc.add_argument(
        "--create-stations",
        action="store_true",
        help="créer les stations absentes du registre / create missing stations",
    )
    sc.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="barre de progression (par défaut : si terminal) / progress bar (default: on a tty)",
    )
    sc.set_defaults(func=import_sensor_community)
