"""Substitute template variables and time macros in an InfluxQL panel query as Grafana does.

Grafana (10.4–11.x, InfluxQL mode) first replaces dashboard variables in the browser
(``templateSrv.replace`` with the InfluxDB datasource's ``interpolateQueryExpr``), then its
backend replaces ``$timeFilter`` by ``time >= <from>ms and time <= <to>ms``, ``$interval`` and
``$__interval`` by the rounded interval (``1h``), and ``$__interval_ms`` by milliseconds.
Reproduced here so that the tests and ``airq dashboards check`` run each panel's query exactly
as Grafana would send it.

Variable values: a multi-value variable (or one with "All") becomes a regex group of escaped
values ``(a|b)``; a single value used inside a ``=~ /…/`` regex is escaped, elsewhere it is
left as is; ``${name:raw}`` is never escaped. Numbers are never escaped.

The global time variables of links and URLs (``replace_time_variables``), as Grafana's "Global
variables" page documents them: ``${__from}`` is the start in epoch **milliseconds**,
``${__from:date}`` / ``${__from:date:iso}`` ISO 8601 in UTC with milliseconds
(``2020-07-13T20:19:09.254Z``), ``${__from:date:seconds}`` epoch seconds (``1594671549``);
the same for ``${__to}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

_VAR = re.compile(r"\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]")
_REGEX_USE = re.compile(r"(\s*(=|!)~\s*)/.*?/", re.M)
_ESCAPE = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_BUILTINS = {"timeFilter", "interval", "__interval", "__interval_ms"}

# kbn.roundInterval: (upper bound exclusive, ms) pairs
_ROUND = [
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
    (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
    (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
    (9000000, 7200000), (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
    (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000),
]  # fmt: skip
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000}


@dataclass(frozen=True)
class VariableValue:
    """The current value of one dashboard variable."""

    value: str | Sequence[str]
    multi: bool = False
    include_all: bool = False


def escape_regex(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), value)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _interpolate(name: str, var: VariableValue, fmt: str | None, query: str) -> str:
    value = var.value
    if fmt == "raw":
        return value if isinstance(value, str) else ",".join(value)
    if fmt is not None:
        raise ValueError(f"variable format {fmt!r} is not reproduced; use :raw or none")
    if isinstance(value, str) and _is_number(value):
        return value
    if var.multi or var.include_all:
        if isinstance(value, str):
            return escape_regex(value)
        escaped = [escape_regex(v) for v in value]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    text = value if isinstance(value, str) else ",".join(value)
    for m in _REGEX_USE.finditer(query):
        if f"${name}" in m.group(0) or f"${{{name}}}" in m.group(0):
            return escape_regex(text)
    return text


def replace_variables(query: str, variables: Mapping[str, VariableValue]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        if name in _BUILTINS and name not in variables:
            return m.group(0)
        if name not in variables:
            raise KeyError(f"query uses an undefined variable ${name}: {query[:80]}")
        return _interpolate(name, variables[name], m.group(3), query)

    return _VAR.sub(sub, query)


_TIME_VAR = re.compile(r"\$\{(__from|__to)(?::([^}]*))?\}|\$(__from|__to)\b")


def _format_time_ms(ms: int, fmt: str | None) -> str:
    if fmt is None:
        return str(ms)
    if fmt in ("date", "date:iso"):
        t = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{t}.{ms % 1000:03d}Z"
    if fmt == "date:seconds":
        return str(ms // 1000)
    raise ValueError(f"time format {fmt!r} is not reproduced; use date:seconds or date:iso")


def replace_time_variables(text: str, start_ms: int, end_ms: int) -> str:
    """``$__from``/``$__to`` in a link or URL, with the formats Grafana documents."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        return _format_time_ms(start_ms if name == "__from" else end_ms, m.group(2))

    return _TIME_VAR.sub(sub, text)


def render_url(url: str, variables: Mapping[str, VariableValue], start_ms: int, end_ms: int) -> str:
    """A dashboard link's URL as Grafana opens it: time variables, then dashboard variables."""
    return replace_variables(replace_time_variables(url, start_ms, end_ms), variables)


def parse_interval_ms(text: str) -> int:
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)", text.strip())
    if not m:
        raise ValueError(f"not an interval: {text!r}")
    return int(m.group(1)) * _UNITS_MS[m.group(2)]


def round_interval(ms: float) -> int:
    for bound, value in _ROUND:
        if ms < bound:
            return value
    return 31536000000


def format_interval(ms: int) -> str:
    """gtime.FormatInterval."""
    for unit, size in (("y", 31536000000), ("d", 86400000), ("h", 3600000), ("m", 60000)):
        if ms >= size:
            return f"{ms // size}{unit}"
    if ms >= 1000:
        return f"{ms // 1000}s"
    return f"{max(ms, 1)}ms"


def panel_interval_ms(
    start_ms: int, end_ms: int, max_data_points: int = 1000, min_interval: str | None = None
) -> int:
    """The interval Grafana computes for a panel: the range over the panel's data points,
    rounded, and never below the panel's (or datasource's) minimum interval."""
    ms = round_interval((end_ms - start_ms) / max(max_data_points, 1))
    if min_interval:
        ms = max(ms, parse_interval_ms(min_interval))
    return ms


def render_query(
    query: str,
    variables: Mapping[str, VariableValue],
    start_ms: int,
    end_ms: int,
    interval_ms: int,
) -> str:
    """The query Grafana sends to InfluxDB for one panel target."""
    q = replace_variables(query, variables)
    text = format_interval(interval_ms)
    q = q.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    q = q.replace("$interval", text)
    q = q.replace("$__interval_ms", str(interval_ms))
    return q.replace("$__interval", text)
