"""The Grafana substitution rules reproduced by dashboards.render."""

from __future__ import annotations

import pytest

from dashboards.render import (
    VariableValue,
    format_interval,
    panel_interval_ms,
    render_query,
    render_url,
    replace_time_variables,
    replace_variables,
)


def test_multi_value_variables_become_an_escaped_regex_group() -> None:
    q = 'WHERE "station" =~ /^$station$/'
    v = {"station": VariableValue(["lens-01", "a.b"], multi=True, include_all=True)}
    assert replace_variables(q, v) == r'WHERE "station" =~ /^(lens-01|a\.b)$/'
    one = {"station": VariableValue(["lens-01"], multi=True)}
    assert replace_variables(q, one) == 'WHERE "station" =~ /^lens-01$/'


def test_single_values_are_escaped_only_inside_regexes() -> None:
    v = {"q": VariableValue("a.b")}
    assert replace_variables('SELECT "${q}_mean" FROM x', v) == 'SELECT "a.b_mean" FROM x'
    assert replace_variables("WHERE s =~ /$q/", v) == r"WHERE s =~ /a\.b/"
    assert replace_variables("WHERE s =~ /${q:raw}/", v) == "WHERE s =~ /a.b/"
    assert replace_variables("[[q]]", v) == "a.b"


def test_undefined_variables_are_an_error_but_macros_are_left_for_the_backend() -> None:
    with pytest.raises(KeyError, match="nope"):
        replace_variables("$nope", {})
    assert replace_variables("$timeFilter $__interval", {}) == "$timeFilter $__interval"


def test_time_macros() -> None:
    q = render_query("WHERE $timeFilter GROUP BY time($__interval)", {}, 1000, 3601000, 60000)
    assert q == "WHERE time >= 1000ms and time <= 3601000ms GROUP BY time(1m)"
    assert render_query("$__interval_ms $interval", {}, 0, 1, 3_600_000) == "3600000 1h"


@pytest.mark.parametrize(
    "days, minimum, expected",
    [(1, None, "1m"), (7, None, "10m"), (30, None, "30m"), (30, "1h", "1h"), (365, None, "6h")],
)
def test_interval_as_grafana_rounds_it(days: int, minimum: str | None, expected: str) -> None:
    assert format_interval(panel_interval_ms(0, days * 86_400_000, 1000, minimum)) == expected


def test_time_variables_as_grafana_documents_them() -> None:
    # the examples of Grafana's "Global variables" page ($__from and $__to)
    start, end = 1594671549254, 1594675149254
    assert replace_time_variables("${__from}", start, end) == "1594671549254"
    assert replace_time_variables("${__from:date}", start, end) == "2020-07-13T20:19:09.254Z"
    assert replace_time_variables("${__from:date:iso}", start, end) == "2020-07-13T20:19:09.254Z"
    assert replace_time_variables("${__from:date:seconds}", start, end) == "1594671549"
    assert replace_time_variables("$__to&${__to:date:seconds}", start, end) == (
        "1594675149254&1594675149"
    )
    with pytest.raises(ValueError, match="YYYY-MM"):
        replace_time_variables("${__from:date:YYYY-MM}", start, end)
    no2 = {"quantity": VariableValue("no2")}
    url = render_url("/x?q=$quantity&start=${__from:date:seconds}", no2, start, end)
    assert url == "/x?q=no2&start=1594671549"
