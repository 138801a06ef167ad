"""Small builders for Grafana dashboard JSON (schema version 39, Grafana 10.4–11.x).

Plain dicts, no framework: what is written is exactly what Grafana stores. Each dashboard is
built through a ``Board`` that hands out unique panel ids and lays panels out on the 24-column
grid, and records, for every InfluxQL target, the columns its query must return (checked by the
tests against a real influxd, never written to the JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 39
DATASOURCE_UID = "airq-influxdb"
DATASOURCE_TYPE = "influxdb"


def datasource(uid: str = DATASOURCE_UID) -> dict[str, str]:
    return {"type": DATASOURCE_TYPE, "uid": uid}


@dataclass
class Board:
    uid: str
    title: str
    description: str
    tags: list[str]
    time_from: str = "now-30d"
    datasource_uid: str = DATASOURCE_UID
    panels: list[dict[str, Any]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    # (panel id, refId) -> columns the query must return
    expected: dict[tuple[int, str], tuple[str, ...]] = field(default_factory=dict)
    _next_id: int = 1
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    # -- layout -----------------------------------------------------------------------------
    def _place(self, w: int, h: int) -> dict[str, int]:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        pos = {"x": self._x, "y": self._y, "w": w, "h": h}
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def _new_line(self) -> None:
        if self._x:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0

    def _id(self) -> int:
        pid = self._next_id
        self._next_id += 1
        return pid

    # -- panels -----------------------------------------------------------------------------
    def row(self, title: str, collapsed: bool = False) -> dict[str, Any]:
        self._new_line()
        panel = {
            "id": self._id(),
            "type": "row",
            "title": title,
            "collapsed": collapsed,
            "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1},
            "panels": [],
        }
        self._y += 1
        self.panels.append(panel)
        return panel

    def panel(
        self,
        kind: str,
        title: str,
        description: str,
        w: int = 12,
        h: int = 8,
        targets: list[Target] | None = None,
        options: dict[str, Any] | None = None,
        field_config: dict[str, Any] | None = None,
        transformations: list[dict[str, Any]] | None = None,
        into: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add a panel; ``into`` a collapsed row keeps it inside that row."""
        pid = self._id()
        panel: dict[str, Any] = {
            "id": pid,
            "type": kind,
            "title": title,
            "description": description,
            "gridPos": self._place(w, h),
            "options": options or {},
            "fieldConfig": field_config or {"defaults": {}, "overrides": []},
        }
        if targets:
            panel["datasource"] = datasource(self.datasource_uid)
            panel["targets"] = []
            for i, t in enumerate(targets):
                ref = chr(ord("A") + i) if i < 26 else f"Q{i}"
                panel["targets"].append(t.to_json(ref, self.datasource_uid))
                self.expected[(pid, ref)] = t.columns
        if transformations:
            panel["transformations"] = transformations
        panel.update(extra)
        if into is not None:
            into["panels"].append(panel)
        else:
            self.panels.append(panel)
        return panel

    def text(self, title: str, content: str, w: int = 24, h: int = 6, **kw: Any) -> None:
        self.panel("text", title, "", w, h, options={"mode": "markdown", "content": content}, **kw)

    # -- output -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": "5m",
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "monday",
            "links": self.links,
            "annotations": {"list": []},
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


@dataclass(frozen=True)
class Target:
    """One raw InfluxQL query of a panel, and the columns it must return."""

    query: str
    columns: tuple[str, ...]
    fmt: str = "time_series"  # or "table"
    alias: str | None = None

    def to_json(self, ref: str, uid: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "refId": ref,
            "datasource": datasource(uid),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.fmt,
        }
        if self.alias:
            out["alias"] = self.alias
        return out


# -- variables ----------------------------------------------------------------------------
def custom_variable(
    name: str,
    label: str,
    options: list[tuple[str, str]],
    description: str = "",
    hide: int = 0,
) -> dict[str, Any]:
    """A single-value custom variable; ``options`` are (text, value), the first is current."""
    query = ",".join(f"{text} : {value}" if text != value else value for text, value in options)
    text0, value0 = options[0]
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "description": description,
        "query": query,
        "current": {"selected": True, "text": text0, "value": value0},
        "options": [
            {"selected": i == 0, "text": text, "value": value}
            for i, (text, value) in enumerate(options)
        ],
        "multi": False,
        "includeAll": False,
        "hide": hide,
        "skipUrlSync": False,
    }


def query_variable(
    name: str,
    label: str,
    query: str,
    uid: str = DATASOURCE_UID,
    multi: bool = True,
    include_all: bool = True,
    description: str = "",
) -> dict[str, Any]:
    current = (
        {"selected": True, "text": ["All"], "value": ["$__all"]}
        if include_all
        else {"selected": False, "text": "", "value": ""}
    )
    return {
        "type": "query",
        "name": name,
        "label": label,
        "description": description,
        "datasource": datasource(uid),
        "query": query,
        "definition": query,
        "refresh": 1,  # on dashboard load
        "regex": "",
        "sort": 1,
        "multi": multi,
        "includeAll": include_all,
        "current": current,
        "options": [],
        "hide": 0,
        "skipUrlSync": False,
    }


# -- field configs ------------------------------------------------------------------------
def thresholds(steps: list[tuple[float | None, str]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def series_config(
    unit: str, guideline: float | None = None, bars: bool = False, min_zero: bool = True
) -> dict[str, Any]:
    """Time series defaults: gaps stay gaps (no line across missing data); an optional
    guideline drawn as a dashed red line."""
    defaults: dict[str, Any] = {
        "unit": unit,
        "custom": {
            "drawStyle": "bars" if bars else "line",
            "lineWidth": 1,
            "fillOpacity": 60 if bars else 0,
            "showPoints": "never",
            "spanNulls": False,
            "insertNulls": False,
            "lineInterpolation": "linear",
            "thresholdsStyle": {"mode": "dashed" if guideline is not None else "off"},
        },
        "color": {"mode": "palette-classic"},
        "thresholds": thresholds(
            [(None, "transparent"), (guideline, "red")]
            if guideline is not None
            else [(None, "green")]
        ),
    }
    if min_zero:
        defaults["min"] = 0
    return {"defaults": defaults, "overrides": []}


def legend_options(mode: str = "list") -> dict[str, Any]:
    return {
        "legend": {"displayMode": mode, "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "none"},
    }
