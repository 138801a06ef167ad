"""``airq pull -o FILE``: the format is the one the extension names (csv, parquet, json); an
extension naming no format is refused before anything is asked or written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.api_server import running, settings_for


@pytest.mark.parametrize("name", ["x.xlsx", "x", "x.txt"])
def test_unknown_extension_is_refused_in_french_and_english(airq, workdir, name) -> None:
    # an API that cannot answer: the refusal comes before any request
    base = ("pull", "--api", "http://127.0.0.1:9", "--station", "lens-01", "-o", name)
    r = airq(*base)
    assert r.returncode == 2, r.stderr
    assert (
        "non prise en charge ; formats possibles : csv (.csv), parquet (.parquet .pq), "
        "json (.json)" in r.stderr
    )
    r = airq("--lang", "en", *base)
    assert r.returncode == 2 and "not supported; formats: csv (.csv)" in r.stderr
    assert list(workdir.iterdir()) == []


def test_extension_and_format_must_agree(airq, workdir) -> None:
    r = airq("pull", "--station", "a", "-o", "x.csv", "--format", "parquet")
    assert r.returncode == 2 and "l'extension .csv annonce du csv" in r.stderr
    r = airq("pull", "-o", "x.csv")
    assert r.returncode == 2 and "--station, --bbox ou --qpv est nécessaire" in r.stderr
    assert list(workdir.iterdir()) == []


def test_unreachable_api_is_a_runtime_error(airq, workdir) -> None:
    r = airq("pull", "--api", "http://127.0.0.1:9", "--station", "lens-01", "-o", "x.csv")
    assert r.returncode == 1 and "l'API ne répond pas" in r.stderr
    assert not (workdir / "x.csv").exists()


@pytest.mark.services
def test_json_and_explicit_format_are_written(airq, workdir, influxd, influx_db, registry) -> None:
    registry.add("lens-01", 50.449, 2.839)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=1)
    settings = settings_for(influxd.url, influx_db, str(registry.engine.url))
    with running(settings) as api:
        window = ["--start", start.isoformat(), "--end", end.isoformat()]
        base = ("pull", "--api", str(api.base_url), "--station", "lens-01", *window)
        r = airq(*base, "-o", "lens.json")
        assert r.returncode == 0, r.stderr
        body = json.loads((workdir / "lens.json").read_text())
        assert body["licence"]["name"] == "ODbL-1.0"
        r = airq(*base, "-o", "lens.data", "--format", "csv")
        assert r.returncode == 0, r.stderr
        assert (workdir / "lens.data").read_text().startswith("# licence: ODbL-1.0")
