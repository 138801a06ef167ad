"""The edge of the raw retention, through a real broker, a running ingest and a real influxd: a
reading just inside it is stored and read back, one just beyond it is refused and counted by
the ingest (``ts_too_old``, its max age) before InfluxDB would drop it, and nothing stops.

Times are built from the tests' clock (tests/timeutil.py), which the ingest is given, so the
test also runs with the clock a year ahead; what influxd itself refuses is measured against
the real clock, the only one it has."""

from __future__ import annotations

import orjson
import pytest

from airq_core.readings import format_time
from airq_core.storage import RAW_RP
from ingest.influx import InfluxWriteError, InfluxWriter
from ingest.lineproto import encode_lines
from ingest.service import IngestService
from tests import timeutil
from tests.helpers import ThreadRunner, wait_until
from tests.ingest.ingest_helpers import (
    StationPublisher,
    fast_settings,
    reading,
    stored_values,
)

pytestmark = pytest.mark.services

HOUR = 3600.0


@pytest.mark.parametrize(
    ("retention", "max_age_days"),
    [("400d", 400.0), ("2d", 2.0)],  # the defaults; a short retention set with its max age
)
def test_a_reading_inside_the_retention_is_stored_one_beyond_it_is_counted(
    tmp_path, registry, mosquitto, influxd, influx_db, retention, max_age_days
) -> None:  # type: ignore[no-untyped-def]
    token = registry.add("lens-01", 50.43, 2.83)
    mosquitto.sync()
    settings = fast_settings(
        mosquitto,
        influxd.url,
        influx_db,
        str(registry.engine.url),
        tmp_path / "state",
        influx_raw_retention=retention,
        ingest_max_age_days=max_age_days,
    )
    ingest = IngestService(settings, clock=timeutil.now)
    runner = ThreadRunner(ingest.run, "ingest")
    wait_until(ingest.subscribed.is_set, what="ingest subscription")
    pub = StationPublisher(mosquitto, "lens-01", token)
    now = timeutil.now()
    edge = now - max_age_days * 86400
    inside, beyond, fresh = round(edge + HOUR), round(edge - HOUR), round(now - 5)
    try:
        # one message: the reading beyond the edge is refused alone, its neighbours are kept
        pub.publish(
            [
                orjson.dumps(
                    [
                        {"ts": format_time(t), "sensor": "sds011", "values": {"pm2_5": pm}}
                        for t, pm in ((beyond, 30.0), (inside, 20.0), (fresh, 10.0))
                    ]
                )
            ]
        )
        wait_until(lambda: ingest.stored >= 2, what="the two readings inside the retention")
        assert ingest.handler.counters.rejected["ts_too_old"] == 1
        assert ingest.write_failures == 0  # InfluxDB was never sent what it would drop
        assert stored_values(influxd, influx_db) == {
            ("lens-01", inside * 1000): 20.0,
            ("lens-01", fresh * 1000): 10.0,
        }

        # alone in a write, a point beyond the edge is dropped by influxd itself, and the write
        # fails. (In a write with a point of the same shard group inside the retention it is
        # kept, until the group expires: what influxd does is not a rule the ingest can rely
        # on; its max age is.) influxd measures the edge against the real clock.
        old = timeutil.real_now() - max_age_days * 86400 - HOUR
        probe = InfluxWriter(influxd.url, influx_db)
        try:
            with pytest.raises(InfluxWriteError, match="beyond retention") as err:
                probe.write_lines(encode_lines([reading("probe-01", old, 1.0)]), rp=RAW_RP)
            assert not err.value.retry
        finally:
            probe.close()

        # still running: a later reading is stored
        pub.publish(
            [
                orjson.dumps(
                    {"ts": format_time(now - 1), "sensor": "sds011", "values": {"pm2_5": 5.0}}
                )
            ]
        )
        wait_until(lambda: ingest.stored >= 3, what="a reading after the refused one")
        assert runner.thread.is_alive()
    finally:
        pub.close()
        runner.stop()  # raises what the ingest thread raised, if anything
