"""Which stations the ingest accepts: the registry's active ids, cached, with a clock injected
(the registry is a real SQLite file made by the API's Registry)."""

from __future__ import annotations

from pathlib import Path

from api.registry import Registry
from ingest.stations import KnownStations


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_station_registered_just_after_another_miss_is_accepted_at_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    registry = Registry(url)
    clock = Clock()
    known = KnownStations(url, refresh_s=30, miss_refresh_s=2, clock=clock)
    try:
        registry.add("lens-01", 50.45, 2.84)
        assert "lens-01" in known  # first load
        registry.add("lens-02", 50.45, 2.84)
        clock.now += 3
        assert "lens-02" in known  # a miss after miss_refresh_s reloads
        # a third station registered within miss_refresh_s of that reload: its first reading
        # (a workshop registers stations a few seconds apart) must not be refused
        registry.add("lens-ecole", 50.45, 2.84)
        clock.now += 0.5
        assert "lens-ecole" in known
        # an id that is not registered is refused, and looked up again only after
        # miss_refresh_s (a flood of unknown ids does not cost one query each)
        assert "nowhere" not in known
        registry.add("nowhere", 50.45, 2.84)
        clock.now += 0.5
        assert "nowhere" not in known
        clock.now += 3
        assert "nowhere" in known
        # a retired station leaves at the next refresh
        registry.retire("lens-ecole")
        clock.now += 31
        assert "lens-ecole" not in known
        assert "lens-01" in known
        assert 7 not in known  # not a station id at all
    finally:
        known.close()
        registry.close()
