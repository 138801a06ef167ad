"""What the dashboards know of the territory at build time: the QPV and the stations placed in
and around them, as the API's ``GET /v1/qpv`` returns them (``fetch_territory``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEPARTEMENTS = {
    "02": "Aisne",
    "59": "Nord",
    "60": "Oise",
    "62": "Pas-de-Calais",
    "80": "Somme",
}


@dataclass(frozen=True)
class QpvEntry:
    code: str
    name: str
    communes: tuple[str, ...]
    departement: str | None
    zones: dict[str, tuple[str, ...]]  # zone -> station ids (qpv, buffer_300m, …, hors_qpv)

    @property
    def stations(self) -> set[str]:
        return {s for ids in self.zones.values() for s in ids}


@dataclass(frozen=True)
class Territory:
    qpv: tuple[QpvEntry, ...] = ()
    buffers_m: tuple[int, ...] = (300, 1000)
    attribution: str = "ANCT (ex-CGET), QPV 2015 — Licence Ouverte / Etalab"
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Territory:
        """From the JSON of ``GET /v1/qpv``."""
        entries = []
        for q in body.get("qpv", []):
            entries.append(
                QpvEntry(
                    code=str(q["code"]),
                    name=str(q["name"]),
                    communes=tuple(q.get("communes") or ()),
                    departement=q.get("departement"),
                    zones={z: tuple(ids) for z, ids in (q.get("station_ids") or {}).items()},
                )
            )
        return cls(
            qpv=tuple(entries),
            buffers_m=tuple(body.get("buffers_m") or (300, 1000)),
            attribution=body.get("attribution") or cls.attribution,
            source=body.get("source") or "",
        )

    @classmethod
    def from_areas(cls, areas: Iterable[Any], source: str = "") -> Territory:
        """From QPV polygons read directly (objects with ``code``, ``name``, ``communes`` and
        ``departement``, such as the API's ``api.qpv.polygons.Area``), with no station placed:
        what a fresh deployment shows before any station is registered."""
        entries = [
            QpvEntry(
                code=str(a.code),
                name=str(a.name),
                communes=tuple(a.communes),
                departement=a.departement,
                zones={},
            )
            for a in areas
        ]
        return cls(qpv=tuple(entries), source=source)

    def monitored(self) -> list[QpvEntry]:
        """QPV with at least one station inside or within the smallest buffer."""
        near = f"buffer_{self.buffers_m[0]}m" if self.buffers_m else None
        return [q for q in self.qpv if q.zones.get("qpv") or (near and q.zones.get(near))]

    def choices(self) -> list[tuple[str, str]]:
        """(label, station-id regex) for the territory variable: the whole territory, then
        every department and every commune holding a QPV, each with the stations in and
        around its QPV.

        A department or commune with no station yet stays in the list, labelled so, with a
        value that matches no station id (ids are lower case, ``airq_core.wire.STATION_ID_RE``)
        and differs from every other value (Grafana restores a selection by its value)."""
        out = [("Tout le territoire", ".*")]
        by_dep: dict[str, set[str]] = {}
        by_commune: dict[str, set[str]] = {}
        spelling: dict[str, str] = {}  # the accented one of "Hénin-Beaumont" / "Henin-Beaumont"
        for q in self.qpv:
            ids = q.stations
            if q.departement:
                by_dep.setdefault(q.departement, set()).update(ids)
            for name in q.communes:
                c = _sort_key(name)
                if c not in spelling or _accents(name) > _accents(spelling[c]):
                    spelling[c] = name
                by_commune.setdefault(c, set()).update(ids)
        for dep, ids in sorted(by_dep.items()):
            label = f"{DEPARTEMENTS.get(dep, 'Département')} ({dep})"
            out.append(_choice(label, ids, f"DEP_{dep}"))
        for com, ids in sorted(by_commune.items()):
            key = re.sub(r"[^a-z0-9]+", "_", com).strip("_")
            out.append(_choice(spelling[com].replace(",", " "), ids, key))
        return out


NO_STATION = "AUCUNE_STATION"


def _accents(name: str) -> int:
    return sum(ord(ch) > 127 for ch in name)


def _sort_key(name: str) -> str:
    """Without accents or case: alphabetical order as a French reader expects it (Écourt
    between Douai and Fourmies), and one entry for two spellings of one commune."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def _choice(label: str, ids: set[str], key: str) -> tuple[str, str]:
    if ids:
        return label, "|".join(sorted(ids))
    return f"{label} — aucune station", f"{NO_STATION}_{key}"


def fetch_territory(api_url: str, timeout: float = 30) -> Territory:
    """Read ``GET {api_url}/v1/qpv``. Raises httpx errors; the CLI turns them into advice."""
    import httpx

    r = httpx.get(f"{api_url.rstrip('/')}/v1/qpv", timeout=timeout)
    r.raise_for_status()
    return Territory.from_api(r.json())
