"""Settings combinations the ingest refuses at start-up, with the setting named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.settings import IngestSettings


def test_max_age_beyond_the_raw_retention_is_refused() -> None:
    with pytest.raises(ValidationError, match="AIRQ_INGEST_MAX_AGE_DAYS=400 is beyond"):
        IngestSettings(influx_raw_retention="2d", ingest_max_age_days=400)
    with pytest.raises(ValidationError, match="set it to 14 days or less"):
        IngestSettings(influx_raw_retention="2w", ingest_max_age_days=15)


@pytest.mark.parametrize(("rp", "age"), [("400d", 400), ("2d", 2), ("48h", 1.5), ("INF", 9999)])
def test_max_age_within_the_raw_retention_is_accepted(rp: str, age: float) -> None:
    s = IngestSettings(influx_raw_retention=rp, ingest_max_age_days=age)
    assert s.ingest_max_age_days == age
