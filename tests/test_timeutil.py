"""The tests' clock (tests/timeutil.py): DST days found from any "now", the offset variable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests import timeutil
from tests.timeutil import PARIS, day_length_h, day_start, last_dst_change

# Fixed instants: these check a pure function for given "now"s, nothing is stored anywhere.
# The EU rule (last Sunday of March / October), from the published dates of 2024-2028.
SPRING = [date(2024, 3, 31), date(2025, 3, 30), date(2026, 3, 29), date(2027, 3, 28)]
FALL = [date(2024, 10, 27), date(2025, 10, 26), date(2026, 10, 25), date(2027, 10, 31)]


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("kind", "now", "want"),
    [
        ("fall", "2026-12-05T09:00:00", date(2026, 10, 25)),
        ("spring", "2026-12-05T09:00:00", date(2026, 3, 29)),
        ("fall", "2027-12-05T09:00:00", date(2027, 10, 31)),
        ("spring", "2027-03-30T12:00:00", date(2026, 3, 29)),  # 2027-03-28 is too recent
        ("spring", "2027-04-01T00:00:00", date(2027, 3, 28)),  # ended 3 days ago
        ("fall", "2026-10-25T12:00:00", date(2025, 10, 26)),  # on the day itself
    ],
)
def test_last_dst_change_is_the_latest_old_enough(kind, now, want) -> None:  # type: ignore[no-untyped-def]
    assert last_dst_change(kind, _utc(now)) == want


@pytest.mark.parametrize("days", range(0, 2 * 366, 5))
def test_last_dst_change_is_a_23_or_25_hour_day_within_a_year(days: int) -> None:
    now = _utc("2025-01-01T00:00:00") + days * 86400
    for kind, known, hours in (("spring", SPRING, 23), ("fall", FALL, 25)):
        day = last_dst_change(kind, now)
        assert day in known
        assert day_length_h(day) == hours
        end = day_start(day + timedelta(days=1))
        assert end <= now - 3 * 86400 < end + 366 * 86400  # old enough, at most a year more


def test_day_start_is_local_midnight() -> None:
    assert day_start(date(2026, 10, 25)) == _utc("2026-10-24T22:00:00")  # UTC+2 until 03:00
    assert day_start(date(2026, 10, 26)) == _utc("2026-10-25T23:00:00")  # UTC+1
    assert datetime.fromtimestamp(day_start(date(2026, 3, 29)), PARIS).hour == 0


def test_the_offset_shifts_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(timeutil.OFFSET_ENV, "365")
    shifted = timeutil.now() - timeutil.real_now()
    assert 365 * 86400 - 5 < shifted <= 365 * 86400
    monkeypatch.setenv(timeutil.OFFSET_ENV, "")
    assert abs(timeutil.now() - timeutil.real_now()) < 5


@pytest.mark.parametrize("bad", ["a year", "nan", "1e9", "-150"])
def test_a_bad_offset_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(timeutil.OFFSET_ENV, bad)
    with pytest.raises(ValueError, match=timeutil.OFFSET_ENV):
        timeutil.now()
