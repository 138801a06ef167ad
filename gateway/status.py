"""Human-readable ``airq gateway status`` (French first)."""

from __future__ import annotations

from typing import Any

_L = {
    "fr": {
        "station": "Station",
        "broker": "Broker",
        "queue": "File d'attente",
        "readings": "mesures",
        "dropped": "perdues (disque plein)",
        "sensors": "Capteurs",
        "last": "dernière mesure",
        "none": "aucune",
        "clock": "Horloge suspecte",
        "connected": "connecté",
        "disconnected": "déconnecté",
        "refused": "identifiants refusés",
        "connecting": "connexion…",
        "ok": "fonctionne",
        "missing": "port absent",
        "silent": "muet",
        "lost": "port perdu",
        "starting": "démarrage",
        "error": "erreur",
    },
    "en": {
        "station": "Station",
        "broker": "Broker",
        "queue": "Queue",
        "readings": "readings",
        "dropped": "dropped (disk full)",
        "sensors": "Sensors",
        "last": "last reading",
        "none": "none",
        "clock": "Suspicious clock",
    },
}


def format_status(s: dict[str, Any], lang: str = "fr") -> str:
    L = {**_L["fr"], **_L["en"]} if lang.startswith("en") else _L["fr"]
    tr = (lambda k: L.get(k, k)) if not lang.startswith("en") else (lambda k: _L["en"].get(k, k))
    q = s["queue"]
    lines = [
        f"{tr('station')}: {s['station']}  ({s['updated']})",
        f"{tr('broker')}: {s['broker']['url']} — {tr(s['broker']['state'])}",
        f"{tr('queue')}: {q['depth']} {tr('readings')}, {q['dropped']} {tr('dropped')}",
    ]
    if s.get("clock", {}).get("suspect"):
        lines.append(f"{tr('clock')}: {s['clock']['reason']}")
    lines.append(f"{tr('sensors')}:")
    for sn in s["sensors"]:
        last = sn.get("last")
        last_txt = (
            f"{last['ts']} " + ", ".join(f"{k}={v}" for k, v in last["values"].items())
            if last
            else tr("none")
        )
        problem = f" — {sn['problem']}" if sn.get("problem") else ""
        lines.append(
            f"  {sn['type']} @ {sn['port']}: {tr(sn['state'])}{problem}; {tr('last')}: {last_txt}"
        )
    return "\n".join(lines)
