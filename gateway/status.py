"""Human-readable ``airq gateway status`` (French first, English with --lang en). Its words are
the ``gateway`` domain of the catalogues (``airq_core/locale``, docs/translations.md)."""

from __future__ import annotations

from typing import Any

from airq_core.i18n import has_message, message_in


def format_status(s: dict[str, Any], lang: str = "fr") -> str:
    language = "en" if lang.startswith("en") else "fr"

    def tr(key: str) -> str:
        # a state the catalogues do not name (a newer gateway's) is shown as it is
        return message_in(language, "gateway", key) if has_message("gateway", key) else key

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
        ("i2c", s.get("i2c", []), "bus"),
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
