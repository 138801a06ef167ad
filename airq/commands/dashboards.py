"""``airq dashboards build|push|check``: Grafana dashboards as code."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airq.errors import CliError, UsageError

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from dashboards.territory import Territory

DEFAULT_API = "http://localhost:8000"


def shipped_territory() -> Territory:
    """The QPV polygons the API ships, no station placed: what dashboards/json holds."""
    from api.qpv.polygons import DEFAULT_FILE, load_qpv
    from dashboards.territory import Territory

    return Territory.from_areas(load_qpv(DEFAULT_FILE).areas, DEFAULT_FILE.name)


def _territory(args: argparse.Namespace) -> Territory:
    from dashboards.territory import fetch_territory

    if not args.api_url:
        return shipped_territory()
    import httpx

    try:
        return fetch_territory(args.api_url)
    except httpx.HTTPError as exc:
        raise CliError(
            f"impossible de lire {args.api_url}/v1/qpv ({exc}) : l'API tourne-t-elle ? "
            f"/ cannot read the QPV list from the API: is it running?"
        ) from None


def _public_api(args: argparse.Namespace) -> str:
    return args.public_api_url or args.api_url or DEFAULT_API


def _min_window_coverage(args: argparse.Namespace) -> float:
    """--min-window-coverage, else AIRQ_QPV_MIN_WINDOW_COVERAGE (the API's setting), else
    0.75: the share of expected readings a window needs to count in the council panels."""
    from dashboards.boards import DEFAULT_MIN_WINDOW_COVERAGE

    given = args.min_window_coverage
    if given is None:
        given = os.environ.get("AIRQ_QPV_MIN_WINDOW_COVERAGE") or DEFAULT_MIN_WINDOW_COVERAGE
    try:
        value = float(given)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise UsageError(
            f"--min-window-coverage / AIRQ_QPV_MIN_WINDOW_COVERAGE : une part entre 0 et 1 "
            f"(ex. 0.75), pas {given!r} / a share between 0 and 1"
        )
    return value


def build(args: argparse.Namespace) -> int:
    from dashboards.build import JSON_DIR, write_all

    territory = _territory(args)
    out = Path(args.out) if args.out else JSON_DIR
    paths = write_all(
        out,
        territory=territory,
        api_url=_public_api(args),
        datasource_uid=args.datasource_uid,
        min_window_coverage=_min_window_coverage(args),
    )
    for p in paths:
        print(p)
    print(
        f"{len(paths)} tableaux de bord écrits, {len(territory.monitored())} QPV équipé(s) "
        f"/ {len(paths)} dashboards written"
    )
    return 0


def push(args: argparse.Namespace) -> int:
    from dashboards.build import dashboards_json
    from dashboards.push import InfluxSource, PushError
    from dashboards.push import push as push_dashboards

    token = args.token or os.environ.get("AIRQ_GRAFANA_TOKEN")
    if not token:
        raise UsageError(
            "jeton Grafana manquant : --token ou AIRQ_GRAFANA_TOKEN (compte de service, rôle "
            "Editor) / missing Grafana token: --token or AIRQ_GRAFANA_TOKEN"
        )
    source = None
    if args.influx_url:
        source = InfluxSource(args.influx_url, args.influx_db, args.datasource_uid)
    boards = dashboards_json(
        _territory(args), _public_api(args), args.datasource_uid, _min_window_coverage(args)
    )
    try:
        urls = push_dashboards(args.url, token, list(boards.values()), source)
    except PushError as exc:
        raise CliError(str(exc)) from None
    for u in urls:
        print(u)
    return 0


def check(args: argparse.Namespace) -> int:
    """Run every panel query against InfluxDB, as Grafana would for the last ``--days``."""
    import httpx

    from dashboards.boards import POLLUTANTS, build_boards
    from dashboards.render import VariableValue, panel_interval_ms, render_query
    from dashboards.render import replace_variables as rv

    end = int(time.time() * 1000)
    start = end - int(args.days * 86_400_000)
    failures = 0
    with httpx.Client(base_url=args.influx_url, timeout=60) as client:

        def run(q: str) -> list[dict[str, Any]]:
            r = client.post("/query", data={"q": q, "db": args.influx_db, "epoch": "ms"})
            r.raise_for_status()
            results: list[dict[str, Any]] = r.json().get("results", [])
            return results

        try:
            tags = run('SHOW TAG VALUES FROM "readings_1h" WITH KEY = "station"')
        except httpx.HTTPError as exc:
            msg = f"InfluxDB injoignable / unreachable at {args.influx_url}: {exc}"
            raise CliError(msg) from None
        stations = [v[1] for s in tags[0].get("series", []) for v in s["values"]] or ["none"]
        for board in build_boards():
            for _label, quantity in POLLUTANTS:
                variables = {
                    "territoire": VariableValue(".*"),
                    "station": VariableValue(stations, multi=True, include_all=True),
                    "quantity": VariableValue(quantity),
                    "pas": VariableValue("1h"),
                }
                if not any(v["name"] == "station" and v["multi"] for v in board.variables):
                    variables["station"] = VariableValue(stations[0])
                for panel in board.panels:
                    for target in panel.get("targets", []):
                        minimum = panel.get("interval")
                        interval = panel_interval_ms(
                            start, end, 1000, rv(minimum, variables) if minimum else None
                        )
                        q = render_query(target["query"], variables, start, end, interval)
                        res = run(q)[0]
                        rows = sum(len(s["values"]) for s in res.get("series", []))
                        status = "ERREUR " + res["error"] if "error" in res else f"{rows} lignes"
                        failures += "error" in res
                        print(f"{board.uid:22} {quantity:6} {panel['title'][:60]:60} {status}")
    return 1 if failures else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from dashboards.grafana import DATASOURCE_UID

    d = sub.add_parser("dashboards", help="tableaux de bord Grafana / Grafana dashboards")
    dsub = d.add_subparsers(dest="dashboards_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--api-url",
            help="API à interroger pour la liste des QPV et des stations (ex. "
            "http://localhost:8000) ; sans elle : les QPV livrés, sans station / API read for "
            "the QPV and stations; without it: the shipped QPV, no station",
        )
        p.add_argument(
            "--public-api-url",
            help="adresse de l'API vue par les navigateurs (couches GeoJSON de la carte) ; par "
            "défaut --api-url / API address as browsers see it",
        )
        p.add_argument("--datasource-uid", default=DATASOURCE_UID)
        p.add_argument(
            "--min-window-coverage",
            help="couverture minimale d'une fenêtre horaire ou journalière pour les chiffres "
            "des QPV (défaut : AIRQ_QPV_MIN_WINDOW_COVERAGE, sinon 0.75) / minimum window "
            "coverage for the QPV figures",
        )

    b = dsub.add_parser("build", help="écrire les JSON / write the dashboard JSON")
    common(b)
    b.add_argument("--out", help="dossier de sortie (défaut : dashboards/json du paquet)")
    b.set_defaults(func=build)

    p = dsub.add_parser("push", help="installer dans un Grafana / install into a Grafana")
    common(p)
    p.add_argument("--url", required=True, help="adresse de Grafana, ex. http://localhost:3000")
    p.add_argument("--token", help="jeton de compte de service (ou AIRQ_GRAFANA_TOKEN)")
    p.add_argument("--influx-url", help="créer/mettre à jour la source InfluxDB avec cette URL")
    p.add_argument("--influx-db", default="airquartiers")
    p.set_defaults(func=push)

    c = dsub.add_parser("check", help="exécuter chaque requête / run every panel query")
    c.add_argument("--influx-url", default="http://localhost:8086")
    c.add_argument("--influx-db", default="airquartiers")
    c.add_argument("--days", type=float, default=30)
    c.set_defaults(func=check)
