"""French first, English available: messages for residents and facilitators.

The language comes from ``--lang`` or ``AIRQ_LANG`` (``fr`` by default).
"""

from __future__ import annotations

from airq_core.i18n import translate

MESSAGES: dict[str, dict[str, str]] = {
    "cannot_read": {
        "fr": "impossible de lire {path} : {why}",
        "en": "cannot read {path}: {why}",
    },
    "bad_airrohr": {
        "fr": "{path} : ce n'est pas un envoi du firmware sensor.community ({why})",
        "en": "{path}: not a sensor.community firmware body ({why})",
    },
    "airrohr_ignored": {
        "fr": "types de valeurs non enregistrés (bruit, GPS…) : {types}",
        "en": "value types not stored (noise, GPS…): {types}",
    },
    "airrohr_rejected": {
        "fr": "valeurs illisibles : {values}",
        "en": "unreadable values: {values}",
    },
    "bad_frame": {
        "fr": "trame invalide : {why}",
        "en": "invalid frame: {why}",
    },
    "ChecksumError": {"fr": "somme de contrôle incorrecte", "en": "bad checksum"},
    "FrameFormatError": {"fr": "format de trame incorrect", "en": "bad frame format"},
    "IncompleteFrameError": {"fr": "trame trop courte", "en": "frame too short"},
    "DecodeError": {"fr": "trame illisible", "en": "unreadable frame"},
    "no_measurement": {
        "fr": "trame valide, mais sans mesure : {why}",
        "en": "valid frame, but no measurement: {why}",
    },
    "NoNewDataError": {"fr": "pas encore de nouvelle mesure", "en": "no new measurement yet"},
    "DeviceStateError": {
        "fr": "le capteur refuse la commande",
        "en": "the sensor refused the command",
    },
    "ModbusExceptionError": {
        "fr": "le capteur refuse la requête Modbus",
        "en": "the sensor refused the Modbus request",
    },
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
    # airq import / airq pull
    "import_summary": {
        "fr": "{files} fichier(s), {rows} ligne(s), {readings} mesure(s) importée(s) pour "
        "{stations} station(s) ; {aggregates} agrégat(s) écrit(s)",
        "en": "{files} file(s), {rows} row(s), {readings} reading(s) imported for "
        "{stations} station(s); {aggregates} aggregate(s) written",
    },
    "import_history_only": {
        "fr": "{n} mesure(s) plus ancienne(s) que la rétention des données brutes : gardées "
        "seulement en agrégats (1 min, 1 h, 1 jour)",
        "en": "{n} reading(s) older than the raw retention: kept as aggregates only "
        "(1 min, 1 h, 1 day)",
    },
    "import_rejected": {
        "fr": "écartées : {detail}",
        "en": "rejected: {detail}",
    },
    "import_unsupported": {
        "fr": "types de capteur non pris en charge (ignorés) : {detail}",
        "en": "unsupported sensor types (skipped): {detail}",
    },
    "import_failed_file": {
        "fr": "fichier non importé : {why}",
        "en": "file not imported: {why}",
    },
    "import_unknown_stations": {
        "fr": "{n} station(s) absente(s) du registre, leurs mesures n'ont pas été importées : "
        "{ids}. Relancez avec --create-stations pour les créer.",
        "en": "{n} station(s) missing from the registry, their readings were not imported: "
        "{ids}. Run again with --create-stations to create them.",
    },
    "import_no_file": {
        "fr": "fichier introuvable : {path}",
        "en": "file not found: {path}",
    },
    "import_influx_error": {
        "fr": "InfluxDB refuse l'import ({why}) : vérifiez AIRQ_INFLUX_URL et AIRQ_INFLUX_DB",
        "en": "InfluxDB refused the import ({why}): check AIRQ_INFLUX_URL and AIRQ_INFLUX_DB",
    },
    "pull_written": {
        "fr": "{path} écrit ({size} octets)",
        "en": "{path} written ({size} bytes)",
    },
    "pull_refused": {
        "fr": "l'API refuse la demande ({status}) : {why}",
        "en": "the API refused the request ({status}): {why}",
    },
    "pull_unreachable": {
        "fr": "l'API ne répond pas à {url} ({why}) : vérifiez --api ou AIRQ_API_URL",
        "en": "the API does not answer at {url} ({why}): check --api or AIRQ_API_URL",
    },
}


def t(key: str, **kw: object) -> str:
    return translate(MESSAGES, key, **kw)
