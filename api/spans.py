"""Time spans a station's data is served for (pure): where a selection by place (``qpv=``,
``bbox=``) keeps a moved station only for the times its placement was in the place.

A span list is sorted, disjoint and never touching: ``((t0, t1), …)``, [t0, t1) in epoch
milliseconds. A reading at ``t`` is kept when a span holds it; a window [t, t + length) when
one span holds it whole (a window in which the station was moved counts for neither place).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["Spans", "intersect_spans", "merge_spans", "span_mask", "to_ms"]

Spans = tuple[tuple[int, int], ...]


def to_ms(intervals: Iterable[tuple[float, float]]) -> Spans:
    """[t0, t1) in epoch seconds (``qpv_intervals``) -> merged spans in milliseconds holding
    the same whole milliseconds."""
    return merge_spans((math.ceil(a * 1000), math.ceil(b * 1000)) for a, b in intervals)


def merge_spans(spans: Iterable[tuple[int, int]]) -> Spans:
    """Spans in any order, overlapping or touching -> sorted, disjoint, not touching; empty
    spans dropped (two consecutive placements both in the place make one span)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for s in spans if s[0] < s[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def intersect_spans(a: Spans, b: Spans) -> Spans:
    """The times in both (two merged span lists)."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def span_mask(times: np.ndarray, spans: Spans, length_ms: int | np.ndarray = 0) -> np.ndarray:
    """For each start time (epoch ms, int64), whether one span holds [t, t + length_ms)
    whole (``length_ms`` 0: the instant ``t``, a raw reading)."""
    t = np.asarray(times, dtype=np.int64)
    if not spans:
        return np.zeros(len(t), dtype=bool)
    starts = np.fromiter((s[0] for s in spans), np.int64, len(spans))
    ends = np.fromiter((s[1] for s in spans), np.int64, len(spans))
    i = np.searchsorted(starts, t, side="right") - 1
    end = ends[np.maximum(i, 0)]
    return (i >= 0) & (t + np.maximum(length_ms, 1) <= end)
