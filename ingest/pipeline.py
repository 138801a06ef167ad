"""Message handling of the ingest (pure apart from the injected station lookup and clock):
one MQTT message in -> valid readings out, rejections counted by reason, ``seq`` gaps counted
per station."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Container
from dataclasses import dataclass, field

import orjson

from airq_core import wire
from airq_core.errors import WireFormatError
from airq_core.readings import Reading

log = logging.getLogger(__name__)


@dataclass
class Counters:
    messages: int = 0
    readings: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seq_gaps: Counter[str] = field(default_factory=Counter)  # station -> missing readings

    def as_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "readings": self.readings,
            "rejected": dict(self.rejected),
            "seq_gaps": sum(self.seq_gaps.values()),
        }


class RejectLog:
    """Logs a sample of rejected payloads: the first of each reason, then at most one per
    reason every ``interval`` seconds (with the number left out); every rejection at debug."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._skipped: Counter[str] = Counter()

    def __call__(self, err: WireFormatError, topic: str, payload: bytes) -> None:
        now = self._clock()
        last = self._last.get(err.reason)
        if last is not None and now - last < self._interval:
            self._skipped[err.reason] += 1
            log.debug(
                "rejected (%s) on %s: %s; payload %r", err.reason, topic[:80], err, payload[:120]
            )
            return
        self._last[err.reason] = now
        skipped = self._skipped.pop(err.reason, 0)
        log.warning(
            "rejected (%s) on %s: %s; payload %r%s",
            err.reason,
            topic[:80],
            err,
            payload[:200],
            f" ({skipped} more since the last sample)" if skipped else "",
        )


class MessageHandler:
    """Validates messages against wire format v1 and counts what it rejects.

    ``seq`` is one counter per station (the gateway's store numbers every reading of every
    sensor). ``track_seq_across_messages``: count a gap between consecutive messages of a
    station. Only true when this process sees every message (one worker); with a
    shared subscription each worker sees a subset, so only gaps inside one array payload (a
    gateway's consecutive backlog) are counted.
    """

    def __init__(
        self,
        stations: Container[str],
        clock: Callable[[], float],
        limits: wire.Limits = wire.DEFAULT_LIMITS,
        track_seq_across_messages: bool = True,
        reject_log_interval: float = 60.0,
    ) -> None:
        self._stations = stations
        self._clock = clock
        self._limits = limits
        self._across = track_seq_across_messages
        self._last_seq: dict[str, int] = {}
        self.counters = Counters()
        self._reject_log = RejectLog(reject_log_interval, clock)

    def _reject(self, err: WireFormatError, topic: str, payload: bytes) -> None:
        self.counters.rejected[err.reason] += 1
        self._reject_log(err, topic, payload)

    def reject(
        self, reason: str, message: str, topic: str, payload: bytes, unseen: bool = False
    ) -> None:
        """Counts (and samples in the log) a message refused outside decoding: ``retained``,
        ``internal``. ``unseen``: ``handle`` never saw it, count it as received here."""
        if unseen:
            self.counters.messages += 1
        self._reject(WireFormatError(reason, message), topic, payload)

    def _count_seq_gaps(self, readings: list[Reading]) -> None:
        last = self._last_seq if self._across else {}
        for r in readings:
            if r.seq is None:
                continue
            prev = last.get(r.station)
            if prev is None or r.seq > prev:
                if prev is not None and r.seq > prev + 1:
                    self.counters.seq_gaps[r.station] += r.seq - prev - 1
                last[r.station] = r.seq
            elif r.seq <= 1:
                last[r.station] = r.seq  # the gateway's store was reset
            # other seq <= prev: a redelivery or a replayed backlog, not a gap

    def handle(self, topic: str, payload: bytes) -> list[Reading]:
        self.counters.messages += 1
        try:
            station, kind = wire.parse_topic(topic)
            if kind != "readings":
                return []
            if len(payload) > self._limits.max_payload_bytes:
                raise WireFormatError(
                    "payload_too_large", f"payload of {len(payload)} bytes exceeds the limit"
                )
            if station not in self._stations:
                raise WireFormatError("unknown_station", f"station {station!r} is not registered")
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise WireFormatError("not_json", f"payload is not UTF-8 JSON: {exc}") from None
        except WireFormatError as err:
            self._reject(err, topic, payload)
            return []
        readings, errors = wire.decode_readings(station, obj, self._clock(), self._limits)
        for rejection in errors:
            self._reject(rejection, topic, payload)
        self.counters.readings += len(readings)
        if readings:
            self._count_seq_gaps(readings)
        return readings
