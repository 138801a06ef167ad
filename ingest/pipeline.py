"""Message handling of the ingest (pure apart from the injected station lookup and clock):
one MQTT message in -> valid readings out, rejections counted by reason."""

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

    def as_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "readings": self.readings,
            "rejected": dict(self.rejected),
        }


class MessageHandler:
    def __init__(
        self,
        stations: Container[str],
        clock: Callable[[], float],
        limits: wire.Limits = wire.DEFAULT_LIMITS,
    ) -> None:
        self._stations = stations
        self._clock = clock
        self._limits = limits
        self.counters = Counters()

    def _reject(self, err: WireFormatError, topic: str, payload: bytes) -> None:
        self.counters.rejected[err.reason] += 1
        log.debug("rejected (%s) on %s: %s; payload %r", err.reason, topic[:80], err, payload[:120])

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
        for err in errors:
            self._reject(err, topic, payload)
        self.counters.readings += len(readings)
        return readings
