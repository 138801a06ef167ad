"""Deterministic value generators for virtual sensors (plausible, reproducible)."""

from __future__ import annotations

import math
import random


class Wander:
    """A bounded random walk with a daily cycle: looks like a real street, stays reproducible."""

    def __init__(
        self,
        base: float,
        spread: float,
        lo: float,
        hi: float,
        seed: int = 0,
        step: float = 0.05,
        decimals: int = 1,
    ) -> None:
        self._rng = random.Random(seed)
        self.base, self.spread, self.lo, self.hi = base, spread, lo, hi
        self._x = 0.0
        self._step = step
        self._decimals = decimals

    def next(self, now: float) -> float:
        self._x = max(-1.0, min(1.0, self._x + self._rng.gauss(0, self._step)))
        daily = math.sin(2 * math.pi * ((now / 86400.0) % 1.0 - 0.3))
        v = self.base + self.spread * (0.6 * self._x + 0.4 * daily)
        return round(min(self.hi, max(self.lo, v)), self._decimals)
