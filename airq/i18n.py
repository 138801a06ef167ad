"""French first, English available: messages for residents and facilitators.

The language comes from ``--lang`` or ``AIRQ_LANG`` (``fr`` by default).
"""

from __future__ import annotations

import os

MESSAGES: dict[str, dict[str, str]] = {
    "bad_frame": {
        "fr": "trame invalide : {why}",
        "en": "invalid frame: {why}",
    },
    "ChecksumError": {"fr": "somme de contrôle incorrecte", "en": "bad checksum"},
    "FrameFormatError": {"fr": "format de trame incorrect", "en": "bad frame format"},
    "IncompleteFrameError": {"fr": "trame trop courte", "en": "frame too short"},
    "DecodeError": {"fr": "trame illisible", "en": "unreadable frame"},
    "bad_hex": {
        "fr": "« {text} » n'est pas de l'hexadécimal (exemple : AA C0 06 00 06 00 58 D9 3D AB)",
        "en": "'{text}' is not hexadecimal (example: AA C0 06 00 06 00 58 D9 3D AB)",
    },
    "no_protocol": {
        "fr": "le capteur {sensor} n'a pas de protocole série à décoder",
        "en": "sensor {sensor} has no serial protocol to decode",
    },
    "stream_summary": {
        "fr": "{frames} trame(s) décodée(s), {skipped} octet(s) ignoré(s)",
        "en": "{frames} frame(s) decoded, {skipped} byte(s) skipped",
    },
    "station_created": {
        "fr": "Station {id} créée. Jeton secret (à noter, il ne sera plus affiché) :",
        "en": "Station {id} created. Secret token (write it down, it will not be shown again):",
    },
    "unknown_sensor": {
        "fr": "capteur inconnu « {sensor} » ; capteurs connus : {known}",
        "en": "unknown sensor '{sensor}'; known sensors: {known}",
    },
    "config_error": {
        "fr": "configuration invalide :\n{why}",
        "en": "invalid configuration:\n{why}",
    },
    "no_status": {
        "fr": "pas d'état pour la station {station} ({path}) : la passerelle tourne-t-elle ?",
        "en": "no status for station {station} ({path}): is the gateway running?",
    },
}


def lang() -> str:
    value = os.environ.get("AIRQ_LANG", "fr").lower()[:2]
    return value if value in ("fr", "en") else "fr"


def t(key: str, **kw: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang(), entry["fr"]).format(**kw)
