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
    quantities: Sequence[str], stations: Sequence[str], start: float, end: float
) -> str:
    """InfluxQL: per Paris day, station and sensor, ``<q>_mean`` (mean of the hourly means),
    ``<q>_max`` (their maximum) and ``<q>_hours`` (hours with data). ``start``/``end`` are
    Paris midnights. Station ids match the registry pattern, safe in a regex."""
    cols = []
    for q in quantities:
        if not _FIELD_RE.match(q):
            raise ValueError(f"bad quantity {q[:40]!r}")
        f = agg_field(q, "mean")
        cols += [f'mean("{f}") AS "{q}_mean"', f'max("{f}") AS "{q}_max"']
        cols.append(f'count("{f}") AS "{q}_hours"')
    ids = "|".join(re.escape(s) for s in stations)
    return (
        f'SELECT {", ".join(cols)} FROM "{AGG_RP}"."{TIERS["1h"][0]}" '
        f"WHERE time >= '{format_time(start)}' AND time < '{format_time(end)}' "
        f'AND "{TAG_STATION}" =~ /^(?:{ids})$/ '
        f'GROUP BY time(1d), "{TAG_STATION}", "{TAG_SENSOR}" fill(none) tz(\'{LOCAL_TZ}\')'
    )


def parse_daily(results: list[dict[str, Any]], quantities: Sequence[str]) -> DailyStats:
    """InfluxDB results (epoch ms) -> station -> quantity -> day -> DayStat. Several sensors of
    one station measuring one quantity are combined: the most hours, the mean weighted by
    hours, the largest maximum."""
    # station -> quantity -> day -> [most hours, sum of mean × hours, sum of hours, max]
    acc: dict[str, dict[str, dict[str, list[float]]]] = {}
    for res in results:
        for series in res.get("series", []):
            sid = (series.get("tags") or {}).get(TAG_STATION)
            if not sid:
                continue
            pos = {c: i for i, c in enumerate(series["columns"])}
            for row in series["values"]:
                day = datetime.fromtimestamp(row[0] / 1000, UTC).astimezone(PARIS).date()
                for q in quantities:
                    if f"{q}_hours" not in pos:
                        continue
                    hours, mean = row[pos[f"{q}_hours"]], row[pos[f"{q}_mean"]]
                    if not hours or mean is None:
                        continue
                    mx = row[pos[f"{q}_max"]]
                    days = acc.setdefault(sid, {}).setdefault(q, {})
                    slot = days.setdefault(day.isoformat(), [0.0, 0.0, 0.0, mx])
                    slot[0] = max(slot[0], float(hours))
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
