"""The words of an alert (pure): French by default, English available. Plain sentences a
resident understands, what to do, the station's page and the link that ends the subscription.
The sentences are the ``alerts`` domain of the gettext catalogues (``airq_core/locale``,
docs/translations.md); this module fills them in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from airq_core.alerts import format_duration
from airq_core.i18n import message_in
from airq_core.quantities import QUANTITIES
from airq_core.reference_values import ATMO_CLASSES
from alerts.rules import LOCAL_TZ, Event, Rule

__all__ = ["Links", "render"]

# what to do while a quantity is high (start and reminder messages): the key of its advice
ADVICE = ("pm", "no2", "o3", "co2", "radon")


def _m(lang: str, key: str, **kw: object) -> str:
    """The message ``key`` of the ``alerts`` catalogues in ``lang``."""
    return message_in(lang, "alerts", key, **kw)


@dataclass(frozen=True, slots=True)
class Links:
    """The addresses a message carries."""

    station_page: str | None  # the station's page (the first station of an area)
    unsubscribe: str
    names: dict[str, str]  # station id -> name (id when unnamed)
    area: str | None = None  # QPV code or area name for area rules
    area_kind: str = "qpv"  # "qpv" (le quartier …) or "bbox" (la zone …)


def _advice_key(quantity: str | None) -> str:
    if quantity is None:
        return "advice_other"
    if quantity.startswith("pm"):
        return "advice_pm"
    return f"advice_{quantity}" if quantity in ADVICE else "advice_other"


def _num(value: float | None, lang: str) -> str:
    if value is None:
        return "?"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if lang == "fr" else text


def _time(t: float | None, lang: str) -> str:
    if t is None:
        return "?"
    local = datetime.fromtimestamp(t, LOCAL_TZ)
    return _m(
        lang,
        "time",
        day=f"{local.day:02d}",
        month=f"{local.month:02d}",
        hour=f"{local.hour:02d}",
        minute=f"{local.minute:02d}",
    )


def _where(rule: Rule, event: Event, links: Links, lang: str) -> str:
    names = [links.names.get(s, s) for s in event.stations] or list(rule.stations)
    if links.area:
        count = f"{len(event.stations)} stations" if len(event.stations) > 1 else f"{names[0]}"
        zone = links.area_kind == "bbox"
        return _m(lang, "where_zone" if zone else "where_area", area=links.area, count=count)
    joined = ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
    return _m(lang, "where_stations", names=joined)


def _level(level: str | None, lang: str) -> str | None:
    """How a message names a named threshold: the WHO guideline, an ATMO class."""
    if level == "who_24h":
        return _m(lang, "level_who_24h")
    if level and level.startswith("atmo:"):
        cls = next((c for c in ATMO_CLASSES if c.key == level[5:]), None)
        if cls is not None:
            return _m(lang, "level_atmo", label=cls.label_fr if lang == "fr" else cls.label_en)
    return None


def render(rule: Rule, event: Event, links: Links, lang: str = "fr") -> tuple[str, str]:
    """(title, body) of one message."""
    lang = lang if lang in ("fr", "en") else "fr"
    fr = lang == "fr"
    where = _where(rule, event, links, lang)
    lines: list[str] = []
    if rule.kind == "silent":
        if event.kind in ("start", "repeat"):
            title = _m(lang, "silent_title", where=where)
            after = format_duration(rule.silent_after_s or 0, lang)
            lines.append(
                _m(lang, "silent_body", where=where, since=_time(event.since, lang), after=after)
            )
            lines.append(_m(lang, "advice_silent"))
        else:
            title = _m(lang, "silent_over_title", where=where)
            capital = f"{where[0].upper()}{where[1:]}"
            lines.append(_m(lang, "silent_over_body", Where=capital, at=_time(event.at, lang)))
    elif rule.kind == "stuck":
        q = QUANTITIES.get(rule.quantity or "")
        label = (q.label_fr if fr else q.label_en) if q else str(rule.quantity)
        unit = q.unit if q else ""
        if event.kind in ("start", "repeat"):
            title = _m(lang, "stuck_title", where=where)
            lines.append(
                _m(
                    lang,
                    "stuck_body",
                    label=label,
                    where=where,
                    value=_num(event.value, lang),
                    unit=unit,
                    n=rule.stuck_readings or 0,
                    since=_time(event.since, lang),
                )
            )
            lines.append(_m(lang, "advice_stuck"))
        else:
            title = _m(lang, "stuck_over_title", where=where)
            at = _time(event.at, lang)
            lines.append(_m(lang, "stuck_over_body", label=label, where=where, at=at))
    elif rule.kind == "drift":
        q = QUANTITIES.get(rule.quantity or "")
        label = (q.label_fr if fr else q.label_en) if q else str(rule.quantity)
        unit = q.unit if q else ""
        own, ref = f"{_num(event.value, lang)} {unit}", f"{_num(event.ref, lang)} {unit}"
        if event.kind in ("start", "repeat"):
            title = _m(lang, "drift_title", where=where)
            lines.append(
                _m(
                    lang,
                    "drift_body",
                    label=label,
                    window=format_duration(rule.for_s, lang),
                    where=where,
                    own=own,
                    radius=_num(rule.radius_km, lang),
                    ref=ref,
                )
            )
            lines.append(_m(lang, "advice_drift"))
        else:
            title = _m(lang, "drift_over_title", where=where)
            at = _time(event.at, lang)
            lines.append(
                _m(lang, "drift_over_body", label=label, where=where, own=own, ref=ref, at=at)
            )
    else:
        q = QUANTITIES.get(rule.quantity or "")
        label = (q.label_fr if fr else q.label_en) if q else str(rule.quantity)
        unit = q.unit if q else ""
        above = f"{_num(rule.above, lang)} {unit}"
        named = _level(rule.level, lang)
        if named:
            above = f"{above} ({named})"
        window = format_duration(rule.for_s, lang)
        recent = _m(lang, "recent_area_mean" if rule.area_mean else "recent_value")
        value = _num(event.value, lang)
        if event.kind in ("start", "repeat"):
            repeat = event.kind == "repeat"
            title = _m(
                lang,
                "threshold_reminder_title" if repeat else "threshold_title",
                label=label,
                where=where,
            )
            lines.append(
                _m(
                    lang,
                    "threshold_body",
                    label=label,
                    where=where,
                    above=above,
                    how=_m(
                        lang,
                        "threshold_mean_over" if rule.mode == "mean" else "threshold_longer_than",
                        window=window,
                    ),
                    recent=recent,
                    value=value,
                    unit=unit,
                    since=_time(event.since, lang),
                )
            )
            lines.append(_m(lang, _advice_key(rule.quantity)))
        else:
            title = _m(lang, "threshold_over_title", label=label, where=where)
            lines.append(
                _m(
                    lang,
                    "threshold_over_body",
                    label=label,
                    where=where,
                    clear=f"{_num(rule.clear_level, lang)} {unit}",
                    recent=recent,
                    value=value,
                    unit=unit,
                    at=_time(event.at, lang),
                    since=_time(event.since, lang),
                )
            )
    if links.station_page:
        lines.append(_m(lang, "see_station", url=links.station_page))
    lines.append(_m(lang, "unsubscribe", url=links.unsubscribe))
    return title, "\n\n".join(lines)
