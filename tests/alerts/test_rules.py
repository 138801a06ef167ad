"""The rules' logic as pure functions: reading times and the clock are given (fixed instants:
nothing is stored, no code under test reads the real clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from airq_core.alerts import (
    AlertRuleError,
    format_duration,
    parse_duration,
    parse_quiet_hours,
    validate_rule,
)
from alerts.messages import Links, render
from alerts.rules import Event, Rule, State, apply_clock, apply_reading, release_at, step_track

T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC).timestamp()
PM = Rule(id=1, kind="threshold", stations=("lens-01",), quantity="pm2_5", above=50, for_s=600)


def feed(rule: Rule, series: list[tuple[float, float]], station: str = "lens-01", state=None):
    """Applies (minutes after T0, value) readings; returns the state and every event."""
    state = state or State()
    events: list[Event] = []
    for minute, value in series:
        state, ev = apply_reading(rule, state, station, T0 + minute * 60, {"pm2_5": value})
        events += ev
    return state, events


def test_threshold_starts_only_after_staying_above_for_the_window() -> None:
    state, events = feed(PM, [(0, 60), (4, 70), (8, 65)])
    assert events == [] and state.tracks["lens-01"].status == "pending"
    state, events = feed(PM, [(10, 62)], state=state)
    assert [e.kind for e in events] == ["start"]
    assert events[0].since == T0 + 600 and events[0].value == 62


def test_a_dip_below_the_threshold_restarts_the_window() -> None:
    _, events = feed(PM, [(0, 60), (5, 49), (6, 60), (12, 60)])
    assert events == []
    _, events = feed(PM, [(0, 60), (5, 49), (6, 60), (16, 60)])
    assert [e.kind for e in events] == ["start"]


def test_hysteresis_keeps_a_hovering_value_from_flapping() -> None:
    state, events = feed(PM, [(0, 60), (10, 60)])
    assert [e.kind for e in events] == ["start"]
    # around the threshold, never under the clear level (45 = 50 - 10 %): still one alert
    hover = [(11 + i, 49 if i % 2 else 51) for i in range(30)]
    state, events = feed(PM, hover, state=state)
    assert events == [] and state.active
    # below the clear level for the window: resolved, once
    state, events = feed(PM, [(50, 40), (55, 41), (60, 39)], state=state)
    assert [e.kind for e in events] == ["resolve"] and not state.active
    assert events[0].since == T0 + 600


def test_resolving_goes_back_to_firing_without_a_message() -> None:
    state, _ = feed(PM, [(0, 60), (10, 60), (11, 30)])
    assert state.tracks["lens-01"].status == "resolving"
    state, events = feed(PM, [(15, 48), (30, 30)], state=state)
    assert events == [] and state.tracks["lens-01"].status == "resolving"


def test_explicit_clear_level_and_clear_window() -> None:
    rule = replace(PM, clear=20, for_s=0, clear_for_s=0)
    state, events = feed(rule, [(0, 51)])
    assert [e.kind for e in events] == ["start"]
    state, events = feed(rule, [(1, 25)], state=state)
    assert events == []
    _, events = feed(rule, [(2, 19)], state=state)
    assert [e.kind for e in events] == ["resolve"]


def test_a_reading_delivered_twice_changes_nothing() -> None:
    state, events = feed(PM, [(0, 60), (10, 60)])
    assert len(events) == 1
    again, events = feed(PM, [(10, 60), (0, 60), (10, 60)], state=state)
    assert events == [] and again.key() == state.key()


def test_a_long_gap_starts_the_window_again() -> None:
    state, events = feed(PM, [(0, 60), (5, 60), (40, 60)])
    assert events == [] and state.tracks["lens-01"].since == T0 + 40 * 60
    _, events = feed(PM, [(50, 60)], state=state)
    assert [e.kind for e in events] == ["start"]


def test_other_quantities_and_stations_are_ignored() -> None:
    state = State()
    new, ev = apply_reading(PM, state, "lens-01", T0, {"pm10": 500})
    assert new is state and ev == []
    new, ev = apply_reading(PM, state, "other-01", T0, {"pm2_5": 500})
    assert new is state and ev == []


def test_a_zero_reading_is_a_value() -> None:
    state, _ = feed(PM, [(0, 60), (10, 60)])
    state, _ = feed(PM, [(11, 0), (21, 0)], state=state)
    assert not state.active


AREA = Rule(
    id=3, kind="threshold", stations=("a-01", "b-01", "c-01"), quantity="pm2_5", above=50,
    for_s=0, clear_for_s=0, min_stations=2,
)  # fmt: skip


def test_an_area_rule_needs_several_stations() -> None:
    state = State()
    state, events = feed(AREA, [(0, 300), (5, 300)], station="a-01", state=state)
    assert events == [] and not state.active  # one faulty sensor alone
    state, events = feed(AREA, [(6, 80)], station="c-01", state=state)
    assert [e.kind for e in events] == ["start"]
    assert events[0].stations == ("a-01", "c-01") and events[0].value == 190
    state, events = feed(AREA, [(7, 10)], station="a-01", state=state)
    assert [e.kind for e in events] == ["resolve"]


SILENT = Rule(
    id=4, kind="silent", stations=("lens-01",), silent_after_s=1800, created_at=T0 - 86400
)


def test_silent_station_starts_after_the_delay_and_resolves_on_the_next_reading() -> None:
    state, _ = apply_reading(SILENT, State(), "lens-01", T0, {"pm2_5": 5})
    state, events = apply_clock(SILENT, state, T0 + 1799)
    assert events == []
    state, events = apply_clock(SILENT, state, T0 + 1801)
    assert [(e.kind, e.stations, e.since) for e in events] == [("start", ("lens-01",), T0)]
    state, events = apply_clock(SILENT, state, T0 + 7200)
    assert events == []  # said once
    state, events = apply_reading(SILENT, state, "lens-01", T0 + 7300, {"pm2_5": 5})
    assert [e.kind for e in events] == ["resolve"] and not state.active


def test_silent_counts_from_the_subscription_when_never_seen() -> None:
    _, events = apply_clock(SILENT, State(), T0 - 86400 + 1000)
    assert events == []
    _, events = apply_clock(SILENT, State(), T0 - 86400 + 2000)
    assert [e.kind for e in events] == ["start"]


def test_reminders_follow_the_repeat_period() -> None:
    rule = replace(PM, repeat_s=3600)
    state, _ = feed(rule, [(0, 60), (10, 60)])
    state, events = apply_clock(rule, state, T0 + 600 + 3599)
    assert events == []
    state, events = apply_clock(rule, state, T0 + 600 + 3600)
    assert [e.kind for e in events] == ["repeat"]
    state, events = apply_clock(rule, state, T0 + 600 + 3700)
    assert events == []
    _, events = apply_clock(rule, state, T0 + 600 + 7200)
    assert [e.kind for e in events] == ["repeat"]


def test_quiet_hours_hold_messages_until_they_end() -> None:
    # 23:30 in Paris (UTC+1 in November) -> 07:00 the next morning
    late = datetime(2026, 11, 3, 22, 30, tzinfo=UTC).timestamp()
    assert release_at(late, (22, 7)) == datetime(2026, 11, 4, 6, 0, tzinfo=UTC).timestamp()
    early = datetime(2026, 11, 4, 4, 0, tzinfo=UTC).timestamp()  # 05:00 Paris
    assert release_at(early, (22, 7)) == datetime(2026, 11, 4, 6, 0, tzinfo=UTC).timestamp()
    noon = datetime(2026, 11, 4, 11, 0, tzinfo=UTC).timestamp()
    assert release_at(noon, (22, 7)) == noon and release_at(noon, None) == noon
    lunch = (12, 14)
    assert release_at(noon, lunch) == datetime(2026, 11, 4, 13, 0, tzinfo=UTC).timestamp()


def test_mean_mode_fires_on_the_window_mean_once_covered() -> None:
    rule = Rule(id=5, kind="threshold", stations=("home-01",), quantity="radon", above=300,
                for_s=7 * 86400, mode="mean")  # fmt: skip
    state = State()
    events: list[Event] = []
    for h in range(7 * 24 + 2):  # one reading an hour: 250 on weekdays, 500 two days
        v = 500.0 if h % 168 < 48 else 250.0
        state, ev = apply_reading(rule, state, "home-01", T0 + h * 3600, {"radon": v})
        events += ev
        if h < 160:
            assert not ev, h  # the window is not covered yet
    assert [e.kind for e in events] == ["start"]
    assert 300 < events[0].value < 330  # (2 × 500 + 5 × 250) / 7 ≈ 321


def test_step_track_does_not_change_its_input() -> None:
    state, _ = feed(PM, [(0, 60)])
    before = state.tracks["lens-01"]
    after = step_track(PM, before, T0 + 600, 70)
    assert before.status == "pending" and after.status == "firing"


def test_state_survives_json() -> None:
    state, _ = feed(PM, [(0, 60), (10, 60)])
    back = State.from_json(state.to_json())
    assert back.key() == state.key()
    assert back.tracks["lens-01"].last_ts == state.tracks["lens-01"].last_ts


def test_durations_and_rule_checks() -> None:
    assert parse_duration("10m") == 600 and parse_duration("2h") == 7200
    assert parse_duration("7j") == 7 * 86400 and parse_duration(90) == 90
    assert format_duration(600) == "10 min" and format_duration(7 * 86400, "en") == "7 days"
    assert parse_quiet_hours("22-7") == (22, 7) and parse_quiet_hours(None) is None
    for bad in ("ten minutes", "-5m", "400d"):
        with pytest.raises(AlertRuleError, match=r"duration|366"):
            parse_duration(bad, "for")
    with pytest.raises(AlertRuleError, match="quantity"):
        validate_rule("threshold", "pm25", 50, None, 600, None)
    with pytest.raises(AlertRuleError, match="clear"):
        validate_rule("threshold", "pm2_5", 50, 60, 600, None)
    with pytest.raises(AlertRuleError, match="silent_after"):
        validate_rule("silent", None, None, None, 0, 10)
    with pytest.raises(AlertRuleError, match="quiet"):
        parse_quiet_hours("7-7")


def test_french_message_says_what_to_do_and_links() -> None:
    links = Links("https://airq.example/stations/lens-01", "https://airq.example/u/1?key=k",
                  {"lens-01": "École Jean Jaurès"})  # fmt: skip
    _, events = feed(PM, [(0, 60), (10, 62.5)])
    title, body = render(PM, events[0], links)
    assert "Particules fines PM2,5" in title and "École Jean Jaurès" in title
    assert "plus de 50 µg/m³ depuis plus de 10 min" in body and "62,5 µg/m³" in body
    assert "limitez l'effort physique en extérieur" in body
    assert "https://airq.example/stations/lens-01" in body
    assert "Ne plus recevoir ces alertes : https://airq.example/u/1?key=k" in body
    title, body = render(PM, events[0], links, "en")
    assert "Fine particles PM2.5 alert" in title and "limit physical effort outdoors" in body
    state, _ = feed(PM, [(0, 60), (10, 60)])
    _, events = feed(PM, [(11, 20), (21, 20)], state=state)
    title, body = render(PM, events[0], links)
    assert title.startswith("Fin d'alerte") and "redescendu sous 45 µg/m³" in body


def test_silent_and_co2_messages() -> None:
    links = Links(None, "u", {})
    _, events = apply_clock(SILENT, State(), T0 + 86400)
    title, body = render(SILENT, events[0], links)
    assert title == "Station muette : la station lens-01" and "branchée" in body
    co2 = Rule(id=6, kind="threshold", stations=("s-01",), quantity="co2", above=1500)
    _, ev = apply_reading(co2, State(), "s-01", T0, {"co2": 1800})
    _, body = render(co2, ev[0], links)
    assert "aérez la pièce" in body


STUCK = Rule(id=7, kind="stuck", stations=("lens-01",), quantity="pm2_5", stuck_readings=4)


def test_a_stuck_sensor_starts_after_n_equal_readings_and_ends_at_another_value() -> None:
    state, events = feed(STUCK, [(0, 12.0), (1, 12.0), (2, 12.0)])
    assert events == []
    state, events = feed(STUCK, [(3, 12.0)], state=state)
    assert [(e.kind, e.value, e.since) for e in events] == [("start", 12.0, T0)]
    state, events = feed(STUCK, [(4, 12.0), (5, 12.0), (5, 13.0)], state=state)
    assert events == []  # still stuck; a duplicate time is ignored
    state, events = feed(STUCK, [(6, 12.5)], state=state)
    assert [e.kind for e in events] == ["resolve"] and not state.active
    # a zero repeated is stuck too (a frozen sensor, not clean air for hours)
    _, events = feed(STUCK, [(10 + i, 0.0) for i in range(4)], state=state)
    assert [e.kind for e in events] == ["start"]
    title, body = render(STUCK, events[0], Links(None, "u", {}))
    assert title == "Capteur bloqué : la station lens-01" and "4 mesures de suite" in body
    assert "débranchez la station" in body


def test_stuck_rule_needs_a_quantity_and_a_count() -> None:
    with pytest.raises(AlertRuleError, match="stuck_readings"):
        validate_rule("stuck", "pm2_5", None, None, 0, None, stuck_readings=2)
    with pytest.raises(AlertRuleError, match="quantity"):
        validate_rule("stuck", None, None, None, 0, None, stuck_readings=10)
    validate_rule("stuck", "pm2_5", None, None, 0, None, stuck_readings=10)


def test_named_thresholds_atmo_class_and_who_24h() -> None:
    from airq_core.alerts import resolve_level

    who = resolve_level("pm2_5", None, "who-24h")
    assert (who.above, who.for_s, who.mode, who.level) == (15.0, 86400.0, "mean", "who_24h")
    assert resolve_level("pm10_hcorr", None, "who_24h").above == 45.0
    degrade = resolve_level("pm2_5", "degrade", None)  # Dégradé starts above Moyen's 20
    assert (degrade.above, degrade.for_s, degrade.level) == (20.0, 86400.0, "atmo:degrade")
    gas = resolve_level("no2", "mauvais", None)  # gases: the hourly mean
    assert (gas.above, gas.for_s) == (120.0, 3600.0)
    for bad, match in (
        (("co2", None, "who-24h"), "WHO 24-h guideline exists for"),
        (("radon", "degrade", None), "ATMO classes exist for"),
        (("pm2_5", "bon", None), "best class"),
        (("pm2_5", "rouge", None), "not one of"),
        (("pm2_5", None, "who-1y"), "who-24h"),
        (("pm2_5", "degrade", "who-24h"), "either"),
    ):
        with pytest.raises(AlertRuleError, match=match):
            resolve_level(*bad)
    rule = replace(PM, above=20, for_s=86400, mode="mean", level="atmo:degrade")
    ev = Event(1, "start", T0, ("lens-01",), 23.0, T0)
    _, body = render(rule, ev, Links(None, "u", {}))
    assert "plus de 20 µg/m³ (indice ATMO « Dégradé » ou pire) en moyenne sur 24 h" in body
    _, body = render(replace(rule, above=15, level="who_24h"), ev, Links(None, "u", {}), "en")
    assert "more than 15 µg/m³ (the WHO 24-hour guideline) as a 24 h mean" in body


def test_bbox_parsing_and_its_area_name() -> None:
    from airq_core.alerts import parse_bbox

    assert parse_bbox("3.10,50.70,3.05,50.60") == (3.05, 50.60, 3.10, 50.70)
    for bad in ("3.05,50.6,3.1", "a,b,c,d", "50.6,3.05,50.7,200", "3,50,3,51"):
        with pytest.raises(AlertRuleError, match="bbox"):
            parse_bbox(bad)
    area = replace(AREA, stations=("a-01", "c-01"))
    ev = Event(3, "start", T0, ("a-01", "c-01"), 90.0, T0)
    title, _ = render(area, ev, Links(None, "u", {}, "50.600, 3.050 – 50.700, 3.100", "bbox"))
    assert (
        title
        == "Alerte Particules fines PM2,5 : la zone 50.600, 3.050 – 50.700, 3.100 (2 stations)"
    )


def test_the_cap_keeps_one_message_per_period_and_cancels_what_was_never_read() -> None:
    from alerts.rules import cap_message

    assert cap_message("start", T0, None, None, 3600) == ("add", T0)
    assert cap_message("resolve", T0 + 60, None, T0, 3600) == ("add", T0 + 3600)
    assert cap_message("start", T0 + 7200, None, T0, 3600) == ("add", T0 + 7200)
    # a start and an end both unread cancel out, and so do an end and a new start
    assert cap_message("resolve", T0 + 60, "start", T0, 3600)[0] == "cancel"
    assert cap_message("start", T0 + 60, "resolve", T0, 3600)[0] == "cancel"
    assert cap_message("resolve", T0 + 60, "repeat", T0, 3600)[0] == "replace"
    assert cap_message("repeat", T0 + 60, "start", T0, 3600)[0] == "drop"


def test_an_area_mean_rule_starts_on_the_stations_mean_not_on_agreement() -> None:
    rule = replace(AREA, stations=("a-01", "b-01", "c-01", "d-01"), min_stations=3,
                   area_mean=True)  # fmt: skip
    state = State()
    events: list[Event] = []

    def read(*series: tuple[str, float, float]) -> None:
        nonlocal state
        for station, minute, value in series:
            state, ev = feed(rule, [(minute, value)], station=station, state=state)
            events.extend(ev)

    read(("a-01", 0, 400), ("b-01", 1, 20))
    assert events == [] and "*area" not in state.tracks  # two stations heard: not judged
    read(("c-01", 2, 30), ("d-01", 3, 25))
    assert not state.active  # a faulty sensor: 20, 25, 30, 400 -> trimmed mean 27.5
    read(("b-01", 4, 70), ("c-01", 5, 80))
    # 25, 70, 80, 400 -> 75, the area's trimmed mean
    assert [(e.kind, e.value) for e in events] == [("start", 75.0)]
    assert events[0].stations == ("a-01", "b-01", "c-01", "d-01")
    _, body = render(rule, events[0], Links(None, "u", {}, "QN05901M"))
    assert "moyenne récente des stations : 75 µg/m³" in body
    read(("b-01", 6, 10), ("c-01", 7, 10))
    assert [e.kind for e in events] == ["start", "resolve"]
    # the same stations under the agreement rule: two of them above is enough there, and a
    # mean with two stations far below is not: 55, 60, 0, 0 (trimmed mean 27.5)
    agree, mean = replace(rule, area_mean=False, min_stations=2), rule
    for r, expected in ((agree, ["start"]), (mean, [])):
        state, events = State(), []
        rule = r
        read(("c-01", 10, 0), ("d-01", 11, 0), ("a-01", 12, 55), ("b-01", 13, 60))
        assert [e.kind for e in events] == expected, r.area_mean
