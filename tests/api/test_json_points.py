"""The column-wise JSON encoder of long series gives the same objects as encoding one dict per
point, and the same time text as ``format_time``."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from airq_core.readings import format_time
from api.exports import json_points, json_points_padded, unpad, utc_text_cells


def test_time_cells_match_format_time() -> None:
    rng = np.random.default_rng(1)
    t = np.concatenate(
        [
            rng.integers(0, 253_402_300_799, 20_000) * 1000,  # 1970 … 9999
            np.array([0, 951_782_400_000, 4_107_542_399_000]),  # 1970, 2000-02-29, 2100-02-28
        ]
    )
    cells = utc_text_cells(t)
    assert cells is not None
    assert [c.decode() for c in cells.tolist()] == [format_time(x / 1000) for x in t.tolist()]
    assert utc_text_cells(np.array([1500])) is None  # not a whole second


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_points_equal_one_dict_per_point(n: int) -> None:
    rng = np.random.default_rng(n)
    t = np.sort(rng.integers(1_600_000_000, 1_900_000_000, n)) * 1000
    labels = [
        {"station": "lens-01", "sensor": "sds011", "quantity": "pm2_5"},
        {"station": "l", "sensor": "bme280", "quantity": "temperature"},
    ]
    label_of = rng.integers(0, 2, n)
    mean = (rng.normal(10, 30, n) * 10.0 ** rng.integers(-9, 9, n)).tolist()
    low: list[float | None] = rng.normal(0, 5, n).tolist()
    low[0] = None
    count = rng.integers(0, 10**6, n).tolist()
    body = json_points(t, label_of, labels, {"mean": mean, "min": low, "count": count})
    assert body is not None
    want = [
        {"time": format_time(a / 1000), **labels[j], "mean": m, "min": lo, "count": c}
        for a, j, m, lo, c in zip(t.tolist(), label_of.tolist(), mean, low, count, strict=True)
    ]
    assert body == orjson.dumps(want)[1:-1]  # byte for byte


def test_no_points_and_odd_times() -> None:
    assert json_points(np.zeros(0, np.int64), np.zeros(0, np.int64), [], {"mean": []}) == b""
    lab = [{"station": "a", "sensor": "b", "quantity": "pm2_5"}]
    assert json_points(np.array([1001]), np.array([0]), lab, {"mean": [1.0]}) is None


def test_padded_points_have_one_width_and_cut_into_valid_pieces() -> None:
    t = np.arange(5, dtype=np.int64) * 3_600_000
    lab = [{"station": "a", "sensor": "b", "quantity": "pm2_5"}]
    values = [1.5, 22.25, None, 3.0, 1234.5678]
    padded = json_points_padded(t, np.zeros(5, np.int64), lab, {"max": values})
    assert padded is not None
    width = (len(padded) + 1) // 5
    pieces = [unpad(padded[i * width : (i + 1) * width - 1]) for i in range(5)]
    assert [orjson.loads(p)["max"] for p in pieces] == values
    assert b",".join(pieces) == json_points(t, np.zeros(5, np.int64), lab, {"max": values})
