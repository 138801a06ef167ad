"""``airq alerts run``: readings from MQTT, rules evaluated as they arrive, messages delivered
through Apprise.

Threads: paho's network thread only enqueues messages; the evaluator (``run``) decodes them,
applies the rules (:mod:`alerts.rules`), writes each state change with its messages in one
transaction (:class:`alerts.store.AlertDb`) and only then acknowledges the MQTT message; the
delivery thread sends what the outbox holds. So:

- replicas share ``$share/<group>/airq/v1/+/readings`` (MQTT v5): each reading reaches one
  replica; state changes go through compare-and-set, so two replicas never both decide a
  message (the loser reads the new state and evaluates again);
- a restart loses nothing: the broker keeps the readings for the persistent session
  (``AIRQ_ALERTS_SESSION_EXPIRY_S``), a message decided is in the outbox, a message sent is
  marked so, a station that fell silent during the restart is found by the first clock tick;
- a reading delivered twice (QoS 1 after a restart) changes nothing: tracks ignore readings
  not newer than their last one, and an alert already on does not start again.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from airq_core import wire
from airq_core.errors import WireFormatError
from airq_core.flags import FOREIGN_BOARD
from airq_core.storage import excludes_from_aggregates
from airq_core.urls import alert_unsubscribe_url, parse_mqtt_url, station_page_url
from alerts.drift import RecentMeans, neighbours
from alerts.messages import Links, render
from alerts.metrics import AlertsCollector, Histograms, serve_metrics
from alerts.notify import send
from alerts.rules import (
    Event,
    Rule,
    State,
    apply_clock,
    apply_drift,
    apply_reading,
    release_at,
)
from alerts.settings import AlertsSettings
from alerts.store import AlertDb, SubscriptionInfo

__all__ = ["AlertsService", "Counters"]

log = logging.getLogger(__name__)

REFUSED_CREDENTIALS = (4, 5, 134, 135)
CAS_TRIES = 5
RETRY_BASE_S = 5.0
STARTUP_GRACE_S = 2.0
HEARTBEAT_S = 5.0
BATCH = 500  # messages handled between two housekeeping checks


@dataclass(slots=True)
class Counters:
    messages: int = 0
    readings: int = 0
    rejected: int = 0
    transitions: int = 0
    conflicts: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0


@dataclass(slots=True)
class _Msg:
    mid: int
    qos: int
    topic: str
    payload: bytes
    retain: bool


def _reading_step(
    rule: Rule, station: str, ts: float, values: dict[str, float], state: State
) -> tuple[State, list[Event]]:
    return apply_reading(rule, state, station, ts, values)


def _clock_step(rule: Rule, now: float, state: State) -> tuple[State, list[Event]]:
    return apply_clock(rule, state, now)


def _drift_step(
    rule: Rule, station: str, ts: float, mean: float, median: float, state: State
) -> tuple[State, list[Event]]:
    return apply_drift(rule, state, station, ts, mean, median)


def _bbox_label(bbox: str) -> str:
    """``west,south,east,north`` as a message names it."""
    try:
        w, s_, e, n = (float(x) for x in bbox.split(","))
    except ValueError:
        return bbox[:60]
    return f"{s_:.3f}, {w:.3f} – {n:.3f}, {e:.3f}"


class AlertsService:
    """One replica. ``run(stop)`` blocks until ``stop`` is set."""

    def __init__(self, settings: AlertsSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.db = AlertDb(settings.database_url)
        self.counters = Counters()
        self.histograms = Histograms()
        self.histograms.registry.register(
            AlertsCollector(lambda: self.counters, lambda: len(self.subs))
        )
        self.metrics_server: Any = None
        self.subs: dict[int, SubscriptionInfo] = {}
        self.by_station: dict[str, list[int]] = {}
        self.states: dict[int, tuple[int, State]] = {}
        self.dirty: set[int] = set()
        self.names: dict[str, str] = {}
        # drift rules: recent means of the watched stations and their neighbours (in memory,
        # rebuilt within an hour after a restart), neighbour lists per subscription
        self.means = RecentMeans()
        self.near: dict[int, dict[str, tuple[str, ...]]] = {}
        self.feed: dict[str, frozenset[str]] = {}  # station -> quantities kept in ``means``
        self._near_key: int | None = None
        self.inbox: queue.SimpleQueue[_Msg] = queue.SimpleQueue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.fatal: str | None = None
        self._wake_delivery = threading.Event()
        self._target = parse_mqtt_url(settings.mqtt_url)
        self.topic = f"$share/{settings.alerts_shared_group}/{wire.READINGS_FILTER}"
        self._client: mqtt.Client | None = None

    # -- subscriptions ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Reads the subscriptions and the station names again; states of new subscriptions
        are read (or created), those of ended ones dropped."""
        subs = self.db.read_subscriptions()
        if subs is None:
            return
        stations = self.db.read_stations()
        if stations:
            self.names = {sid: name for sid, (name, _, _) in stations.items()}
        self._refresh_drift(subs, stations)
        new_ids = [i for i in subs if i not in self.subs]
        self.subs = subs
        by_station: dict[str, list[int]] = {}
        for sid, info in subs.items():
            for st in info.rule.stations:
                by_station.setdefault(st, []).append(sid)
        self.by_station = by_station
        gone = [i for i in self.states if i not in subs]
        for i in gone:
            del self.states[i]
            self.dirty.discard(i)
        self.db.drop_states(gone)
        if new_ids:
            self.db.ensure_states(new_ids, self.clock())
            self.states.update(self.db.read_states(new_ids))

    def _refresh_drift(
        self, subs: dict[int, SubscriptionInfo], stations: dict[str, tuple[str, Any, Any]]
    ) -> None:
        """Neighbour lists of the drift rules' stations, computed again only when the drift
        subscriptions or the stations' places change."""
        drift = {i: s.rule for i, s in subs.items() if s.rule.kind == "drift"}
        if not drift and not self.near:
            return
        coords = {sid: (lat, lon) for sid, (_, lat, lon) in stations.items() if lat is not None}
        key = hash((tuple(sorted(coords.items())), tuple(sorted(
            (i, r.radius_km, r.quantity, r.stations) for i, r in drift.items()))))  # fmt: skip
        if key == self._near_key:
            return
        self._near_key = key
        near: dict[int, dict[str, tuple[str, ...]]] = {}
        feed: dict[str, set[str]] = {}
        for i, rule in drift.items():
            if rule.quantity is None:
                continue
            near[i] = neighbours(rule.stations, coords, rule.radius_km or 2.0)
            for st, others in near[i].items():
                for x in (st, *others):
                    feed.setdefault(x, set()).add(rule.quantity)
        self.near = near
        self.feed = {st: frozenset(q) for st, q in feed.items()}

    # -- evaluation -------------------------------------------------------------------------
    def _messages(
        self, info: SubscriptionInfo, events: list[Event]
    ) -> list[tuple[str, float, str, str]]:
        rule = info.rule
        area, area_kind = info.qpv, "qpv"
        if info.bbox and not area:
            area, area_kind = _bbox_label(info.bbox), "bbox"
        out = []
        for ev in events:
            # the station the message is about (a fleet's or an area's first one otherwise)
            first = (ev.stations or rule.stations or ("",))[0]
            links = Links(
                station_page=station_page_url(self.settings.public_url, first, info.lang)
                if first
                else None,
                unsubscribe=alert_unsubscribe_url(
                    self.settings.public_url, rule.id, info.unsubscribe_key
                ),
                names=self.names,
                area=area,
                area_kind=area_kind,
            )
            title, body = render(rule, ev, links, info.lang)
            out.append((ev.kind, release_at(ev.at if ev.kind == "repeat" else self.clock(),
                                            rule.quiet), title, body))  # fmt: skip
        return out

    def _change(self, sub_id: int, step: Callable[[State], tuple[State, list[Event]]]) -> None:
        """Applies ``step`` to the subscription's state; a change of what matters (or a
        message) is written by compare-and-set, evaluated again on the stored state after a
        conflict."""
        info = self.subs.get(sub_id)
        if info is None or sub_id not in self.states:
            return
        for _ in range(CAS_TRIES):
            version, state = self.states[sub_id]
            new, events = step(state)
            if new is state:
                return
            if not events and new.key() == state.key():
                self.states[sub_id] = (version, new)
                self.dirty.add(sub_id)  # runs, last readings, sums: written by ``flush``
                return
            msgs = self._messages(info, events)
            quiet = info.rule.quiet
            if self.db.write_state(
                sub_id, version, new, self.clock(), msgs, info.rule.cap_s,
                partial(release_at, quiet=quiet), merge=info.rule.kind != "drift",
            ):  # fmt: skip
                self.states[sub_id] = (version + 1, new)
                self.dirty.discard(sub_id)
                self.counters.transitions += 1
                if msgs:
                    self._wake_delivery.set()
                return
            self.counters.conflicts += 1
            fresh = self.db.read_states([sub_id]).get(sub_id)
            if fresh is None:
                return
            self.states[sub_id] = fresh
        log.warning("subscription %s: state kept changing under us; reading skipped", sub_id)

    def handle(self, topic: str, payload: bytes) -> None:
        """One MQTT message: every reading applied to the subscriptions of its station. Bad
        content is counted and dropped."""
        self.counters.messages += 1
        try:
            station, kind = wire.parse_topic(topic)
            if kind != "readings":
                return
        except WireFormatError:
            self.counters.rejected += 1
            return
        sub_ids = self.by_station.get(station, ())
        keep = self.feed.get(station)
        if not sub_ids and not keep:
            return
        if len(payload) > wire.DEFAULT_LIMITS.max_payload_bytes:
            self.counters.rejected += 1
            return
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.counters.rejected += 1
            log.debug("not JSON from %s: %r", station, payload[:80])
            return
        readings, errors = wire.decode_readings(station, obj, self.clock())
        self.counters.rejected += len(errors)
        if errors:
            log.debug("rejected from %s: %s (%r)", station, errors[0], payload[:80])
        for r in sorted(readings, key=lambda r: r.ts):
            self.counters.readings += 1
            if FOREIGN_BOARD in r.flags:  # another station's board: says nothing of this one
                continue
            # a flagged value the statistics leave out (warm-up, …) starts or ends no alert,
            # but the reading still tells that the station is alive (silent rules)
            values = {} if excludes_from_aggregates(r.flags) else r.values
            if keep:
                for q in keep & values.keys():
                    self.means.add(r.station, q, r.ts, values[q])
            for sid in sub_ids:
                try:
                    rule = self.subs[sid].rule
                    if rule.kind == "drift":
                        if values:
                            self._drift(sid, rule, r.station, r.ts, values)
                        continue
                    self._change(sid, partial(_reading_step, rule, r.station, r.ts, values))
                except Exception:  # one subscription's failure never stops the others
                    log.exception("subscription %s failed on a reading of %s", sid, station)

    def _drift(
        self, sid: int, rule: Rule, station: str, ts: float, values: dict[str, float]
    ) -> None:
        """A reading of a station a drift rule watches: its recent mean against its
        neighbours' median (nothing while it has too few neighbours with readings)."""
        if rule.quantity not in values:
            return
        near = self.near.get(sid, {}).get(station, ())
        got = self.means.compare(station, rule.quantity, ts, near, rule.min_neighbours or 3)
        if got is None:
            return
        mean, median, _ = got
        self._change(sid, partial(_drift_step, rule, station, ts, mean, median))

    def tick(self) -> None:
        """Clock rules (silent stations, reminders) at ``clock()``."""
        now = self.clock()
        for sid, info in list(self.subs.items()):
            if info.rule.kind != "silent" and info.rule.repeat_s <= 0:
                continue
            try:
                self._change(sid, partial(_clock_step, info.rule, now))
            except Exception:
                log.exception("subscription %s failed on the clock", sid)

    def flush(self) -> None:
        """Writes, in one transaction, the states changed without a message (pending and
        resolving runs, reading times, last readings, sums); on a conflict the stored state
        wins, with the later last readings kept, and is written at the next flush."""
        items = [(sid, *self.states[sid]) for sid in self.dirty if sid in self.states]
        self.dirty.clear()
        if not items:
            return
        failed = self.db.write_states(items, self.clock())
        for sid, version, state in items:
            if sid not in failed:
                self.states[sid] = (version + 1, state)
        if not failed:
            return
        for sid, (fv, fs) in self.db.read_states(sorted(failed)).items():
            _, state = self.states[sid]
            for st, t in state.last_seen.items():
                fs.last_seen[st] = max(t, fs.last_seen.get(st, t))
            self.states[sid] = (fv, fs)
            self.dirty.add(sid)

    # -- delivery ---------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Sends the messages due; returns how many were delivered."""
        now = self.clock()
        done = 0
        for msg in self.db.claim_due(
            self.settings.alerts_client_id, now, self.settings.alerts_claim_s
        ):
            info = self.subs.get(msg.subscription_id)
            if info is None:
                subs = self.db.read_subscriptions() or {}
                info = subs.get(msg.subscription_id)
            if info is None:
                self.db.mark_sent(msg.id, now, "unsubscribed before delivery")
                continue
            error = send(info.target, msg.title, msg.body)
            if error is None:
                sent_at = self.clock()
                self.db.mark_sent(msg.id, sent_at)
                self.counters.sent += 1
                self.histograms.delivery.observe(max(0.0, sent_at - msg.due_at))
                done += 1
                log.info("alert %s sent (subscription %s)", msg.id, msg.subscription_id)
            elif msg.attempts + 1 >= self.settings.alerts_max_attempts:
                self.db.mark_sent(msg.id, self.clock(), f"given up: {error}")
                self.counters.failed += 1
                log.error(
                    "alert %s (subscription %s) given up after %d attempts: %s",
                    msg.id, msg.subscription_id, msg.attempts + 1, error,
                )  # fmt: skip
            else:
                delay = min(RETRY_BASE_S * 2**msg.attempts, 3600)
                self.counters.retried += 1
                self.db.mark_failed(msg.id, self.clock() + delay, error)
                log.warning("alert %s not delivered (%s); retried in %.0f s", msg.id, error, delay)
        return done

    def _delivery_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.exception("delivery failed; retrying")
            self._wake_delivery.wait(1.0)
            self._wake_delivery.clear()

    # -- MQTT -------------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            msg = f"broker {self._target.redacted()} refused the connection: {reason_code}"
            if reason_code.value in REFUSED_CREDENTIALS:
                self.fatal = msg + " (check AIRQ_MQTT_URL user and password)"
            log.error(msg)
            return
        log.info("connected to %s (session present: %s)", self._target.redacted(),
                 flags.session_present)  # fmt: skip
        self.connected.set()
        client.subscribe(self.topic, options=SubscribeOptions(qos=1))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):  # type: ignore[no-untyped-def]
        if any(rc.is_failure for rc in reason_codes):
            self.fatal = f"the broker refused the subscription to {self.topic}: {reason_codes}"
            log.error(self.fatal)
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        if self.connected.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason_code)
        self.connected.clear()

    def _on_message(self, client, userdata, msg):  # type: ignore[no-untyped-def]
        self.inbox.put(_Msg(msg.mid, msg.qos, msg.topic, msg.payload, msg.retain))

    def _connect(self) -> mqtt.Client:
        t = self._target
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.alerts_client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if t.username:
            client.username_pw_set(t.username, t.password)
        if t.tls or self.settings.mqtt_ca_file:
            import ssl

            client.tls_set(ca_certs=self.settings.mqtt_ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.alerts_session_expiry_s
        client.connect_async(t.host, t.port, keepalive=30, clean_start=False, properties=props)
        client.loop_start()
        return client

    @staticmethod
    def _beat(path: str) -> None:
        try:
            with open(path, "a"):
                os.utime(path)
        except OSError as exc:
            log.warning("cannot touch the heartbeat file %s: %s", path, exc)

    def run(self, stop: threading.Event) -> None:
        """Evaluates until ``stop`` is set (or the broker refuses our credentials)."""
        self.refresh()
        self.states.update(self.db.read_states(list(self.subs)))
        if self.settings.alerts_metrics_port is not None and self.metrics_server is None:
            self.metrics_server = serve_metrics(
                self.histograms.registry,
                lambda: {
                    "mqtt_connected": self.connected.is_set(),
                    "subscribed": self.subscribed.is_set(),
                },
                self.settings.alerts_metrics_host,
                self.settings.alerts_metrics_port,
            )
            log.info("metrics on port %s", self.metrics_server.server_port)
        delivery = threading.Thread(
            target=self._delivery_loop, args=(stop,), name="alerts-delivery", daemon=True
        )
        delivery.start()
        self._client = client = self._connect()
        s = self.settings
        next_refresh = next_flush = next_beat = 0.0
        # the clock rules wait for the readings the broker kept while we were stopped: a
        # station that published meanwhile is not silent
        next_tick = float("inf")
        try:
            while not stop.is_set() and self.fatal is None:
                mono = time.monotonic()
                if mono >= next_refresh:
                    self.refresh()
                    next_refresh = mono + s.alerts_refresh_s
                if next_tick == float("inf") and self.subscribed.is_set():
                    next_tick = mono + STARTUP_GRACE_S
                if mono >= next_tick and self.inbox.empty():
                    self.tick()
                    next_tick = mono + s.alerts_tick_s
                if mono >= next_flush:
                    self.flush()
                    next_flush = mono + s.alerts_flush_s
                if s.alerts_heartbeat_file and mono >= next_beat:
                    self._beat(s.alerts_heartbeat_file)
                    next_beat = mono + HEARTBEAT_S
                try:
                    batch = [self.inbox.get(timeout=0.2)]
                except queue.Empty:
                    continue
                try:  # what else is there, up to a batch, without waiting
                    while len(batch) < BATCH:
                        batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    pass
                for m in batch:
                    started = time.perf_counter()
                    try:
                        if not m.retain:  # a retained message is a replay, not a new reading
                            self.handle(m.topic, m.payload)
                            self.histograms.evaluation.observe(time.perf_counter() - started)
                    except Exception:
                        log.exception("message on %s failed", m.topic[:80])
                    if m.qos > 0:
                        client.ack(m.mid, m.qos)  # after its state changes are written
        finally:
            stop.set()
            self.connected.clear()
            client.disconnect()
            client.loop_stop()
            self._wake_delivery.set()
            delivery.join(10)
            self.flush()
            self.db.close()
            if self.metrics_server is not None:
                self.metrics_server.shutdown()
                self.metrics_server.server_close()
                self.metrics_server = None
        if self.fatal:
            raise RuntimeError(self.fatal)
