from __future__ import annotations

from airq_core.quantities import QUANTITIES
from airq_core.reference_values import night_noise_references


def test_dnms_levels_have_night_noise_references() -> None:
    refs = {r.key: r.level_db for r in night_noise_references("laeq")}
    # WHO 2018 road-traffic Lnight is 45 dB; 40 dB is the WHO 2009 night-noise target
    assert refs == {"who_2018_road": 45.0, "who_2009_night": 40.0, "fr_road_ln": 62.0,
                    "fr_rail_ln": 65.0}  # fmt: skip
    assert night_noise_references("pm2_5") == ()
    assert {QUANTITIES[q].unit for q in ("laeq", "la_min", "la_max")} == {"dB(A)"}
