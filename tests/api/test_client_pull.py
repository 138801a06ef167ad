"""The researchers' helper (airq_client -> pandas DataFrame) and ``airq pull`` against a live
API, compared with pandas computing the same windows from the raw readings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from airq.cli import main
from airq_client import Client, ClientError
from api.stored_windows import QUALITY
from tests.api.api_server import ADMIN_TOKEN
from tests.api.series_data import T0, T1, expected_windows

pytestmark = pytest.mark.services

KEY = ["station", "sensor", "quantity", "time"]


def test_series_as_a_dataframe(client, dataset) -> None:
    with Client(str(client.base_url), token=ADMIN_TOKEN) as api:  # lille-02 is indoor
        df = api.series(
            ["lens-01", "lille-02"],
            ["pm2_5", "humidity"],
            start=T0.isoformat(),
            end=T1.isoformat(),
            every="6h",
            agg=["mean", "count"],
        )
        assert list(df.columns) == [
            "time",
            "station",
            "sensor",
            "quantity",
            "mean",
            "count",
            *QUALITY,
        ]
        assert str(df["time"].dtype) == "datetime64[ms, UTC]"
        assert df.attrs["licence"]["name"] == "ODbL-1.0"
        want = expected_windows(
            dataset, ["lens-01", "lille-02"], ["pm2_5", "humidity"], T0, T1, "6h"
        )
        got = df.sort_values(KEY).reset_index(drop=True)
        want = want.sort_values(KEY).reset_index(drop=True)
        np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-9)
        assert (got["count"].to_numpy() == want["count"].to_numpy()).all()

        stations = api.stations(bbox="2.7,50.3,2.9,50.5")
        assert stations["id"].tolist() == ["lens-01"]

        with pytest.raises(ClientError) as err:
            api.series("lens-01", "pm3")
        assert err.value.status == 400 and "unknown quantity 'pm3'" in err.value.message


def test_airq_pull_writes_csv_and_parquet(client, dataset, tmp_path, capsys) -> None:
    base = str(client.base_url)
    args = [
        "pull",
        "--api",
        base,
        "--station",
        "lens-01",
        "-q",
        "pm10",
        "--every",
        "1d",
        "--tz",
        "Europe/Paris",
        "--start",
        T0.isoformat(),
        "--end",
        T1.isoformat(),
    ]
    assert main([*args, "-o", str(tmp_path / "lens.csv")]) == 0
    text = (tmp_path / "lens.csv").read_text()
    assert text.startswith("# licence: ODbL-1.0")
    csv = pd.read_csv(tmp_path / "lens.csv", comment="#")
    assert main([*args, "-o", str(tmp_path / "lens.parquet")]) == 0
    table = pq.read_table(tmp_path / "lens.parquet")
    assert b"ODbL" in table.schema.metadata[b"licence"]
    want = expected_windows(dataset, ["lens-01"], ["pm10"], T0, T1, "1d", "Europe/Paris")
    np.testing.assert_allclose(csv["mean"], want.sort_values("time")["mean"], rtol=1e-9)
    np.testing.assert_allclose(table.column("mean").to_numpy(), csv["mean"], rtol=0)
    assert not list(tmp_path.glob("*.part"))

    rc = main(
        [
            "pull",
            "--api",
            base,
            "--station",
            "lens-01",
            "-q",
            "pm2_5",
            "--every",
            "7s",
            "-o",
            str(tmp_path / "bad.csv"),
        ]
    )
    assert rc == 1 and "every" in capsys.readouterr().err  # refused by the API
    assert not (tmp_path / "bad.csv").exists()


def test_the_client_and_airq_pull_pass_a_token_for_indoor_stations(
    client, tmp_path, capsys, monkeypatch
) -> None:
    """lille-02 is indoor: unknown without a token, served with the admin's (a Bearer token
    from ``token=`` or ``AIRQ_API_TOKEN``)."""
    period = {"start": T0.isoformat(), "end": T1.isoformat(), "every": "1d"}
    with Client(str(client.base_url)) as api, pytest.raises(ClientError) as err:
        api.series("lille-02", "pm10", **period)
    assert err.value.status == 404
    with Client(str(client.base_url), token=ADMIN_TOKEN) as api:
        assert set(api.series("lille-02", "pm10", **period)["station"]) == {"lille-02"}
    args = ["pull", "--api", str(client.base_url), "--station", "lille-02", "-q", "pm10"]
    args += ["--start", period["start"], "--end", period["end"], "--every", "1d"]
    monkeypatch.delenv("AIRQ_API_TOKEN", raising=False)
    assert main([*args, "-o", str(tmp_path / "anon.csv")]) == 1
    assert "404" in capsys.readouterr().err and not (tmp_path / "anon.csv").exists()
    monkeypatch.setenv("AIRQ_API_TOKEN", ADMIN_TOKEN)
    assert main([*args, "-o", str(tmp_path / "lille.csv")]) == 0
    assert set(pd.read_csv(tmp_path / "lille.csv", comment="#")["station"]) == {"lille-02"}


def test_the_client_needs_no_server_code() -> None:
    code = (
        "import sys, airq_client\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('api', 'ingest', 'airq_core',"
        " 'gateway', 'airq')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
