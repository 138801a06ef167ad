"""The words of an alert (pure): French by default, English available. Plain sentences a
resident understands, what to do, the station's page and the link that ends the subscription."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from airq_core.alerts import format_duration
from airq_core.quantities import QUANTITIES
from airq_core.reference_values import ATMO_CLASSES
from alerts.rules import LOCAL_TZ, Event, Rule

__all__ = ["Links", "render"]

# what to do while a quantity is high (start and reminder messages)
ADVICE: dict[str, dict[str, str]] = {
    "pm": {
        "fr": "Que faire : limitez l'effort physique en extérieur (course, vélo, sport), "
        "surtout pour les enfants, les personnes âgées et les personnes asthmatiques ou "
        "cardiaques ; gardez les fenêtres fermées pendant le pic et aérez quand les valeurs "
        "redescendent ; évitez de brûler du bois ou des déchets.",
        "en": "What to do: limit physical effort outdoors (running, cycling, sport), above "
        "all for children, older people and people with asthma or heart disease; keep the "
        "windows closed during the peak and air the rooms once the values come down; avoid "
        "burning wood or waste.",
    },
    "no2": {
        "fr": "Que faire : évitez l'effort physique près des axes routiers chargés et "
        "privilégiez les rues calmes ; aérez plutôt côté cour ou quand le trafic baisse.",
        "en": "What to do: avoid physical effort near busy roads and prefer quiet streets; "
        "air the rooms on the courtyard side or when traffic drops.",
    },
    "o3": {
        "fr": "Que faire : évitez l'effort physique en extérieur l'après-midi, aux heures "
        "les plus chaudes.",
        "en": "What to do: avoid physical effort outdoors in the afternoon, in the hottest hours.",
    },
    "co2": {
        "fr": "Que faire : aérez la pièce maintenant (fenêtres grandes ouvertes 5 à 10 "
        "minutes) et vérifiez que les entrées d'air et la VMC ne sont pas bouchées.",
        "en": "What to do: air the room now (windows wide open for 5 to 10 minutes) and "
        "check that the air vents and the ventilation are not blocked.",
    },
    "radon": {
        "fr": "Que faire : aérez chaque jour (10 minutes matin et soir), ne bouchez pas les "
        "entrées d'air, et parlez-en à votre mairie ou à l'ARS : au-dessus de 300 Bq/m³ en "
        "moyenne sur l'année, des travaux simples réduisent le radon.",
        "en": "What to do: air the rooms every day (10 minutes morning and evening), do not "
        "block the air vents, and talk to your town hall or the regional health agency (ARS): "
        "above 300 Bq/m³ as a yearly mean, simple works bring radon down.",
    },
    "other": {
        "fr": "Que faire : consultez la page de la station pour suivre l'évolution.",
        "en": "What to do: follow the values on the station's page.",
    },
}

SILENT_ADVICE = {
    "fr": "Que faire : vérifiez que la station est branchée et que la box ou le Wi-Fi "
    "fonctionne ; débranchez-la puis rebranchez-la. Si elle reste muette, contactez "
    "l'équipe AirQuartiers.",
    "en": "What to do: check that the station is plugged in and that the internet box or the "
    "Wi-Fi works; unplug it and plug it back in. If it stays silent, contact the "
    "AirQuartiers team.",
}


STUCK_ADVICE = {
    "fr": "Que faire : débranchez la station puis rebranchez-la. Si la valeur reste figée, le "
    "capteur est peut-être encrassé ou en panne : contactez l'équipe AirQuartiers.",
    "en": "What to do: unplug the station and plug it back in. If the value stays frozen, the "
    "sensor may be clogged or broken: contact the AirQuartiers team.",
}


DRIFT_ADVICE = {
    "fr": "Que faire : vérifiez que rien ne gêne la station (une source de fumée ou de poussière "
    "tout près, une entrée d'air bouchée, de la condensation) et qu'elle est bien à l'abri de la "
    "pluie. Si l'écart reste, le capteur est peut-être encrassé ou déréglé : contactez l'équipe "
    "AirQuartiers pour le vérifier.",
    "en": "What to do: check that nothing disturbs the station (smoke or dust right next to it, "
    "a blocked air inlet, condensation) and that it is sheltered from the rain. If the gap stays, "
    "the sensor may be clogged or off: contact the AirQuartiers team to check it.",
}


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
        return "other"
    if quantity.startswith("pm"):
        return "pm"
    return quantity if quantity in ADVICE else "other"


def _num(value: float | None, lang: str) -> str:
    if value is None:
        return "?"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if lang == "fr" else text


def _time(t: float | None, lang: str) -> str:
    if t is None:
        return "?"
    local = datetime.fromtimestamp(t, LOCAL_TZ)
    return local.strftime("%d/%m à %H:%M" if lang == "fr" else "%d/%m at %H:%M")


def _where(rule: Rule, event: Event, links: Links, lang: str) -> str:
    names = [links.names.get(s, s) for s in event.stations] or list(rule.stations)
    if links.area:
        if links.area_kind == "bbox":
            what = "la zone" if lang == "fr" else "the zone"
        else:
            what = "le quartier" if lang == "fr" else "the area"
        count = f"{len(event.stations)} stations" if len(event.stations) > 1 else f"{names[0]}"
        return f"{what} {links.area} ({count})"
    joined = ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
    return ("la station " if lang == "fr" else "station ") + joined


def _level(level: str | None, lang: str) -> str | None:
    """How a message names a named threshold: the WHO guideline, an ATMO class."""
    if level == "who_24h":
        return "valeur guide de l'OMS pour 24 h" if lang == "fr" else "the WHO 24-hour guideline"
    if level and level.startswith("atmo:"):
        cls = next((c for c in ATMO_CLASSES if c.key == level[5:]), None)
        if cls is not None:
            return (
                f"indice ATMO « {cls.label_fr} » ou pire"
                if lang == "fr"
                else f"ATMO class “{cls.label_en}” or worse"
            )
    return None


def render(rule: Rule, event: Event, links: Links, lang: str = "fr") -> tuple[str, str]:
    """(title, body) of one message."""
    lang = lang if lang in ("fr", "en") else "fr"
    fr = lang == "fr"
    where = _where(rule, event, links, lang)
    lines: list[str] = []
    if rule.kind == "silent":
        if event.kind in ("start", "repeat"):
            title = f"Station muette : {where}" if fr else f"Silent station: {where}"
            lines.append(
                f"Aucune mesure reçue de {where} depuis le {_time(event.since, lang)} "
                f"(plus de {format_duration(rule.silent_after_s or 0, lang)})."
                if fr
                else f"No reading received from {where} since {_time(event.since, lang)} "
                f"(more than {format_duration(rule.silent_after_s or 0, lang)})."
            )
            lines.append(SILENT_ADVICE[lang])
        else:
            title = f"Station de retour : {where}" if fr else f"Station back: {where}"
            lines.append(
                f"{where[0].upper()}{where[1:]} envoie de nouveau des mesures "
                f"(reçue le {_time(event.at, lang)})."
                if fr
                else f"{where[0].upper()}{where[1:]} sends readings again "
                f"(received {_time(event.at, lang)})."
            )
    elif rule.kind == "stuck":
        q = QUANTITIES.get(rule.quantity or "")
        label = (q.label_fr if fr else q.label_en) if q else str(rule.quantity)
        unit = q.unit if q else ""
        n = rule.stuck_readings or 0
        if event.kind in ("start", "repeat"):
            title = f"Capteur bloqué : {where}" if fr else f"Stuck sensor: {where}"
            lines.append(
                f"{label} : {where} envoie la même valeur ({_num(event.value, lang)} {unit}) "
                f"depuis au moins {n} mesures de suite (depuis le {_time(event.since, lang)})."
                if fr
                else f"{label}: {where} sends the same value ({_num(event.value, lang)} {unit}) "
                f"for at least {n} readings in a row (since {_time(event.since, lang)})."
            )
            lines.append(STUCK_ADVICE[lang])
        else:
            title = f"Capteur de nouveau actif : {where}" if fr else f"Sensor live again: {where}"
            lines.append(
                f"{label} : les valeurs de {where} varient de nouveau (le {_time(event.at, lang)})."
                if fr
                else f"{label}: the values of {where} change again ({_time(event.at, lang)})."
            )
    elif rule.kind == "drift":
        q = QUANTITIES.get(rule.quantity or "")
        label = (q.label_fr if fr else q.label_en) if q else str(rule.quantity)
        unit = q.unit if q else ""
        own, ref = f"{_num(event.value, lang)} {unit}", f"{_num(event.ref, lang)} {unit}"
        window = format_duration(rule.for_s, lang)
        radius = _num(rule.radius_km, lang)
        if event.kind in ("start", "repeat"):
            title = f"Station à vérifier : {where}" if fr else f"Station to check: {where}"
            lines.append(
                f"{label} : depuis plus de {window}, {where} mesure {own} en moyenne sur la "
                f"dernière heure, loin de ses voisines à moins de {radius} km ({ref}, valeur "
                f"médiane). Un tel écart qui dure vient souvent du capteur ou de son "
                f"emplacement, pas de l'air du quartier."
                if fr
                else f"{label}: for more than {window}, {where} measures {own} as a mean over "
                f"the last hour, far from its neighbours within {radius} km ({ref}, median "
                f"value). Such a lasting gap usually comes from the sensor or its place, not "
                f"from the area's air."
            )
            lines.append(DRIFT_ADVICE[lang])
        else:
            title = (
                f"Station de nouveau d'accord avec ses voisines : {where}"
                if fr
                else f"Station agrees with its neighbours again: {where}"
            )
            lines.append(
                f"{label} : {where} mesure de nouveau comme ses voisines ({own}, médiane des "
                f"voisines {ref}, le {_time(event.at, lang)})."
                if fr
                else f"{label}: {where} measures like its neighbours again ({own}, their "
                f"median {ref}, {_time(event.at, lang)})."
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
        mean = rule.mode == "mean"
        recent_fr = "moyenne récente des stations" if rule.area_mean else "valeur récente"
        recent_en = "recent mean of the stations" if rule.area_mean else "recent value"
        if event.kind in ("start", "repeat"):
            prefix = ("Rappel – " if fr else "Reminder – ") if event.kind == "repeat" else ""
            title = f"{prefix}Alerte {label} : {where}" if fr else f"{prefix}{label} alert: {where}"
            if fr:
                how = f"en moyenne sur {window}" if mean else f"depuis plus de {window}"
                lines.append(
                    f"{label} : {where} mesure plus de {above} {how} "
                    f"({recent_fr} : {_num(event.value, lang)} {unit}, "
                    f"depuis le {_time(event.since, lang)})."
                )
            else:
                how = f"as a {window} mean" if mean else f"for more than {window}"
                lines.append(
                    f"{label}: {where} measures more than {above} {how} "
                    f"({recent_en}: {_num(event.value, lang)} {unit}, "
                    f"since {_time(event.since, lang)})."
                )
            lines.append(ADVICE[_advice_key(rule.quantity)][lang])
        else:
            title = f"Fin d'alerte {label} : {where}" if fr else f"{label} alert over: {where}"
            clear = f"{_num(rule.clear_level, lang)} {unit}"
            lines.append(
                f"{label} : {where} est redescendu sous {clear} "
                f"({recent_fr} : {_num(event.value, lang)} {unit}, le "
                f"{_time(event.at, lang)}). L'alerte commencée le "
                f"{_time(event.since, lang)} est terminée."
                if fr
                else f"{label}: {where} is back below {clear} "
                f"({recent_en}: {_num(event.value, lang)} {unit}, {_time(event.at, lang)}). "
                f"The alert that began {_time(event.since, lang)} is over."
            )
    if links.station_page:
        lines.append(("Voir la station : " if fr else "See the station: ") + links.station_page)
    lines.append(
        ("Ne plus recevoir ces alertes : " if fr else "Stop these alerts: ") + links.unsubscribe
    )
    return title, "\n\n".join(lines)
