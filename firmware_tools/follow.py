"""Follow one station's latest values through the public API (``airq station follow``).

Polls ``GET /v1/stations/{id}`` (which quantities the station sends) and
``GET /v1/stations/{id}/series?quantity=…&start=…`` (new points since the last poll), and hands
each new set of values, grouped by time, to ``emit``; ``GET /v1/stations/{id}/hardware`` gives
the board's chip and each new hardware event (a changed board, a push from another station's
board) to ``on_hardware``. Transport errors are reported once when
the API becomes unreachable and once when it is back; the loop keeps polling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airq_core.quantities import QUANTITIES
from airq_core.readings import Sample, format_time, parse_time
from airq_core.sensors import SENSORS
from firmware_tools.errors import WorkshopError

__all__ = ["Follower", "Update"]

log = logging.getLogger(__name__)

DEFAULT_QUANTITIES = ("pm2_5", "pm10", "co2", "temperature", "humidity")


def _main(quantity: str) -> bool:
    spec = QUANTITIES.get(quantity)
    return spec is not None and spec.unit != "#/cm³" and not quantity.endswith("_cf1")


@dataclass
class Update:
    """New values of the station at one time (``ts``: Unix seconds)."""

    ts: float
    values: dict[str, float] = field(default_factory=dict)

    def as_sample(self) -> Sample:
        return Sample("", self.values)


class Follower:
    def __init__(
        self,
        api_url: str,
        station: str,
        lookback_s: float = 3600,
        timeout: float = 10,
        token: str | None = None,
    ) -> None:
        """``token``: the station's own (sent as HTTP Basic): an indoor station is unknown to
        the public API without it."""
        import httpx

        self.station = station
        auth = (station, token) if token else None
        self._client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout, auth=auth)
        self._since = time.time() - lookback_s
        self._seen: dict[str, float] = {}
        self.reachable = True
        self.last_seen: str | None = None
        self._hardware_seen: set[tuple[str, str, str]] = set()

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, **params: Any) -> Any:
        import httpx

        try:
            r = self._client.get(path, params=params)
        except httpx.TransportError as exc:
            raise ConnectionError(str(exc)) from None
        if r.status_code == 404:
            raise WorkshopError("follow_unknown_station", station=self.station)
        if r.status_code >= 500:
            raise ConnectionError(f"HTTP {r.status_code}")
        if r.status_code != 200:
            raise WorkshopError("follow_api_error", status=r.status_code, text=r.text[:200])
        return r.json()

    def quantities(self) -> tuple[str, ...]:
        """The station's quantities (from its record: one station, not the whole list, which
        comes a page at a time); raises for an unknown station (404)."""
        props = self._get(f"/v1/stations/{self.station}").get("properties", {})
        self.last_seen = props.get("last_seen")
        names = list(props.get("quantities") or [])
        for sensor in props.get("sensors") or []:
            if sensor in SENSORS:
                names += SENSORS[sensor].quantities
        return tuple(q for q in dict.fromkeys(names) if _main(q)) or DEFAULT_QUANTITIES

    def hardware(self) -> dict[str, Any] | None:
        """The station's boards (chip, since, events); None when the API has no such route."""
        import httpx

        try:
            r = self._client.get(f"/v1/stations/{self.station}/hardware")
        except httpx.TransportError as exc:
            raise ConnectionError(str(exc)) from None
        if r.status_code != 200:
            return None
        body = r.json()
        return body if isinstance(body, dict) else None

    def new_hardware_events(self, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Hardware events (first, changed, foreign) not returned before, oldest first, from
        ``body`` (an answer of :meth:`hardware`) or asked now."""
        body = (self.hardware() if body is None else body) or {}
        fresh = []
        for event in body.get("events") or []:
            if not isinstance(event, dict):
                continue
            key = (str(event.get("kind")), str(event.get("chip")), str(event.get("first_seen")))
            if key not in self._hardware_seen:
                self._hardware_seen.add(key)
                fresh.append(event)
        return fresh

    def poll(self) -> list[Update]:
        """New values since the previous poll, oldest first."""
        by_time: dict[float, Update] = {}
        for q in self.quantities():
            start = self._seen.get(q, self._since)
            body = self._get(
                f"/v1/stations/{self.station}/series", quantity=q, start=format_time(start)
            )
            for p in body.get("points", []):
                if p.get("value") is None or p.get("quantity", q) != q:
                    continue
                ts = parse_time(p["time"])
                if ts <= self._seen.get(q, self._since - 1):
                    continue
                by_time.setdefault(ts, Update(ts)).values[q] = float(p["value"])
                self._seen[q] = max(ts, self._seen.get(q, ts))
        return [by_time[k] for k in sorted(by_time)]

    def run(
        self,
        emit: Callable[[Update], None],
        on_state: Callable[[bool, str], None],
        stop: threading.Event,
        interval: float = 10,
        on_hardware: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Poll until ``stop`` is set; ``on_state(reachable, why)`` on each change of state,
        ``on_hardware(event)`` for each new hardware event."""
        while not stop.is_set():
            try:
                updates = self.poll()
                events = self.new_hardware_events() if on_hardware is not None else []
            except ConnectionError as exc:
                if self.reachable:
                    self.reachable = False
                    on_state(False, str(exc)[:120])
            else:
                if not self.reachable:
                    self.reachable = True
                    on_state(True, "")
                for u in updates:
                    emit(u)
                for event in events:
                    if on_hardware is not None:
                        on_hardware(event)
            stop.wait(interval)
