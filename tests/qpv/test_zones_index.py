"""index_zones: the zones of every QPV in one pass over the placements, equal to qpv_zones per
QPV (lists and their order), with and without communes, on random placements too."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from api.qpv.placement import Placement, index_zones, place_station, qpv_zones
from api.qpv.polygons import load_qpv
from tests.qpv.conftest import QPV1, QPV2, STATIONS_L93, latlon

CODES = ["QPTEST01", "QPTEST02", "QPNONE"]


def _random_placements(seed: int) -> list[Placement]:
    rnd = random.Random(seed)
    out = []
    for i in range(300):
        inside = tuple(sorted(rnd.sample(CODES[:2], rnd.choice([0, 0, 0, 1]))))
        near = tuple(
            (c, rnd.choice([0.0, 0.04, 150.0, 300.0, 800.0, 1000.0, 4999.9, 5000.0, 7000.0]))
            for c in CODES[:2]
            if c not in inside and rnd.random() < 0.6
        )
        communes = tuple(sorted(rnd.sample(["A", "B", "C"], rnd.choice([0, 1, 1, 2]))))
        out.append(Placement(f"s{i}", 50.0, 2.0, inside, near, communes))
    return out


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("communes", [None, {"QPTEST01": ("A",), "QPTEST02": ("B", "C")}])
def test_the_index_equals_qpv_zones_for_each_qpv(
    seed: int, communes: dict[str, tuple[str, ...]] | None
) -> None:
    placements = _random_placements(seed)
    index = index_zones(CODES, placements, (300, 1000), 5000, communes)
    for code in CODES:
        own = None if communes is None else communes.get(code, ())
        assert index[code] == qpv_zones(code, placements, (300, 1000), 5000, own), code


def test_the_index_of_the_test_territory(qpv_file: Path) -> None:
    layer = load_qpv(qpv_file)
    extra = {"edge-1": (QPV1[0] + 200, QPV1[1]), "mid-1": ((QPV1[0] + QPV2[0]) / 2, QPV1[1])}
    placements = [
        place_station(sid, *latlon(xy), layer, 5000)
        for sid, xy in {**STATIONS_L93, **extra}.items()
    ]
    index = index_zones([a.code for a in layer.areas], placements, (300, 1000), 5000)
    assert index["QPTEST01"] == {
        "qpv": ["in-1", "edge-1"],
        "buffer_300m": ["buf-1"],
        "buffer_1000m": ["buf-1", "ring-1"],
        "hors_qpv": ["buf-1", "ring-1", "out-1", "mid-1"],
    }
    assert index["QPTEST02"]["qpv"] == ["in-2"]
    assert index["QPTEST02"]["hors_qpv"] == ["mid-1"]
