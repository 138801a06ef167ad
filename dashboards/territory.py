"""What the dashboards know of the territory at build time: the QPV and the stations placed in
and around them, as the API's ``GET /v1/qpv`` returns them (``fetch_territory``)."""

from __future__ import annotations

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

    def monitored(self) -> list[QpvEntry]:
        """QPV with at least one station inside or within the smallest buffer."""
        near = f"buffer_{self.buffers_m[0]}m" if self.buffers_m else None
        return [q for q in self.qpv if q.zones.get("qpv") or (near and q.zones.get(near))]

    def choices(self) -> list[tuple[str, str]]:
        """(label, station-id regex) for the territory variable: the whole territory, then
        each department and commune that has stations in or around its QPV."""
        out = [("Tout le territoire", ".*")]
        by_dep: dict[str, set[str]] = {}
        by_commune: dict[str, set[str]] = {}
        for q in self.qpv:
            ids = q.stations
            if not ids:
                continue
            if q.departement:
                by_dep.setdefault(q.departement, set()).update(ids)
            for c in q.communes:
                by_commune.setdefault(c, set()).update(ids)
        for dep, ids in sorted(by_dep.items()):
            out.append((f"{DEPARTEMENTS.get(dep, 'Département')} ({dep})", "|".join(sorted(ids))))
        for com, ids in sorted(by_commune.items()):
            out.append((com.replace(",", " "), "|".join(sorted(ids))))
        return out


def fetch_territory(api_url: str, timeout: float = 30) -> Territory:
    """Read ``GET {api_url}/v1/qpv``. Raises httpx errors; the CLI turns them into advice."""
    import httpx

    r = httpx.get(f"{api_url.rstrip('/')}/v1/qpv", timeout=timeout)
    r.raise_for_status()
    return Territory.from_api(r.json())
