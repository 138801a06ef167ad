"""Human-readable ``airq gateway status`` (French first, English with --lang en)."""

from __future__ import annotations

from typing import Any

WORDS = {
    "fr": {
        "station": "Station",
        "broker": "Broker",
        "queue": "File d'attente",
        "readings": "mesures en attente",
        "dropped": "perdues (disque plein)",
        "sensors": "Capteurs",
        "boards": "Cartes sensor.community",
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
        "unreachable": "injoignable",
        "waiting": "en attente d'une mesure",
    },
    "en": {
        "station": "Station",
        "broker": "Broker",
        "queue": "Queue",
        "readings": "readings waiting",
        "dropped": "dropped (disk full)",
        "sensors": "Sensors",
        "boards": "sensor.community boards",
        "last": "last reading",
        "none": "none",
        "clock": "Suspicious clock",
        "connected": "connected",
        "disconnected": "disconnected",
        "refused": "credentials refused",
        "connecting": "connecting…",
        "ok": "working",
        "missing": "port missing",
        "silent": "silent",
        "lost": "port lost",
        "starting": "starting",
        "error": "error",
        "unreachable": "unreachable",
        "waiting": "waiting for a measurement",
        "i2c": "I2C sensors",
    },
}


def format_status(s: dict[str, Any], lang: str = "fr") -> str:
    words = WORDS["en" if lang.startswith("en") else "fr"]

    def tr(key: str) -> str:
        return words.get(key, key)

    def last_text(last: dict[str, Any] | None) -> str:
        if not last:
            return tr("none")
        values = last["values"]
        flat = (
            {f"{k}.{q}": v for k, vs in values.items() for q, v in vs.items()}
            if any(isinstance(v, dict) for v in values.values())
            else values
        )
        return f"{last['ts']} " + ", ".join(f"{k}={v}" for k, v in flat.items())

    q = s["queue"]
    lines = [
        f"{tr('station')}: {s['station']}  ({s['updated']})",
        f"{tr('broker')}: {s['broker']['url']} — {tr(s['broker']['state'])}",
        f"{tr('queue')}: {q['depth']} {tr('readings')}, {q['dropped']} {tr('dropped')}",
    ]
    if s.get("clock", {}).get("suspect"):
        lines.append(f"{tr('clock')}: {s['clock']['reason']}")
    for title, items, where in (
        ("sensors", s.get("sensors", []), "port"),
        ("boards", s.get("boards", []), "url"),
    ):
        if not items:
            continue
        lines.append(f"{tr(title)}:")
        for it in items:
            if where == "port":
                name = f"{it['type']} @ {it['port']}"
            elif where == "bus":
                name = f"{it['type']} @ I2C {it['bus']}"
            else:
                name = it["url"]
            problem = f" — {it['problem']}" if it.get("problem") else ""
            lines.append(
                f"  {name}: {tr(it['state'])}{problem}; {tr('last')}: {last_text(it.get('last'))}"
            )
    return "\n".join(lines)
