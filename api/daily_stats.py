"""Per-day statistics of stations read from the stored hourly aggregates (query builder and
parser, pure). InfluxDB groups the hourly windows of ``readings_1h`` by Europe/Paris civil day
(``GROUP BY time(1d) … tz('Europe/Paris')``, as the dashboards do) and gives, per station,
sensor and quantity, the mean of the hourly means, their maximum and the hours with data: what
the ATMO sub-indices need (the daily tier ``readings_1d_paris`` keeps the maximum of the raw
readings, not of the hourly means that the NO₂/O₃/SO₂ sub-indices use), and what an annual mean
of valid days needs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airq_core.indices import DayStat
from airq_core.readings import format_time
from airq_core.storage import AGG_RP, LOCAL_TZ, TAG_SENSOR, TAG_STATION, TIERS, agg_field

PARIS = ZoneInfo(LOCAL_TZ)
_FIELD_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# station -> quantity -> Paris day (ISO date) -> statistics
DailyStats = dict[str, dict[str, dict[str, DayStat]]]


def paris_midnight(day: date) -> float:
    """Unix time of the Paris local midnight starting ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp()


def day_hours(day: date) -> int:
    """Hours of a Paris civil day: 23, 24 or 25."""
    return round((paris_midnight(day + timedelta(days=1)) - paris_midnight(day)) / 3600)


def build_daily_query(
    quantities: Sequence[str],
    stations: Sequence[str],
    start: float,
    end: float,
    min_coverage: float,
) -> str:
    """InfluxQL, two statements per quantity (in ``quantities`` order): per Paris day, station
    and sensor, ``<q>_mean`` (mean of the hourly means), ``<q>_max`` (their maximum) and
    ``<q>_hours`` (hours counted), first over the hourly windows whose coverage reaches
    ``min_coverage``, then over all windows with ``<q>_covered`` (windows carrying a coverage):
    :func:`parse_daily` takes a day's second figures only when none of its windows carries a
    coverage (written before it existed). ``start``/``end`` are Paris midnights. Station ids
    match the registry pattern, safe in a regex."""
    ids = "|".join(re.escape(s) for s in stations)
    where = (
        f"WHERE time >= '{format_time(start)}' AND time < '{format_time(end)}' "
        f'AND "{TAG_STATION}" =~ /^(?:{ids})$/'
    )
    group = f'GROUP BY time(1d), "{TAG_STATION}", "{TAG_SENSOR}" fill(none) tz(\'{LOCAL_TZ}\')'
    source = f'"{AGG_RP}"."{TIERS["1h"][0]}"'
    statements = []
    for q in quantities:
        if not _FIELD_RE.match(q):
            raise ValueError(f"bad quantity {q[:40]!r}")
        f, cov = agg_field(q, "mean"), agg_field(q, "coverage")
        cols = f'mean("{f}") AS "{q}_mean", max("{f}") AS "{q}_max", count("{f}") AS "{q}_hours"'
        statements.append(
            f'SELECT {cols} FROM {source} {where} AND "{cov}" >= {float(min_coverage)!r} {group}'
        )
        statements.append(
            f'SELECT {cols}, count("{cov}") AS "{q}_covered" FROM {source} {where} {group}'
        )
    return "; ".join(statements)


def parse_daily(results: list[dict[str, Any]], quantities: Sequence[str]) -> DailyStats:
    """InfluxDB results of :func:`build_daily_query` (epoch ms) -> station -> quantity -> day ->
    DayStat. Per sensor and day: the covered windows' figures, or all windows' when none of
    them carries a coverage. Several sensors of one station measuring one quantity are then
    combined: the most hours, the mean weighted by hours, the largest maximum."""
    # (station, sensor, quantity, day) -> [covered figures, all figures, windows with coverage]
    per_sensor: dict[tuple[str, str, str, str], list[Any]] = {}
    for pos_in_list, res in enumerate(results):
        i = res.get("statement_id", pos_in_list)
        if not isinstance(i, int) or not 0 <= i < 2 * len(quantities):
            continue
        q, covered_only = quantities[i // 2], i % 2 == 0
        for series in res.get("series", []):
            tags = series.get("tags") or {}
            sid = tags.get(TAG_STATION)
            if not sid:
                continue
            pos = {c: k for k, c in enumerate(series["columns"])}
            for row in series["values"]:
                hours, mean = row[pos[f"{q}_hours"]], row[pos[f"{q}_mean"]]
                day = datetime.fromtimestamp(row[0] / 1000, UTC).astimezone(PARIS).date()
                key = (sid, tags.get(TAG_SENSOR, ""), q, day.isoformat())
                slot = per_sensor.setdefault(key, [None, None, 0])
                if not covered_only:
                    slot[2] = row[pos[f"{q}_covered"]] or 0
                if hours and mean is not None:
                    slot[0 if covered_only else 1] = (
                        float(hours),
                        float(mean),
                        float(row[pos[f"{q}_max"]]),
                    )
    # station -> quantity -> day -> [most hours, sum of mean × hours, sum of hours, max]
    acc: dict[str, dict[str, dict[str, list[float]]]] = {}
    for (sid, _sensor, q, day_key), (covered, every, n_covered) in per_sensor.items():
        fig = covered if n_covered else every
        if fig is None:
            continue
        hours, mean, mx = fig
        slot = acc.setdefault(sid, {}).setdefault(q, {}).setdefault(day_key, [0.0, 0.0, 0.0, mx])
        slot[0] = max(slot[0], hours)
        slot[1] += mean * hours
        slot[2] += hours
        slot[3] = max(slot[3], mx)
    return {
        sid: {
            q: {
                key: DayStat(int(s[0]), day_hours(date.fromisoformat(key)), s[1] / s[2], s[3])
                for key, s in days.items()
            }
            for q, days in per_q.items()
        }
        for sid, per_q in acc.items()
    }
