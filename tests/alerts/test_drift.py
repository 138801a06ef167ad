"""Drift rule, pure: recent means per station in bounded memory, neighbours within a distance,
the station's mean against its neighbours' median for hours (fixed instants)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from airq_core.alerts import AlertRuleError, validate_rule
from alerts.drift import BUCKETS, RecentMeans, distance_km, neighbours
from alerts.messages import Links, render
from alerts.rules import Event, Rule, State, apply_drift, apply_reading, drift_score

T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC).timestamp()
H = 3600.0
DRIFT = Rule(id=9, kind="drift", stations=("lens-01",), quantity="pm2_5", for_s=3 * H,
             drift_ratio=2.0, radius_km=2.0, min_neighbours=3)  # fmt: skip


def feed(rule: Rule, series: list[tuple[float, float, float]], state: State | None = None):
    """(hours after T0, station mean, neighbours' median) -> state, events."""
    state = state or State()
    events: list[Event] = []
    for hour, mean, median in series:
        state, ev = apply_drift(rule, state, "lens-01", T0 + hour * H, mean, median)
        events += ev
    return state, events


def test_drift_starts_after_hours_apart_and_ends_when_back() -> None:
    apart = [(h / 4, 40.0, 12.0) for h in range(12)]  # every 15 min, 3.3x, for 2 h 45
    state, events = feed(DRIFT, apart)
    assert events == [] and state.tracks["lens-01"].status == "pending"
    state, events = feed(DRIFT, [(3, 41.0, 12.0)], state=state)
    assert [(e.kind, e.value, e.ref) for e in events] == [("start", 41.0, 12.0)]
    # back near the median (within 90 % of the limit) for the clear window: one resolution
    state, events = feed(DRIFT, [(3.5 + h / 4, 13.0, 12.0) for h in range(13)], state=state)
    assert [(e.kind, e.stations) for e in events] == [("resolve", ("lens-01",))]


def test_a_short_spike_or_a_low_station_within_the_ratio_is_no_drift() -> None:
    _, events = feed(DRIFT, [(0, 60.0, 12.0), (1, 60.0, 12.0), (2, 13.0, 12.0), (4, 60.0, 12)])
    assert events == []
    _, events = feed(DRIFT, [(h, 7.0, 12.0) for h in range(6)])  # 0.58x: within half
    assert events == []
    _, events = feed(DRIFT, [(h, 5.0, 12.0) for h in range(4)])  # 0.42x: a low drift too
    assert [e.kind for e in events] == ["start"]


def test_drift_by_an_absolute_difference_and_by_both() -> None:
    diff = replace(DRIFT, drift_ratio=None, drift_diff=10.0)
    assert drift_score(diff, 25, 12) == pytest.approx(1.3)
    _, events = feed(diff, [(h, 25.0, 12.0) for h in range(4)])
    assert [e.kind for e in events] == ["start"]
    both = replace(DRIFT, drift_diff=10.0)  # twice the median AND 10 apart
    assert drift_score(both, 5, 2) < 1 and drift_score(both, 30, 12) > 1
    _, events = feed(both, [(h, 5.0, 2.0) for h in range(6)])  # 2.5x, but 3 µg/m³ apart
    assert events == []


def test_a_zero_median_with_a_positive_mean_is_apart() -> None:
    assert drift_score(DRIFT, 10, 0) == float("inf") and drift_score(DRIFT, 0, 0) == 0


def test_readings_do_not_drive_a_drift_rule_and_duplicates_change_nothing() -> None:
    state = State()
    assert apply_reading(DRIFT, state, "lens-01", T0, {"pm2_5": 90})[0] is state
    state, _ = feed(DRIFT, [(0, 40.0, 12.0)])
    again, events = apply_drift(DRIFT, state, "lens-01", T0, 40.0, 12.0)
    assert again is state and events == []


def test_recent_means_are_bounded_and_forget_the_old_hour() -> None:
    means = RecentMeans(window_s=H)
    for i in range(600):  # ten hours, a reading a minute
        means.add("a-01", "pm2_5", T0 + i * 60, 10.0 if i < 540 else 30.0)
    assert len(means._sums[("a-01", "pm2_5")]) <= BUCKETS
    assert means.mean("a-01", "pm2_5", T0 + 599 * 60) == pytest.approx(30.0)
    assert means.mean("a-01", "pm2_5", T0 + 20 * H) is None  # nothing in the last hour
    assert means.mean("a-01", "pm10", T0) is None
    means.add("a-01", "pm2_5", T0, float("nan"))  # left out, no crash


def test_compare_needs_enough_neighbours_with_readings() -> None:
    means = RecentMeans()
    for sid, v in (("own", 40.0), ("n1", 10.0), ("n2", 12.0), ("n3", 30.0), ("old", 5.0)):
        means.add(sid, "pm2_5", T0 - (3 * H if sid == "old" else 60), v)
    assert means.compare("own", "pm2_5", T0, ["n1", "n2", "n3"], 3) == (40.0, 12.0, 3)
    assert means.compare("own", "pm2_5", T0, ["n1", "n2", "old"], 3) is None
    assert means.compare("n9", "pm2_5", T0, ["n1", "n2", "n3"], 3) is None


def test_neighbours_within_the_radius_nearest_first() -> None:
    coords = {
        "lens-01": (50.4300, 2.8300),
        "a": (50.4390, 2.8300),  # 1.0 km north
        "b": (50.4300, 2.8460),  # 1.1 km east
        "c": (50.4485, 2.8300),  # 2.06 km north: out
        "d": (50.4300, 2.8100),  # 1.4 km west
        "far": (50.6300, 3.0600),
    }
    assert distance_km(50.43, 2.83, 50.4390, 2.83) == pytest.approx(1.0, abs=0.01)
    near = neighbours(["lens-01", "unknown"], coords, 2.0)
    assert near == {"lens-01": ("a", "b", "d")}


def test_drift_rule_checks_and_message() -> None:
    with pytest.raises(AlertRuleError, match="ratio"):
        validate_rule("drift", "pm2_5", None, None, 3 * H, None, radius_km=2, min_neighbours=3)
    with pytest.raises(AlertRuleError, match="radius"):
        validate_rule("drift", "pm2_5", None, None, 3 * H, None, drift_ratio=2, min_neighbours=3)
    validate_rule("drift", "pm2_5", None, None, 3 * H, None, drift_ratio=2, radius_km=2,
                  min_neighbours=3)  # fmt: skip
    _, events = feed(DRIFT, [(h, 41.0, 12.0) for h in range(4)])
    title, body = render(DRIFT, events[0], Links(None, "u", {"lens-01": "Lens gare"}))
    assert title == "Station à vérifier : la station Lens gare"
    assert "41 µg/m³ en moyenne" in body and "(12 µg/m³, valeur médiane)" in body
    assert "moins de 2 km" in body and "contactez l'équipe AirQuartiers" in body


def test_a_fleet_subscriber_hears_of_each_station_that_drifts_and_comes_back() -> None:
    fleet = replace(DRIFT, stations=("a-01", "b-01", "c-01"), for_s=H)
    state, kinds = State(), []
    for hour, station, mean in ((0, "a-01", 40.0), (1, "a-01", 40.0), (1.5, "b-01", 2.0),
                                (2.5, "b-01", 2.0), (3, "a-01", 12.0), (4, "a-01", 12.0),
                                (4, "b-01", 12.0), (5, "b-01", 12.0)):  # fmt: skip
        state, ev = apply_drift(fleet, state, station, T0 + hour * H, mean, 12.0)
        kinds += [(e.kind, e.stations) for e in ev]
        if hour == 4 and station == "a-01":
            assert state.active  # b-01 still apart
    assert kinds == [("start", ("a-01",)), ("start", ("b-01",)),
                     ("resolve", ("a-01",)), ("resolve", ("b-01",))]  # fmt: skip
    assert not state.active
