"""The humidity QC takes a station's humidity from its own boards only: humidity pushed by
another station's board (flag ``foreign_board``) corrects none of the station's PM."""

from __future__ import annotations

from airq_core.flags import FOREIGN_BOARD
from airq_core.readings import Reading
from ingest.qc import HumidityQC


def test_humidity_of_a_foreign_board_is_not_the_stations() -> None:
    qc = HumidityQC(threshold=75, max_age_s=300)
    own_rh = Reading("a-01", "bme280", 1000.0, {"humidity": 50.0})
    foreign_rh = Reading("a-01", "bme280", 1050.0, {"humidity": 95.0}, flags=(FOREIGN_BOARD,))
    pm = Reading("a-01", "sds011", 1100.0, {"pm2_5": 20.0})
    out = qc.apply([own_rh, foreign_rh, pm])
    assert out[1] == foreign_rh  # stored as it came, flag kept
    assert out[2].values["qc_rh"] == 50.0 and out[2].flags == ()  # its own board's humidity

    alone = HumidityQC(threshold=75, max_age_s=300)
    assert alone.apply([foreign_rh, pm])[1] == pm  # no humidity of its own: unchanged
    assert alone.held("a-01") == 0
