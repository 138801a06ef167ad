"""The four AirQuartiers dashboards, as code. Titles and descriptions are French first (the
readers are local authorities), with English in the descriptions.

Every time series panel reads the aggregates of the storage contract (``airq_core.storage``):
hourly and daily windows in retention policy ``agg``, never the raw readings, so that a year
on screen stays as cheap as a day. Gaps stay gaps: queries use ``fill(null)`` and the panels
do not join points across missing hours.

Window coverage (issue 15): the panels that give councils air-quality figures from hourly or
daily windows (daily means of the regional map, daily means of a station, the QPV comparison,
days over the WHO guideline, ATMO sub-indices, annual means) read only the windows whose
``<q>_coverage`` is at least ``min_window_coverage`` (default 0.75, the API's
``AIRQ_QPV_MIN_WINDOW_COVERAGE``). InfluxQL 1.6 cannot test a field for absence (a condition
on a missing field is false), so windows written before coverage existed are left out too;
``airq rollup rebuild --start …`` rewrites them with their coverage (docs/qpv-dashboards.md).
The daily coverage panels (station page, data-quality board) count only the hours whose
window is covered enough, the share of a day's 24 hours the QPV statistics count. The raw
series of the station page and the rest of the data-quality board show every window, with the
coverage and the flagged values beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from airq_core.i18n import SOURCE_LANGUAGE, message_in
from airq_core.reference_values import (
    ATMO_CLASSES,
    ATMO_THRESHOLDS,
    WHO_24H,
    annual_references,
    daily_statistic,
)
from airq_core.storage import (
    AGG_RP,
    INGEST_STATS_MEASUREMENT,
    RAW_RP,
    REJECTED_PREFIX,
    TAG_STATION,
    TAG_WORKER,
    TIERS,
    agg_field,
)
from dashboards.grafana import (
    DATASOURCE_UID,
    Board,
    Target,
    custom_variable,
    legend_options,
    query_variable,
    series_config,
    thresholds,
)
from dashboards.territory import QpvEntry, Territory

UG = "suffix: µg/m³"
H1 = f'"{AGG_RP}"."{TIERS["1h"][0]}"'
D1 = f'"{AGG_RP}"."{TIERS["1d_paris"][0]}"'
HEALTH = f'"{RAW_RP}"."station_health"'
INGEST_STATS = f'"{RAW_RP}"."{INGEST_STATS_MEASUREMENT}"'
# airq_core.wire.REASONS in words an operator reads (a test checks every reason is here)
REJECTION_LABELS_FR = {
    "bad_topic": "sujet MQTT invalide",
    "payload_too_large": "message trop gros",
    "not_json": "pas du JSON",
    "bad_structure": "structure invalide",
    "too_many_readings": "trop de mesures",
    "bad_ts": "horodatage invalide",
    "ts_future": "horodatage dans le futur",
    "ts_too_old": "horodatage trop ancien",
    "unknown_sensor": "capteur inconnu",
    "bad_values": "valeurs absentes",
    "unknown_quantity": "grandeur inconnue",
    "not_number": "valeur non numérique",
    "out_of_range": "valeur hors plage",
    "bad_seq": "compteur seq invalide",
    "bad_flags": "drapeaux invalides",
    "unknown_station": "station inconnue",
    "retained": "message retenu rejoué",
    "internal": "erreur interne (lettre morte)",
}
TZ = "tz('Europe/Paris')"
ST_MULTI = f'"{TAG_STATION}" =~ /^$station$/'
ST_ONE = f"\"{TAG_STATION}\" = '$station'"
# the language of the titles while build_boards runs
_LANG: ContextVar[str] = ContextVar("dashboards_lang", default=SOURCE_LANGUAGE)


def _t(key: str, **kw: object) -> str:
    """A title from the ``dashboards`` catalogues (airq_core/locale, docs/translations.md)."""
    return message_in(_LANG.get(), "dashboards", key, **kw)


POLLUTANTS = [("PM2,5", "pm2_5"), ("PM10", "pm10"), ("NO₂", "no2")]
INDICATIF = (
    "Classe **indicative** calculée sur un capteur citoyen, *pas l'indice ATMO officiel* "
    "(produit par l'AASQA, Atmo Hauts-de-France, pour une zone entière). "
    "*Indicative class from a citizen sensor, not the official ATMO index.*"
)
TAGS = ["airquartiers", "qualité de l'air", "QPV"]
# the API's default AIRQ_QPV_MIN_WINDOW_COVERAGE (api/qpv/service.py QpvSettings)
DEFAULT_MIN_WINDOW_COVERAGE = 0.75
SILENCE_STEPS = thresholds([(None, "green"), (2, "orange"), (24, "red")])


def check_min_window_coverage(value: float) -> float:
    """The coverage threshold as given, or ValueError naming the setting."""
    if not (isinstance(value, int | float) and 0 <= value <= 1):
        raise ValueError(f"min_window_coverage must be a share between 0 and 1, not {value!r}")
    return float(value)


def covered(quantity: str, min_cov: float) -> str:
    """InfluxQL condition keeping the windows of ``quantity`` whose coverage is known and at
    least ``min_cov`` (a window without the field fails it: InfluxQL has no absence test)."""
    return f'"{agg_field(quantity, "coverage")}" >= {min_cov:g}'


def coverage_note(min_cov: float) -> str:
    """The sentence every filtered panel's description ends with (French, then English)."""
    pct = f"{min_cov * 100:g}"
    return (
        f"Fenêtres (heures ou jours) retenues : couverture d'au moins {pct} % des mesures "
        f"attendues ; celles en dessous de {pct} %, et celles écrites avant le calcul de la "
        f"couverture (à recalculer avec `airq rollup rebuild`), sont écartées. *Windows under "
        f"{pct} % coverage are left out, as are windows written before coverage existed "
        f"(rewrite them with `airq rollup rebuild`).*"
    )


def _atmo_steps(quantity: str) -> list[tuple[float | None, str]]:
    bounds = ATMO_THRESHOLDS[quantity]
    steps: list[tuple[float | None, str]] = [(None, ATMO_CLASSES[0].colour)]
    # a value equal to a bound stays in the lower class: the next colour starts just above
    steps += [(b + 0.001, c.colour) for b, c in zip(bounds, ATMO_CLASSES[1:], strict=True)]
    return steps


def _common_variables(b: Board, territory: Territory, station_multi: bool = True) -> None:
    b.variables.append(
        custom_variable(
            "territoire",
            _t("var_territory"),
            territory.choices(),
            "Stations dans et autour des QPV d'un département ou d'une commune "
            "(liste construite par `airq dashboards build --api-url`). "
            "*Stations in and around the QPV of a department or commune.*",
        )
    )
    b.variables.append(
        query_variable(
            "station",
            _t("var_station"),
            f'SHOW TAG VALUES FROM "{TIERS["1h"][0]}" WITH KEY = "{TAG_STATION}" '
            f'WHERE "{TAG_STATION}" =~ /^(?:${{territoire:raw}})$/',
            b.datasource_uid,
            multi=station_multi,
            include_all=station_multi,
        )
    )


def _quantity_variable(b: Board) -> None:
    b.variables.append(
        custom_variable(
            "quantity",
            _t("var_quantity"),
            POLLUTANTS,
            "Grandeur mesurée. *Measured quantity.*",
        )
    )


def _per_quantity_overrides(kind: str) -> list[dict[str, Any]]:
    """Colours per pollutant for fields named (table) or ending with (series) the quantity:
    ATMO-like classes for particles, the WHO 24-h guideline for NO₂ (whose ATMO sub-index
    uses hourly maxima, not daily means)."""
    out = []
    for _label, q in POLLUTANTS:
        steps = [(None, "green"), (WHO_24H[q] + 0.001, "red")] if q == "no2" else _atmo_steps(q)
        matcher = (
            {"id": "byName", "options": q}
            if kind == "table"
            else {"id": "byRegexp", "options": f".*{q}$"}
        )
        props: list[dict[str, Any]]
        if kind == "table":
            props = [
                {"id": "thresholds", "value": thresholds(steps)},
                {"id": "custom.cellOptions", "value": {"type": "color-background"}},
            ]
        else:
            who = thresholds([(None, "transparent"), (WHO_24H[q], "red")])
            props = [
                {"id": "thresholds", "value": who},
                {"id": "custom.thresholdsStyle", "value": {"mode": "dashed"}},
            ]
        out.append({"matcher": matcher, "properties": props})
    return out


# -- regional map ---------------------------------------------------------------------------
def _geomap_layers(api_url: str, quantity: str, label: str, days: int) -> list[dict[str, Any]]:
    base = api_url.rstrip("/")
    rules = []
    for cls in ATMO_CLASSES:
        for suffix, opacity in (("", 0.7), ("_partiel", 0.3)):
            rules.append(
                {
                    "check": {
                        "property": "style_class",
                        "operation": "eq",
                        "value": cls.key + suffix,
                    },
                    "style": {"color": {"fixed": cls.colour}, "opacity": opacity, "lineWidth": 1},
                }
            )
    point_rules = [
        {
            "check": {"property": "atmo_class", "operation": "eq", "value": cls.key},
            "style": {
                "color": {"fixed": cls.colour},
                "opacity": 0.9,
                "size": {"fixed": 8},
                "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
            },
        }
        for cls in ATMO_CLASSES
    ]
    grey = {"color": {"fixed": "#B0B0B0"}, "opacity": 0.3, "lineWidth": 1}
    return [
        {
            "type": "geojson",
            "name": f"QPV — {label}, {days} derniers jours",
            "config": {
                "src": f"{base}/v1/qpv/exposure.geojson?quantity={quantity}"
                f"&start=now-{days}d&end=now",
                "rules": rules,
                "style": grey,
            },
            "tooltip": True,
        },
        {
            "type": "geojson",
            "name": f"Stations — {label}, dernier jour (indicatif)",
            "config": {
                "src": f"{base}/v1/qpv/stations.geojson?quantity={quantity}",
                "rules": point_rules,
                "style": {**grey, "size": {"fixed": 6}},
            },
            "tooltip": True,
        },
    ]


def _geomap(b: Board, api_url: str, quantity: str, label: str, into: Any = None) -> None:
    b.panel(
        "geomap",
        _t("map_panel", label=label),
        f"Quartiers prioritaires colorés selon la classe indicative (type ATMO) de la moyenne des "
        f"jours valides des 30 derniers jours, mesurée dans le QPV (ou, à défaut, à moins de "
        f"300 m / 1 km). Couleur pâle : couverture insuffisante (< 75 % des heures) ou mesure "
        f"hors du quartier. L'API écarte les heures dont la couverture est sous "
        f"`AIRQ_QPV_MIN_WINDOW_COVERAGE` (75 % par défaut). Gris : pas de donnée. Points : "
        f"stations, classe indicative de leur dernier jour. {INDICATIF} Source des contours : "
        f"ANCT (ex-CGET), QPV 2015, Licence Ouverte. *QPV coloured by the indicative class of "
        f"their 30-day exposure; pale = low coverage or measured outside; the API leaves out "
        f"hours under AIRQ_QPV_MIN_WINDOW_COVERAGE (75 % by default) coverage; dots = "
        f"stations, latest day.*",
        w=24,
        h=16,
        options={
            "view": {"id": "coords", "lat": 50.25, "lon": 2.85, "zoom": 8, "allLayers": True},
            "controls": {
                "showZoom": True,
                "mouseWheelZoom": True,
                "showAttribution": True,
                "showScale": True,
                "showMeasure": False,
            },
            "basemap": {"type": "default", "name": "Fond de carte"},
            "layers": _geomap_layers(api_url, quantity, label, 30),
            "tooltip": {"mode": "details"},
        },
        into=into,
    )


def regional_map(
    territory: Territory,
    api_url: str,
    uid: str = DATASOURCE_UID,
    min_cov: float = DEFAULT_MIN_WINDOW_COVERAGE,
) -> Board:
    b = Board(
        "airq-carte",
        _t("board_map"),
        "Quartiers prioritaires et stations citoyennes des Hauts-de-France. "
        "*Regional map: priority neighbourhoods and citizen stations.*",
        TAGS,
        datasource_uid=uid,
    )
    _common_variables(b, territory)
    _quantity_variable(b)
    legend = " · ".join(f"{c.label_fr} ({c.colour})" for c in ATMO_CLASSES)
    b.text(
        _t("read_the_map"),
        f"**Classes (type ATMO 2021)** : {legend}.\n\n{INDICATIF}\n\n"
        "Les valeurs guides de l'OMS (2021, 24 h) : PM2,5 15 µg/m³, PM10 45 µg/m³, "
        "NO₂ 25 µg/m³. La carte des QPV couvre les 30 derniers jours ; les tableaux suivent la "
        "période choisie en haut à droite. *The QPV map covers the last 30 days; tables follow "
        "the selected period.*",
        h=5,
    )
    _geomap(b, api_url, "pm2_5", "PM2,5")
    b.panel(
        "table",
        _t("last_day_by_station"),
        "Moyenne du dernier jour (heure de Paris) de chaque station, colorée par classe "
        "indicative (particules) ou par rapport à la valeur guide OMS 24 h (NO₂). "
        f"{coverage_note(min_cov)} *Latest daily mean per station.*",
        w=10,
        h=10,
        targets=[
            Target(
                f'SELECT last("${{quantity}}_mean") AS "$quantity", '
                f'last("${{quantity}}_count") AS "mesures" FROM {D1} '
                f"WHERE $timeFilter AND {ST_MULTI} AND {covered('${quantity}', min_cov)} "
                f'GROUP BY "{TAG_STATION}"',
                ("time", "$quantity", "mesures"),
                fmt="table",
            )
        ],
        field_config={"defaults": {"decimals": 1}, "overrides": _per_quantity_overrides("table")},
        options={"showHeader": True, "footer": {"show": False}},
    )
    b.panel(
        "timeseries",
        _t("daily_means_by_station"),
        "Moyennes par jour civil (heure de Paris), trait rouge : valeur guide OMS 24 h. "
        f"Les trous sont des jours sans donnée retenue. {coverage_note(min_cov)} "
        "*Daily means; red dashes: WHO 24-h guideline.*",
        w=14,
        h=10,
        targets=[
            Target(
                f'SELECT mean("${{quantity}}_mean") AS "$quantity" FROM {D1} '
                f"WHERE $timeFilter AND {ST_MULTI} AND {covered('${quantity}', min_cov)} "
                f'GROUP BY time(1d), "{TAG_STATION}" fill(null) {TZ}',
                ("time", "$quantity"),
                alias="$tag_station $col",
            )
        ],
        field_config={**series_config(UG), "overrides": _per_quantity_overrides("series")},
        options=legend_options(),
    )
    for label, q in POLLUTANTS[1:]:
        row = b.row(_t("map_row", label=label), collapsed=True)
        _geomap(b, api_url, q, label, into=row)
    return b


# -- station page -------------------------------------------------------------------------------
def station_page(
    territory: Territory, uid: str = DATASOURCE_UID, min_cov: float = DEFAULT_MIN_WINDOW_COVERAGE
) -> Board:
    b = Board(
        "airq-station",
        _t("board_station"),
        "Séries d'une station : particules brutes et corrigées de l'humidité, NO₂, humidité, "
        "couverture. *One station: raw and humidity-corrected PM, NO2, humidity, coverage.*",
        TAGS,
        time_from="now-7d",
        datasource_uid=uid,
    )
    _common_variables(b, territory, station_multi=False)
    b.variables.append(
        custom_variable(
            "pas",
            _t("var_step"),
            [("heure", "1h"), ("minute (courtes périodes)", "1m")],
            "Agrégats lus : horaires, ou à la minute pour quelques jours. "
            "*Aggregates read: hourly, or per minute for short periods.*",
        )
    )
    src = f'"{AGG_RP}"."readings_$pas"'
    for label, q in POLLUTANTS[:2]:
        b.panel(
            "timeseries",
            _t("raw_and_corrected", label=label),
            f"Moyennes {label} du capteur (brut) et corrigées de l'humidité (formule hackAIR, "
            f"calculée par l'ingestion à côté de la valeur brute). Trait rouge : valeur guide "
            f"OMS 24 h ({WHO_24H[q]:g} µg/m³), à comparer à des moyennes journalières. Les trous "
            f"sont des heures sans donnée. Toutes les fenêtres sont montrées, même sous "
            f"{min_cov * 100:g} % de couverture (voir le panneau Couverture). *Raw and "
            f"humidity-corrected {label}; gaps = no data; every window shown, whatever its "
            f"coverage.*",
            w=12,
            h=9,
            interval="$pas",
            targets=[
                Target(
                    f'SELECT mean("{q}_mean") AS "{label} brut", '
                    f'mean("{q}_hcorr_mean") AS "{label} corrigé (humidité)" '
                    f"FROM {src} WHERE {ST_ONE} AND $timeFilter "
                    f"GROUP BY time($__interval) fill(null)",
                    ("time", f"{label} brut", f"{label} corrigé (humidité)"),
                )
            ],
            field_config=series_config(UG, WHO_24H[q]),
            options=legend_options(),
        )
    b.panel(
        "timeseries",
        _t("no2"),
        "Dioxyde d'azote (capteur électrochimique, indicatif). Trait rouge : valeur guide OMS "
        "24 h (25 µg/m³). *Nitrogen dioxide, indicative.*",
        w=12,
        h=9,
        interval="$pas",
        targets=[
            Target(
                f'SELECT mean("no2_mean") AS "NO₂" FROM {src} WHERE {ST_ONE} AND $timeFilter '
                f"GROUP BY time($__interval) fill(null)",
                ("time", "NO₂"),
            )
        ],
        field_config=series_config(UG, WHO_24H["no2"]),
        options=legend_options(),
    )
    b.panel(
        "timeseries",
        _t("humidity_temperature"),
        "Au-delà de 70–80 % d'humidité, les capteurs optiques surestiment les particules "
        "(trait à 75 %). *Above 70–80 % RH optical PM sensors over-read.*",
        w=12,
        h=9,
        interval="$pas",
        targets=[
            Target(
                f'SELECT mean("humidity_mean") AS "Humidité (%)", '
                f'mean("temperature_mean") AS "Température (°C)" FROM {src} '
                f"WHERE {ST_ONE} AND $timeFilter GROUP BY time($__interval) fill(null)",
                ("time", "Humidité (%)", "Température (°C)"),
            )
        ],
        field_config=series_config("percent", 75, min_zero=False),
        options=legend_options(),
    )
    for label, q in POLLUTANTS[:2]:
        b.panel(
            "timeseries",
            _t("daily_means_who", label=label),
            f"Moyennes par jour civil (heure de Paris) ; barre au-dessus du trait rouge : jour "
            f"au-dessus de la valeur guide OMS 24 h ({WHO_24H[q]:g} µg/m³). "
            f"{coverage_note(min_cov)} *Daily means.*",
            w=12,
            h=8,
            targets=[
                Target(
                    f'SELECT mean("{q}_mean") AS "{label} brut", '
                    f'mean("{q}_hcorr_mean") AS "{label} corrigé" FROM {D1} '
                    f"WHERE {ST_ONE} AND $timeFilter AND {covered(q, min_cov)} "
                    f"GROUP BY time(1d) fill(null) {TZ}",
                    ("time", f"{label} brut", f"{label} corrigé"),
                )
            ],
            field_config=series_config(UG, WHO_24H[q], bars=True),
            options=legend_options(),
        )
    pct = f"{min_cov * 100:g}"
    b.panel(
        "timeseries",
        _t("daily_coverage", pct=min_cov * 100),
        f"Part des 24 heures de chaque jour (heure de Paris) dont la fenêtre horaire PM2,5 a "
        f"une couverture d'au moins {pct} % des mesures attendues, la règle des statistiques "
        f"QPV de l'API (`AIRQ_QPV_MIN_WINDOW_COVERAGE`) : une heure sans fenêtre, sous {pct} % "
        f"ou écrite avant le calcul de la couverture (à recalculer avec `airq rollup rebuild`) "
        f"ne compte pas. En dessous de 75 % des heures (trait, 18 sur 24), le jour n'est pas "
        f"retenu dans les statistiques. *Share of the day's 24 hours whose PM2,5 hourly window "
        f"has at least {pct} % of its expected readings (the QPV statistics' rule); below 75 % "
        f"of the hours a day is not counted.*",
        w=24,
        h=6,
        targets=[
            Target(
                f'SELECT count("pm2_5_mean") * 100 / 24 AS "couverture" FROM {H1} '
                f"WHERE {ST_ONE} AND $timeFilter AND {covered('pm2_5', min_cov)} "
                f"GROUP BY time(1d) fill(0) {TZ}",
                ("time", "couverture"),
            )
        ],
        field_config=series_config("percent", 75, bars=True),
        options=legend_options(),
    )
    cov_cols = ", ".join(
        f'mean("{agg_field(q, "coverage")}") * 100 AS "{label}"' for label, q in POLLUTANTS
    )
    b.panel(
        "timeseries",
        _t("window_coverage"),
        f"Part des mesures attendues dans l'heure qui sont valides, par polluant (calculée par "
        f"l'ingestion). Sous le trait ({min_cov * 100:g} %), l'heure et le jour qui la "
        f"contient sont écartés des moyennes journalières, des comparaisons QPV et des indices. "
        f"Une fenêtre écrite avant le calcul de la couverture n'en a pas : `airq rollup "
        f"rebuild` la recalcule. *Share of the expected readings that are valid, per hour; "
        f"hours under {min_cov * 100:g} % are left out of the daily means, QPV comparisons "
        f"and indices.*",
        w=12,
        h=8,
        interval="1h",
        targets=[
            Target(
                f"SELECT {cov_cols} FROM {H1} WHERE {ST_ONE} AND $timeFilter "
                f"GROUP BY time($__interval) fill(null)",
                ("time", *(label for label, _ in POLLUTANTS)),
            )
        ],
        field_config={
            **series_config("percent", min_cov * 100),
            "overrides": [],
        },
        options=legend_options(),
    )
    flagged_cols = ", ".join(
        f'sum("{agg_field(q, "flagged")}") AS "{label}"' for label, q in POLLUTANTS
    )
    b.panel(
        "timeseries",
        _t("flagged"),
        "Nombre de mesures laissées hors des moyennes à cause d'un drapeau (préchauffage, "
        "horloge douteuse, erreur du capteur… ; « humide » n'exclut pas), par heure et par "
        "polluant. *Readings left out of the means for a flag (warm-up, suspect clock, device "
        "error…), per hour and quantity.*",
        w=12,
        h=8,
        interval="1h",
        targets=[
            Target(
                f"SELECT {flagged_cols} FROM {H1} WHERE {ST_ONE} AND $timeFilter "
                f"GROUP BY time($__interval) fill(null)",
                ("time", *(label for label, _ in POLLUTANTS)),
            )
        ],
        field_config=series_config("short", bars=True),
        options=legend_options(),
    )
    return b


# -- QPV comparison -----------------------------------------------------------------------------
ZONE_LABELS = {"qpv": "dans le QPV", "hors_qpv": "hors QPV (commune)"}


def _zone_label(zone: str) -> str:
    if zone.startswith("buffer_"):
        return f"à moins de {zone.removeprefix('buffer_')}"
    return ZONE_LABELS.get(zone, zone)


def _zone_hourly(ids: tuple[str, ...], quantity: str, min_cov: float) -> str:
    """The zone's hourly values: the mean over its stations of their hourly means, from the
    windows covered enough."""
    regex = "|".join(ids)
    return (
        f'SELECT mean("{agg_field(quantity, "mean")}") AS "valeur" FROM {H1} '
        f'WHERE "{TAG_STATION}" =~ /^(?:{regex})$/ AND {covered(quantity, min_cov)} '
        f"AND $timeFilter GROUP BY time(1h) fill(none)"
    )


def _zone_targets(
    monitored: list[QpvEntry],
    zones: list[str],
    query: Callable[[tuple[str, ...]], str],
    columns: tuple[str, ...],
) -> list[Target]:
    """One target per zone (in the order of ``zones``) of each monitored QPV that holds
    stations, ``query`` built from the zone's station ids, named "QPV (code) — zone"."""
    return [
        Target(query(ids), columns, alias=f"{q.name} ({q.code}) — {_zone_label(z)}")
        for q in monitored
        for z in zones
        if (ids := q.zones.get(z, ()))
    ]


def _series_to_rows(
    reducers: list[str], rename: dict[str, str], **reduce_options: Any
) -> list[dict[str, Any]]:
    """Table transformations: one row per series with its ``reducers`` (Grafana's reduce,
    ``reduce_options`` added after them), columns renamed by ``rename``."""
    return [
        {
            "id": "reduce",
            "options": {"mode": "seriesToRows", "reducers": reducers, **reduce_options},
        },
        {"id": "organize", "options": {"renameByName": rename}},
    ]


def qpv_comparison(
    territory: Territory,
    api_url: str,
    uid: str = DATASOURCE_UID,
    min_cov: float = DEFAULT_MIN_WINDOW_COVERAGE,
) -> Board:
    b = Board(
        "airq-qpv-comparaison",
        _t("board_comparison"),
        "Exposition mesurée dans chaque quartier prioritaire équipé, à ses abords et dans le "
        "reste de la commune. *Inside vs outside the priority neighbourhoods.*",
        TAGS,
        datasource_uid=uid,
    )
    _quantity_variable(b)
    zones = ["qpv"]
    if territory.buffers_m:
        zones.append(f"buffer_{territory.buffers_m[0]}m")
    zones.append("hors_qpv")
    monitored = territory.monitored()
    base = api_url.rstrip("/")
    b.links.append(
        {
            "title": _t("full_statistics"),
            "type": "link",
            # the API reads Unix seconds; ${__from} alone is milliseconds
            "url": f"{base}/v1/qpv/exposure.geojson?quantity=$quantity"
            f"&start=${{__from:date:seconds}}&end=${{__to:date:seconds}}",
            "targetBlank": True,
            "icon": "external link",
        }
    )
    if not monitored:
        b.text(
            _t("no_qpv_equipped"),
            f"Aucune station n'est placée dans l'un des {len(territory.qpv)} QPV connus ni à ses "
            "abords dans la liste utilisée pour construire ce tableau de bord. Reconstruisez-le "
            "après l'enregistrement des stations : `airq dashboards build --api-url "
            "http://…:8000` (ou `push`). *No station in or near any of the "
            f"{len(territory.qpv)} known QPV when these dashboards were built: rebuild them with "
            "`--api-url` once stations are registered.*",
            h=5,
        )
        return b
    b.text(
        _t("method"),
        "Chaque ligne est une zone : le QPV, ses abords (distance au contour calculée en "
        "Lambert-93) et le reste de la commune hors de tout QPV. Valeur horaire d'une zone : "
        "moyenne des moyennes horaires de ses stations. *Heures* = heures avec données sur la "
        "période ; une couverture faible rend la comparaison fragile. Exporter : menu du "
        "panneau → Inspecter → Données → Télécharger CSV. Les statistiques complètes (médiane, "
        "p95, jours valides, couverture) sont dans l'API (lien en haut). *Export: panel menu → "
        f"Inspect → Data → Download CSV.*\n\n{coverage_note(min_cov)}",
        h=6,
    )
    targets = _zone_targets(
        monitored, zones, lambda ids: _zone_hourly(ids, "${quantity}", min_cov), ("time", "valeur")
    )
    b.panel(
        "table",
        _t("inside_outside"),
        "Moyenne, maximum horaire et nombre d'heures avec données, par zone. "
        f"{coverage_note(min_cov)} *Mean, hourly maximum and hours with data, per zone.*",
        w=24,
        h=max(6, 2 + len(targets)),
        targets=targets,
        transformations=_series_to_rows(
            ["mean", "max", "count"],
            {
                "Field": "Zone",
                "Mean": "Moyenne (µg/m³)",
                "Max": "Maximum horaire",
                "Count": "Heures avec données",
            },
            includeTimeField=False,
        ),
        field_config={"defaults": {"decimals": 1}, "overrides": []},
        options={"showHeader": True, "footer": {"show": False}},
    )
    for label, qty in POLLUTANTS:
        limit = WHO_24H[qty]

        def days_above(ids: tuple[str, ...], qty: str = qty, limit: float = limit) -> str:
            return (
                f'SELECT count("jour") AS "jours" FROM (SELECT mean("valeur") AS "jour", '
                f'count("valeur") AS "heures" FROM ({_zone_hourly(ids, qty, min_cov)}) '
                f"WHERE $timeFilter GROUP BY time(1d) {TZ}) "
                f'WHERE "heures" >= 18 AND "jour" > {limit:g}'
            )

        day_targets = _zone_targets(monitored, zones, days_above, ("time", "jours"))
        b.panel(
            "table",
            _t("days_above_who", label=label, limit=limit),
            "Nombre de jours valides (au moins 18 heures de données) dont la moyenne dépasse la "
            "valeur guide OMS 2021 sur 24 h. Une zone sans ligne n'a aucun jour au-dessus. "
            f"{coverage_note(min_cov)} *Valid days above the WHO 24-h guideline.*",
            w=8,
            h=max(6, 2 + len(day_targets)),
            targets=day_targets,
            transformations=_series_to_rows(["sum"], {"Field": "Zone", "Total": "Jours"}),
            options={"showHeader": True},
        )
    _atmo_index_panels(b, monitored, base, min_cov)
    return b


def _valid_days(ids: tuple[str, ...], qty: str, min_cov: float) -> str:
    """The zone's valid days (at least 18 hourly values) and their mean of hourly means."""
    return (
        f'SELECT "jour" FROM (SELECT mean("valeur") AS "jour", count("valeur") AS "heures" '
        f"FROM ({_zone_hourly(ids, qty, min_cov)}) WHERE $timeFilter GROUP BY time(1d) {TZ}) "
        f'WHERE "heures" >= 18'
    )


def _worst_station_day(ids: tuple[str, ...], qty: str, min_cov: float) -> str:
    """Per day, the worst station's ATMO statistic (daily mean for particles, maximum hourly
    mean for gases) over the stations with a valid day (at least 18 hourly means)."""
    regex = "|".join(ids)
    stat = "mean" if daily_statistic(qty) == "mean" else "max"
    return (
        f'SELECT max("v") AS "valeur" FROM (SELECT {stat}("{qty}_mean") AS "v", '
        f'count("{qty}_mean") AS "h" FROM {H1} WHERE "{TAG_STATION}" =~ /^(?:{regex})$/ '
        f"AND {covered(qty, min_cov)} AND $timeFilter "
        f'GROUP BY time(1d), "{TAG_STATION}" {TZ}) '
        f'WHERE "h" >= 18 AND $timeFilter GROUP BY time(1d) fill(none) {TZ}'
    )


def _atmo_index_panels(b: Board, monitored: list[Any], base: str, min_cov: float) -> None:
    """The overall daily ATMO index (its sub-indices, worst station of the QPV) and the annual
    means against the WHO 2021 and EU annual values, for each monitored QPV."""
    inside = [q for q in monitored if q.zones.get("qpv")]
    if not inside:
        return
    targets = [
        Target(
            _worst_station_day(q.zones["qpv"], qty, min_cov),
            ("time", "valeur"),
            alias=f"{q.name} ({q.code}) — {label}",
        )
        for q in inside
        for label, qty in POLLUTANTS
    ]
    overrides = [
        {
            "matcher": {"id": "byRegexp", "options": f".*— {label}$"},
            "properties": [{"id": "thresholds", "value": thresholds(_atmo_steps(qty))}],
        }
        for label, qty in POLLUTANTS
    ]
    b.panel(
        "state-timeline",
        _t("atmo_timeline"),
        "Chaque ligne : un sous-indice (arrêté du 10 juillet 2020), coloré selon sa classe : "
        "moyenne journalière pour PM2,5 et PM10, maximum des moyennes horaires pour NO₂, pour la "
        "station la plus exposée du quartier, jours avec au moins 18 heures de données. "
        "L'indice du jour est la couleur la plus mauvaise de la colonne ; l'API "
        f"({base}/v1/indices/atmo/qpv/CODE?day=AAAA-MM-JJ) le donne avec le polluant qui le "
        f"détermine. {INDICATIF} {coverage_note(min_cov)} *Daily ATMO sub-indices inside the "
        "QPV (worst station); the "
        "index is the worst colour of the day.*",
        w=24,
        h=max(6, 2 + len(targets)),
        targets=targets,
        field_config={
            "defaults": {"color": {"mode": "thresholds"}, "decimals": 1, "unit": UG},
            "overrides": overrides,
        },
        options={"showValue": "auto", "mergeValues": False, "rowHeight": 0.8},
    )
    for label, qty in POLLUTANTS:
        refs = annual_references(qty)
        steps: list[tuple[float | None, str]] = [(None, "green")]
        steps += [
            (v + 0.001, c) for (_, v), c in zip(refs, ("yellow", "orange", "red"), strict=True)
        ]
        names = ", ".join(f"{r.label_fr} {v:g} µg/m³" for r, v in refs)
        b.panel(
            "table",
            _t("annual_mean", label=label),
            f"Choisir une année civile dans le sélecteur de période. Moyenne des moyennes "
            f"journalières des jours valides (au moins 18 heures) de la zone ; {names}. "
            f"Couverture : jours valides / jours de l'année ; en dessous de 14 % (51 jours) la "
            f"moyenne n'est pas comparable, 90 % (329 jours) pour une mesure fixe. Vert : sous la "
            f"valeur OMS ; jaune, orange, rouge : au-dessus de l'OMS, de la valeur UE 2030, de la "
            f"valeur UE en vigueur. {INDICATIF} {coverage_note(min_cov)} *Annual mean of valid "
            f"days vs WHO 2021 and EU "
            f"annual values; valid days give the coverage.*",
            w=8,
            h=max(6, 2 + len(inside)),
            targets=[
                Target(
                    _valid_days(q.zones["qpv"], qty, min_cov),
                    ("time", "jour"),
                    alias=f"{q.name} ({q.code})",
                )
                for q in inside
            ],
            transformations=_series_to_rows(
                ["mean", "count"],
                {"Field": "QPV", "Mean": "Moyenne (µg/m³)", "Count": "Jours valides"},
            ),
            field_config={
                "defaults": {"decimals": 1},
                "overrides": [
                    {
                        "matcher": {"id": "byName", "options": "Moyenne (µg/m³)"},
                        "properties": [
                            {"id": "thresholds", "value": thresholds(steps)},
                            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                        ],
                    }
                ],
            },
            options={"showHeader": True},
        )


# -- data quality -----------------------------------------------------------------------------
def data_quality(
    territory: Territory, uid: str = DATASOURCE_UID, min_cov: float = DEFAULT_MIN_WINDOW_COVERAGE
) -> Board:
    b = Board(
        "airq-qualite",
        _t("board_quality"),
        "Stations muettes, capteurs bloqués, couverture horaire, heures humides. "
        "*Silent stations, stuck sensors, coverage, humid hours.*",
        TAGS,
        time_from="now-30d",
        datasource_uid=uid,
    )
    _common_variables(b, territory)
    _quantity_variable(b)
    b.panel(
        "table",
        _t("silent_stuck"),
        "État écrit par l'ingestion : durée depuis la dernière mesure, station déclarée "
        "silencieuse, nombre de grandeurs bloquées (valeurs identiques pendant des heures). "
        "*Station health written by the ingest.*",
        w=12,
        h=9,
        targets=[
            Target(
                f'SELECT last("last_seen_age_s") / 3600 AS "silence (h)", '
                f'last("silent") AS "silencieuse", last("stuck") AS "grandeurs bloquées" '
                f'FROM {HEALTH} WHERE $timeFilter AND {ST_MULTI} GROUP BY "{TAG_STATION}"',
                ("time", "silence (h)", "silencieuse", "grandeurs bloquées"),
                fmt="table",
            )
        ],
        field_config={
            "defaults": {"decimals": 1},
            "overrides": [
                {
                    "matcher": {"id": "byName", "options": "silence (h)"},
                    "properties": [
                        {
                            "id": "thresholds",
                            "value": thresholds([(None, "green"), (2, "orange"), (24, "red")]),
                        },
                        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                    ],
                }
            ],
        },
        options={"showHeader": True},
    )
    b.panel(
        "table",
        _t("last_hour"),
        "Heure du dernier agrégat horaire non vide de chaque station sur la période. "
        "*Last hour with data per station.*",
        w=12,
        h=9,
        targets=[
            Target(
                f'SELECT last("${{quantity}}_count") AS "mesures dans l\'heure" FROM {H1} '
                f'WHERE $timeFilter AND {ST_MULTI} GROUP BY "{TAG_STATION}"',
                ("time", "mesures dans l'heure"),
                fmt="table",
            )
        ],
        field_config={
            "defaults": {},
            "overrides": [
                {
                    "matcher": {"id": "byName", "options": "Time"},
                    "properties": [{"id": "unit", "value": "dateTimeFromNow"}],
                }
            ],
        },
        options={"showHeader": True},
    )
    b.panel(
        "state-timeline",
        _t("coverage_by_station"),
        f"Part des 24 heures de chaque jour dont la fenêtre horaire a une couverture d'au moins "
        f"{min_cov * 100:g} % des mesures attendues (la règle des statistiques QPV) : rouge "
        f"< 50 %, orange < 75 %, vert au-delà ; une station sans aucune heure retenue sur la "
        f"période n'a pas de ligne (voir « Mesures reçues »). *Daily share of the hours whose "
        f"window has at least {min_cov * 100:g} % of its expected readings; a station with no "
        f"such hour has no row.*",
        w=24,
        h=10,
        targets=[
            Target(
                f'SELECT count("${{quantity}}_mean") * 100 / 24 AS "couverture" FROM {H1} '
                f"WHERE $timeFilter AND {ST_MULTI} AND {covered('${quantity}', min_cov)} "
                f'GROUP BY time(1d), "{TAG_STATION}" fill(0) {TZ}',
                ("time", "couverture"),
                alias="$tag_station",
            )
        ],
        field_config={
            "defaults": {
                "unit": "percent",
                "thresholds": thresholds([(None, "red"), (50, "orange"), (75, "green")]),
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        options={"showValue": "never", "mergeValues": False, "rowHeight": 0.8},
    )
    b.panel(
        "bargauge",
        _t("coverage_period"),
        f"Moyenne des couvertures journalières : la part des heures dont la fenêtre a une "
        f"couverture d'au moins {min_cov * 100:g} % des mesures attendues ; une station sans "
        f"aucune heure retenue n'a pas de barre. *Share of the hours with at least "
        f"{min_cov * 100:g} % window coverage over the period; a station with no such hour has "
        f"no bar.*",
        w=12,
        h=9,
        targets=[
            Target(
                f'SELECT mean("c") AS "couverture" FROM (SELECT count("${{quantity}}_mean") * 100 '
                f'/ 24 AS "c" FROM {H1} WHERE $timeFilter AND {ST_MULTI} '
                f"AND {covered('${quantity}', min_cov)} "
                f'GROUP BY time(1d), "{TAG_STATION}" fill(0) {TZ}) GROUP BY "{TAG_STATION}"',
                ("time", "couverture"),
                alias="$tag_station",
            )
        ],
        field_config={
            "defaults": {
                "unit": "percent",
                "min": 0,
                "max": 100,
                "thresholds": thresholds([(None, "red"), (50, "orange"), (75, "green")]),
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        options={"orientation": "horizontal", "displayMode": "basic", "showUnfilled": True},
    )
    b.panel(
        "timeseries",
        _t("humid_hours"),
        "Heures où l'humidité moyenne dépasse 75 % : les particules y sont surestimées et "
        "signalées par l'ingestion ; comparer valeurs brutes et corrigées. "
        "*Hours above 75 % RH, when optical PM sensors over-read.*",
        w=12,
        h=9,
        targets=[
            Target(
                f'SELECT count("humidity_mean") AS "heures humides" FROM {H1} '
                f'WHERE $timeFilter AND {ST_MULTI} AND "humidity_mean" > 75 '
                f'GROUP BY time(1d), "{TAG_STATION}" fill(0) {TZ}',
                ("time", "heures humides"),
                alias="$tag_station",
            )
        ],
        field_config=series_config("h", bars=True),
        options=legend_options(),
    )
    b.panel(
        "timeseries",
        _t("readings_received"),
        "Nombre de mesures reçues par intervalle : une chute signale une panne ou une coupure "
        "réseau. *Readings received per interval.*",
        w=24,
        h=8,
        interval="1h",
        targets=[
            Target(
                f'SELECT sum("${{quantity}}_count") AS "mesures" FROM {H1} '
                f'WHERE $timeFilter AND {ST_MULTI} GROUP BY time($__interval), "{TAG_STATION}" '
                f"fill(0)",
                ("time", "mesures"),
                alias="$tag_station",
            )
        ],
        field_config=series_config("short"),
        options=legend_options(),
    )
    rejected = ", ".join(
        f'non_negative_difference(last("{REJECTED_PREFIX}{r}")) AS "{label}"'
        for r, label in REJECTION_LABELS_FR.items()
    )
    b.panel(
        "timeseries",
        _t("rejected"),
        "Messages refusés par l'ingestion (format, station inconnue, valeur hors plage, "
        "horodatage…) par intervalle et par processus d'ingestion ; les données valides des "
        "mêmes envois sont conservées. *Messages rejected by the ingest, per reason and "
        "interval; the valid part of a message is kept.*",
        w=24,
        h=8,
        interval="1m",
        targets=[
            Target(
                f"SELECT {rejected} FROM {INGEST_STATS} WHERE $timeFilter "
                f'GROUP BY time($__interval), "{TAG_WORKER}" fill(none)',
                ("time", *REJECTION_LABELS_FR.values()),
                alias="$col ($tag_worker)",
            )
        ],
        field_config=series_config("short", bars=True),
        options=legend_options(),
    )
    return b


def build_boards(
    territory: Territory | None = None,
    api_url: str = "http://localhost:8000",
    datasource_uid: str = DATASOURCE_UID,
    min_window_coverage: float = DEFAULT_MIN_WINDOW_COVERAGE,
    lang: str = SOURCE_LANGUAGE,
) -> list[Board]:
    """The four boards. ``min_window_coverage``: the share of expected readings an hourly or
    daily window needs to count in the council figures (the API's
    ``AIRQ_QPV_MIN_WINDOW_COVERAGE``); ValueError outside 0..1. ``lang``: the language of the
    titles (``dashboards`` catalogues; French by default, as committed in dashboards/json)."""
    t = territory or Territory()
    cov = check_min_window_coverage(min_window_coverage)
    token = _LANG.set(lang)
    try:
        return [
            regional_map(t, api_url, datasource_uid, cov),
            station_page(t, datasource_uid, cov),
            qpv_comparison(t, api_url, datasource_uid, cov),
            data_quality(t, datasource_uid, cov),
        ]
    finally:
        _LANG.reset(token)
