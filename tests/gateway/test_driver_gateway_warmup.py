"""A whole gateway on real ptys and a real Mosquitto: a virtual SDS011 warming up sends
PM2.5 = PM10 = 0.0 frames; they arrive flagged ``warmup``, never as plain zero readings, and
the readings after the warm-up arrive unflagged. A PMS5003T on a second port arrives with its
temperature and humidity, not as particle counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.conftest import gateway_on_ptys
from tests.helpers import wait_until

pytestmark = pytest.mark.services

SENSORS = {
    "sds011": {"seed": 4, "warmup_s": 1.5},
    "pms5003t": {"seed": 5, "temperature": 18.5, "humidity": 63.0},
}


def test_warmup_frames_arrive_flagged_and_pms5003t_keeps_its_layout(
    tmp_path: Path, registry, mosquitto
) -> None:
    token = registry.add("lille-warmup", 50.63, 3.06)
    mosquitto.sync()
    with gateway_on_ptys(tmp_path, mosquitto, "lille-warmup", token, SENSORS) as rig:
        wait_until(
            lambda: (
                sum(1 for r in rig.received("sds011") if not r.get("flags"))
                >= 2
                <= len(rig.received("pms5003t"))
            ),
            what="readings after the SDS011 warm-up, and PMS5003T readings",
            timeout=20,
        )
    sds = rig.received("sds011")
    first = sds[0]
    assert first["values"] == {"pm2_5": 0.0, "pm10": 0.0}
    assert first.get("flags") == ["warmup"]  # the first frames arrive flagged, not as zeros
    zeros = [r for r in sds if r["values"] == {"pm2_5": 0.0, "pm10": 0.0}]
    assert zeros and all(r.get("flags") == ["warmup"] for r in zeros)
    after = [r for r in sds if not r.get("flags")]
    assert after and all(r["values"]["pm10"] > 0 for r in after)
    assert sds.index(after[0]) == len(zeros)  # warm-up first, then data
    pms = rig.received("pms5003t")[0]["values"]
    assert (pms["temperature"], pms["humidity"]) == (18.5, 63.0)
    assert "n5" not in pms and "n10" not in pms
