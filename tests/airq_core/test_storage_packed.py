"""The packed-day encoding of the storage contract: exact, fixed length, strict on input."""

from __future__ import annotations

import math

import pytest

from airq_core.storage import PACKED_HOURS, pack_hours, unpack_hours


def test_round_trip_is_exact_and_keeps_missing_hours() -> None:
    hours: list[float | None] = [i / 7 for i in range(PACKED_HOURS)]
    hours[0] = None
    hours[5] = math.nan  # NaN means "no window", like None
    hours[23] = -1e-300
    text = pack_hours(hours)
    assert len(text) == 256 and text.isascii()  # 24 doubles, base64 without padding
    back = unpack_hours(text)
    assert back[0] is None and back[5] is None
    assert back[1:5] == hours[1:5] and back[6:] == hours[6:]


@pytest.mark.parametrize("n", [0, 23, 25])
def test_a_day_has_24_hours(n: int) -> None:
    with pytest.raises(ValueError, match="24 hourly values"):
        pack_hours([1.0] * n)


@pytest.mark.parametrize("text", ["", "not base64!", pack_hours([1.0] * 24)[:-4], "AAAA" * 65])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        unpack_hours(text)
