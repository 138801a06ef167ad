"""The rules' logic, pure and clock-injected: readings and the clock in, a new state and the
messages to send out. The service (alerts/service.py) keeps states, writes them and delivers.

Threshold rule, per station (a *track*)::

    ok --value > above--> pending --still above for `for`--> firing
    firing --value < clear--> resolving --still below for `clear_for`--> ok
    pending --value <= above--> ok          resolving --value >= clear--> firing

``clear`` (the hysteresis) defaults to ``above × 0.9``, ``clear_for`` to ``for``: a value
hovering at the threshold neither starts nor ends an alert at each reading. With
``mode="mean"`` the track compares the mean of the window's readings instead (kept as
``BUCKETS`` partial sums), once the window is covered. Reading times drive the tracks (a
backlog replayed after an outage is judged at the times it was measured); a reading older
than the track's last one is ignored (a duplicate delivery changes nothing), and a gap longer
than ``MAX_GAP_S`` (or the window) starts a pending run again.

A subscription holds one track per station; it *starts* when at least ``min_stations`` tracks
are firing (1 for a station, 2 or more for an area, so one faulty sensor cannot raise a
neighbourhood alert) and *resolves* when fewer are. With ``area_mean``, an area instead
follows one more track (``AREA_TRACK``) fed with the mean of its stations' values (each
station's last reading, or its window mean in ``mean`` mode) whenever at least
``min_stations`` of them were heard recently (from 3 stations on, the highest and the lowest
value are left out of that mean, so one faulty sensor cannot carry it).

Stuck rule: the same value of the quantity ``stuck_readings`` times in a row starts the alert
(a frozen sensor or a board resending its last frame); another value ends it.

Drift rule: at each reading of a watched station, the service gives its recent mean and the
median of its neighbours' recent means (:mod:`alerts.drift`); the station is *apart* when the
mean is more than ``drift_ratio`` times the median (or less than the median divided by it)
and/or differs from it by more than ``drift_diff``; apart for ``for`` starts the alert, within
90 % of those limits for ``clear_for`` ends it (the threshold track on a score: 1 at the limit).

Silent rule: a station whose last reading is older than ``silent_after`` (by the clock) starts
the alert; its next reading resolves it. Repeat policy: while an alert is on, a reminder
every ``repeat_s`` (0: none); quiet hours hold messages until they end (:func:`release_at`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airq_core.alerts import DEFAULT_HYSTERESIS

__all__ = [
    "AREA_TRACK",
    "BUCKETS",
    "MAX_GAP_S",
    "Event",
    "Rule",
    "State",
    "Track",
    "apply_clock",
    "apply_drift",
    "apply_reading",
    "cap_message",
    "drift_score",
    "release_at",
    "step_stuck",
    "step_track",
]

MAX_GAP_S = 900.0
AREA_TRACK = "*area"  # not a station id: the track of an area's mean
_FIRING = frozenset({"firing", "resolving"})
BUCKETS = 60
LOCAL_TZ = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class Rule:
    """One subscription's rule (the fields of ``alert_subscriptions`` the logic needs)."""

    id: int
    kind: str  # "threshold" | "silent"
    stations: tuple[str, ...]
    quantity: str | None = None
    above: float | None = None
    clear: float | None = None
    for_s: float = 0.0
    clear_for_s: float | None = None
    silent_after_s: float | None = None
    min_stations: int = 1
    repeat_s: float = 0.0
    quiet: tuple[int, int] | None = None
    mode: str = "all"
    created_at: float = 0.0
    stuck_readings: int | None = None
    drift_ratio: float | None = None
    drift_diff: float | None = None
    radius_km: float | None = None
    min_neighbours: int | None = None
    level: str | None = None  # "who_24h", "atmo:degrade": what the messages name
    cap_s: float = 0.0  # at most one message per this period (0: no cap)
    area_mean: bool = False  # an area starts on its stations' mean, not on stations agreeing

    @property
    def clear_level(self) -> float:
        if self.clear is not None:
            return self.clear
        assert self.above is not None
        return self.above - abs(self.above) * DEFAULT_HYSTERESIS

    @property
    def resolve_after_s(self) -> float:
        return self.for_s if self.clear_for_s is None else self.clear_for_s


@dataclass(slots=True)
class Track:
    """One station's place in a threshold rule. ``since``: start of the current run."""

    status: str = "ok"  # ok | pending | firing | resolving
    since: float | None = None
    last_ts: float = -math.inf
    value: float | None = None
    # mode "mean": bucket index -> [sum, count]
    sums: dict[int, list[float]] = field(default_factory=dict)
    repeats: int = 0  # stuck rule: readings in a row with ``value``
    ref: float | None = None  # drift rule: the neighbours' median at the last reading

    @property
    def firing(self) -> bool:
        return self.status in _FIRING


@dataclass(slots=True)
class State:
    """A subscription's state; :meth:`to_json` / :meth:`from_json` for the database."""

    active: bool = False
    started_at: float | None = None
    last_sent: float | None = None
    tracks: dict[str, Track] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)
    silent: tuple[str, ...] = ()

    def key(self) -> tuple[Any, ...]:
        """What decides messages: written at once (compare-and-set) when it changes. The rest
        (pending and resolving runs, reading times, sums, last readings) is written by the
        service's periodic flush: losing it in a crash delays an alert by at most that much,
        never sends one twice."""
        firing = [s for s, t in self.tracks.items() if t.status in _FIRING]
        if len(firing) > 1:
            firing.sort()
        return (self.active, self.started_at, self.last_sent, tuple(firing), self.silent)

    def to_json(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "started_at": self.started_at,
            "last_sent": self.last_sent,
            "tracks": {
                s: {
                    "status": t.status,
                    "since": t.since,
                    "last_ts": t.last_ts if math.isfinite(t.last_ts) else None,
                    "value": t.value,
                    "sums": {str(k): v for k, v in t.sums.items()},
                    "repeats": t.repeats,
                    "ref": t.ref,
                }
                for s, t in self.tracks.items()
            },
            "last_seen": self.last_seen,
            "silent": list(self.silent),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> State:
        tracks = {
            s: Track(
                t["status"],
                t.get("since"),
                -math.inf if t.get("last_ts") is None else t["last_ts"],
                t.get("value"),
                {int(k): [float(v[0]), float(v[1])] for k, v in t.get("sums", {}).items()},
                int(t.get("repeats", 0)),
                t.get("ref"),
            )
            for s, t in obj.get("tracks", {}).items()
        }
        return cls(
            bool(obj.get("active")),
            obj.get("started_at"),
            obj.get("last_sent"),
            tracks,
            {s: float(v) for s, v in obj.get("last_seen", {}).items()},
            tuple(obj.get("silent", ())),
        )

    def copy(self) -> State:
        """A copy whose track and last-reading tables can change (tracks themselves are
        never changed in place: a step makes a new one)."""
        return State(
            self.active,
            self.started_at,
            self.last_sent,
            dict(self.tracks),
            dict(self.last_seen),
            self.silent,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A message to send: ``start``, ``resolve`` or ``repeat`` of rule ``rule_id``."""

    rule_id: int
    kind: str
    at: float
    stations: tuple[str, ...]
    value: float | None = None
    since: float | None = None
    ref: float | None = None  # drift: the neighbours' median


def _window_mean(rule: Rule, track: Track, ts: float) -> float | None:
    """The mean of the window ending at ``ts``, or None while the window is not covered."""
    width = rule.for_s / BUCKETS
    newest = int(ts // width)
    oldest = newest - BUCKETS + 1
    for k in [k for k in track.sums if k < oldest]:
        del track.sums[k]
    if not track.sums or min(track.sums) > oldest + 1:  # less than the window seen yet
        return None
    total = sum(v[0] for v in track.sums.values())
    n = sum(v[1] for v in track.sums.values())
    return total / n if n else None


def step_stuck(rule: Rule, track: Track, ts: float, value: float) -> Track:
    """A stuck-sensor track after one reading: ``repeats`` counts the readings in a row with
    the same value; the track fires at ``stuck_readings`` and ends at the first other value."""
    if ts <= track.last_ts:
        return track
    if value == track.value:
        t = Track(track.status, track.since, ts, value, {}, track.repeats + 1)
    else:
        t = Track("ok", ts, ts, value, {}, 1)
    if t.status == "ok" and t.repeats >= (rule.stuck_readings or 0):
        t.status = "firing"
    return t


def step_track(rule: Rule, track: Track, ts: float, value: float) -> Track:
    """The track after one reading (a new object; ``track`` is left as it was)."""
    if ts <= track.last_ts:
        return track
    assert rule.above is not None
    gap = ts - track.last_ts
    t = Track(track.status, track.since, ts, value, dict(track.sums) if track.sums else {})
    if rule.mode == "mean":
        width = rule.for_s / BUCKETS
        b = t.sums.setdefault(int(ts // width), [0.0, 0.0])
        t.sums[int(ts // width)] = [b[0] + value, b[1] + 1]
        mean = _window_mean(rule, t, ts)
        if mean is None:
            return t
        t.value = mean
        above, below = mean > rule.above, mean < rule.clear_level
        if t.status in ("ok", "pending") and above:
            t.status, t.since = "firing", ts
        elif t.status in ("firing", "resolving") and below:
            t.status, t.since = "ok", ts
        return t
    if gap > max(MAX_GAP_S, rule.for_s) and t.status in ("pending", "resolving"):
        t.since = ts  # too long without readings: the run starts again here
    if t.status == "ok":
        if value > rule.above:
            t.status, t.since = ("firing", ts) if rule.for_s <= 0 else ("pending", ts)
    elif t.status == "pending":
        if value <= rule.above:
            t.status, t.since = "ok", ts
        elif t.since is not None and ts - t.since >= rule.for_s:
            t.status, t.since = "firing", ts
    elif t.status == "firing":
        if value < rule.clear_level:
            t.status, t.since = ("ok", ts) if rule.resolve_after_s <= 0 else ("resolving", ts)
    elif t.status == "resolving":
        if value >= rule.clear_level:
            t.status = "firing"
        elif t.since is not None and ts - t.since >= rule.resolve_after_s:
            t.status, t.since = "ok", ts
    return t


def drift_score(rule: Rule, mean: float, median: float) -> float:
    """How far ``mean`` is from ``median`` in units of the rule's limits: above 1 when it is
    past every limit given (the ratio either way, the absolute difference), 0 when equal."""
    scores = []
    if rule.drift_ratio is not None:
        hi, lo = max(mean, median), min(mean, median)
        ratio = hi / lo if lo > 0 else (math.inf if hi > 0 else 1.0)
        scores.append((ratio - 1) / (rule.drift_ratio - 1))
    if rule.drift_diff is not None:
        scores.append(abs(mean - median) / rule.drift_diff)
    return min(scores) if scores else 0.0


def apply_drift(
    rule: Rule, state: State, station: str, ts: float, mean: float, median: float
) -> tuple[State, list[Event]]:
    """The state after a reading of ``station`` at ``ts`` whose recent mean is ``mean`` while
    its neighbours' median is ``median`` (both from :mod:`alerts.drift`)."""
    if station not in rule.stations or rule.kind != "drift":
        return state, []
    track = state.tracks.get(station, Track())
    if ts <= track.last_ts:
        return state, []
    as_threshold = Rule(
        rule.id, "threshold", rule.stations, rule.quantity, 1.0, 1.0 - DEFAULT_HYSTERESIS,
        rule.for_s, rule.clear_for_s,
    )  # fmt: skip
    t = step_track(as_threshold, track, ts, drift_score(rule, mean, median))
    t.value, t.ref = mean, median
    return _decide(rule, state, station, t, ts)


def _firing(state: State) -> tuple[str, ...]:
    return tuple(sorted(s for s, t in state.tracks.items() if t.firing and s != AREA_TRACK))


def apply_reading(
    rule: Rule, state: State, station: str, ts: float, values: dict[str, float]
) -> tuple[State, list[Event]]:
    """The state after one reading of ``station`` measured at ``ts``, and the messages due.
    ``state`` is not changed."""
    if station not in rule.stations or rule.kind == "drift":  # drift: see apply_drift
        return state, []
    if rule.kind == "silent":
        new = state.copy()
        events: list[Event] = []
        new.last_seen[station] = max(ts, new.last_seen.get(station, -math.inf))
        if station in new.silent:
            new.silent = tuple(s for s in new.silent if s != station)
            if new.active and not new.silent:
                new.active, new.last_sent = False, ts
                events.append(Event(rule.id, "resolve", ts, (station,), since=new.started_at))
        return new, events
    if rule.quantity is None or rule.quantity not in values:
        return state, []
    track = state.tracks.get(station, Track())
    step = step_stuck if rule.kind == "stuck" else step_track
    return _decide(rule, state, station, step(rule, track, ts, values[rule.quantity]), ts)


def _decide(
    rule: Rule, state: State, station: str, track: Track, ts: float
) -> tuple[State, list[Event]]:
    """The subscription after one station's track moved: starts when enough tracks fire."""
    new = state.copy()
    events: list[Event] = []
    new.tracks[station] = track
    if rule.area_mean and rule.kind == "threshold":
        return _decide_area_mean(rule, new, ts)
    if rule.kind == "drift":
        return _decide_per_station(rule, state, new, station, track, ts)
    firing = _firing(new)
    need = max(1, rule.min_stations)
    if not new.active and len(firing) >= need:
        new.active, new.started_at, new.last_sent = True, ts, ts
        value = _mean(new, firing)
        since = ts
        if rule.kind == "stuck":  # since the first reading of the run
            since = min(new.tracks[s].since or ts for s in firing)
            new.started_at = since
        events.append(Event(rule.id, "start", ts, firing, value, since))
    elif new.active and len(firing) < need:
        new.active, new.last_sent = False, ts
        stations = tuple(sorted(new.tracks))
        events.append(Event(rule.id, "resolve", ts, stations, _mean(new, stations), new.started_at))
    return new, events


def _decide_per_station(
    rule: Rule, state: State, new: State, station: str, track: Track, ts: float
) -> tuple[State, list[Event]]:
    """Drift: each station is its own alert (a fleet's subscriber hears of every station that
    drifts and of every one that comes back); the subscription is on while any is."""
    before = state.tracks.get(station)
    was = before is not None and before.firing
    events: list[Event] = []
    if track.firing and not was:
        if not new.active:
            new.active, new.started_at = True, ts
        new.last_sent = ts
        events.append(Event(rule.id, "start", ts, (station,), track.value, ts, track.ref))
    elif was and not track.firing:
        new.active = bool(_firing(new))
        new.last_sent = ts
        events.append(Event(rule.id, "resolve", ts, (station,), track.value, None, track.ref))
    return new, events


def _decide_area_mean(rule: Rule, new: State, ts: float) -> tuple[State, list[Event]]:
    """An area on its stations' mean: the stations heard within the window (at least 15 min)
    with a value, at least ``min_stations`` of them, feed the area's own track."""
    horizon = max(MAX_GAP_S, rule.for_s if rule.mode == "all" else 0.0)
    fresh = tuple(
        sorted(
            s
            for s, t in new.tracks.items()
            if s != AREA_TRACK and t.value is not None and ts - t.last_ts <= horizon
        )
    )
    area = new.tracks.get(AREA_TRACK, Track())
    if len(fresh) >= max(1, rule.min_stations):
        mean = _trimmed_mean([v for s in fresh if (v := new.tracks[s].value) is not None])
        # the window is already in each station's mean in "mean" mode
        windowed = rule.mode == "all"
        as_all = Rule(
            rule.id, "threshold", rule.stations, rule.quantity, rule.above, rule.clear_level,
            rule.for_s if windowed else 0.0, rule.clear_for_s if windowed else 0.0,
        )  # fmt: skip
        if ts == area.last_ts:  # another station's reading of the same instant counts too
            area = Track(area.status, area.since, ts - 1e-6, area.value)
        area = step_track(as_all, area, ts, mean)
        new.tracks[AREA_TRACK] = area
    events: list[Event] = []
    if not new.active and area.firing:
        new.active, new.started_at, new.last_sent = True, ts, ts
        events.append(Event(rule.id, "start", ts, fresh, area.value, ts))
    elif new.active and not area.firing:
        new.active, new.last_sent = False, ts
        events.append(Event(rule.id, "resolve", ts, fresh, area.value, new.started_at))
    return new, events


def _trimmed_mean(values: list[float]) -> float:
    """The mean, the highest and the lowest value left out from 3 values on (the median of
    3): one faulty sensor of an area cannot carry its mean alone."""
    if len(values) >= 3:
        values = sorted(values)[1:-1]
    return sum(values) / len(values)


def _mean(state: State, stations: tuple[str, ...], attr: str = "value") -> float | None:
    values = [v for s in stations if (v := getattr(state.tracks[s], attr)) is not None]
    return sum(values) / len(values) if values else None


def apply_clock(rule: Rule, state: State, now: float) -> tuple[State, list[Event]]:
    """The state at ``now`` without a new reading: silent stations, reminders."""
    new = state
    events: list[Event] = []
    if rule.kind == "silent" and rule.silent_after_s is not None:
        since = {s: state.last_seen.get(s, rule.created_at) for s in rule.stations}
        silent = tuple(sorted(s for s, t in since.items() if now - t > rule.silent_after_s))
        if silent != state.silent:
            new = state.copy()
            new.silent = silent
            if silent and not new.active:
                new.active, new.last_sent = True, now
                new.started_at = min(since[s] for s in silent)
                events.append(Event(rule.id, "start", now, silent, since=new.started_at))
    if new.active and rule.repeat_s > 0:
        last = new.last_sent if new.last_sent is not None else new.started_at
        if last is not None and now - last >= rule.repeat_s:
            if new is state:
                new = state.copy()
            new.last_sent = now
            stations = new.silent if rule.kind == "silent" else _firing(new)
            value = None if rule.kind == "silent" else _mean(new, stations)
            if rule.area_mean and AREA_TRACK in new.tracks:
                stations = tuple(s for s in sorted(new.tracks) if s != AREA_TRACK)
                value = new.tracks[AREA_TRACK].value
            ref = _mean(new, stations, "ref") if rule.kind == "drift" else None
            events.append(Event(rule.id, "repeat", now, stations, value, new.started_at, ref))
    return new, events


def cap_message(
    kind: str, due: float, held: str | None, last_due: float | None, cap_s: float
) -> tuple[str, float]:
    """The per-period cap (``cap_s``: at most one message per period): what to do with a new
    message of ``kind`` due at ``due``, given the kind of the subscription's message still
    held (not yet sent) and the due time of its last message kept. Returns (action, due):

    - ``"add"``: queue it, not before ``last_due + cap_s``;
    - ``"cancel"``: drop it and the held one (a start and an end the recipient never read:
      nothing happened for them; an end and a new start: the alert they know goes on);
    - ``"replace"``: the end takes the place of a held reminder (at its time);
    - ``"drop"``: a reminder while another message is held says nothing more.
    """
    if held is None:
        return "add", due if last_due is None else max(due, last_due + cap_s)
    if {held, kind} == {"start", "resolve"}:
        return "cancel", due
    if held == "repeat" and kind == "resolve":
        return "replace", due
    if kind == "repeat":
        return "drop", due
    return "add", due if last_due is None else max(due, last_due + cap_s)


def release_at(t: float, quiet: tuple[int, int] | None, tz: ZoneInfo = LOCAL_TZ) -> float:
    """When a message decided at ``t`` may be sent: ``t``, or the end of the quiet hours
    (local ``[start, end)`` hours, across midnight when start > end)."""
    if quiet is None:
        return t
    start, end = quiet
    local = datetime.fromtimestamp(t, tz)
    h = local.hour
    inside = start <= h < end if start < end else (h >= start or h < end)
    if not inside:
        return t
    day = local.date() if h < end else local.date() + timedelta(days=1)
    wake = datetime(day.year, day.month, day.day, end, tzinfo=tz)
    return max(t, wake.timestamp())
