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
    "cannot_write": {
        "fr": "impossible d'écrire {path} : {why}",
        "en": "cannot write {path}: {why}",
    },
    "bad_airrohr": {
        "fr": "{path} : ce n'est pas un envoi du firmware sensor.community ({why})",
        "en": "{path}: not a sensor.community firmware body ({why})",
    },
    "airrohr_ignored": {
        "fr": "types de valeurs non enregistrés : {types}",
        "en": "value types not stored: {types}",
    },
    "airrohr_model_unknown": {
        "fr": "pin {pin} partagé : modèle du capteur inconnu, valeurs gardées sous {sensor} "
        "(donnez les capteurs de la station avec --hardware, ex. --hardware sds011)",
        "en": "shared pin {pin}: sensor model unknown, values kept as {sensor} "
        "(give the station's sensors with --hardware, e.g. --hardware sds011)",
    },
    "airrohr_only_option": {
        "fr": "--pin et --hardware ne servent qu'avec « airq decode airrohr »",
        "en": "--pin and --hardware only apply to 'airq decode airrohr'",
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
    # airq station
    "station_bad_id": {
        "fr": "identifiant de station invalide « {id} » : de 3 à 64 lettres minuscules, "
        "chiffres et tirets, commençant par une lettre ou un chiffre (ex. lens-01)",
        "en": "invalid station id '{id}': 3 to 64 lower-case letters, digits and dashes, "
        "starting with a letter or digit (e.g. lens-01)",
    },
    "station_reserved_id": {
        "fr": "les identifiants commençant par « airq- » sont réservés aux services : « {id} »",
        "en": "ids starting with 'airq-' are reserved for the services: '{id}'",
    },
    "station_bad_coords": {
        "fr": "coordonnées invalides lat={lat} lon={lon} : la latitude va de -90 à 90, la "
        "longitude de -180 à 180 (ex. --lat 50.449 --lon 2.839)",
        "en": "invalid coordinates lat={lat} lon={lon}: latitude goes from -90 to 90, "
        "longitude from -180 to 180 (e.g. --lat 50.449 --lon 2.839)",
    },
    "station_exists": {
        "fr": "la station « {id} » existe déjà dans le registre {registry} : choisissez un autre "
        "identifiant, ou « airq station rotate-token {id} » pour un nouveau jeton",
        "en": "station '{id}' already exists in the registry {registry}: choose another id, "
        "or 'airq station rotate-token {id}' for a new token",
    },
    "station_unknown": {
        "fr": "station « {id} » inconnue du registre {registry} : vérifiez l'identifiant "
        "(airq station list)",
        "en": "station '{id}' is unknown to the registry {registry}: check the id "
        "(airq station list)",
    },
    "station_refused": {
        "fr": "le registre refuse la station « {id} » : {why}",
        "en": "the registry refused station '{id}': {why}",
    },
    "station_retired": {"fr": "retirée", "en": "retired"},
    "station_bad_time": {
        "fr": "date invalide « {value} » : donnez une date ISO 8601, ex. "
        "2026-03-01T14:00Z (UTC si aucun fuseau n'est donné)",
        "en": "invalid time '{value}': give an ISO 8601 time, e.g. 2026-03-01T14:00Z (UTC "
        "when no zone is given)",
    },
    "station_move_future": {
        "fr": "la date du déplacement ({when}) est dans le futur : donnez l'heure réelle du "
        "déplacement, ou omettez --moved-at pour « maintenant »",
        "en": "the move time ({when}) is in the future: give the time the station was "
        "actually moved, or leave --moved-at out for 'now'",
    },
    "station_move_before": {
        "fr": "la date du déplacement ({when}) précède le début de l'emplacement actuel "
        "({start}) : un déplacement ne peut que clore l'emplacement actuel",
        "en": "the move time ({when}) is before the start of the current placement ({start}): "
        "a move can only close the current placement",
    },
    "station_nothing_to_update": {
        "fr": "rien à changer : donnez --name, --lat/--lon, --indoor/--outdoor ou --precision",
        "en": "nothing to change: give --name, --lat/--lon, --indoor/--outdoor or --precision",
    },
    "station_bad_precision": {
        "fr": "précision « {value} » invalide : donnez le nombre de décimales de la position "
        "publiée, de {min} (≈ 1 km) à {max} (≈ 1 m), ex. --precision 3 (≈ 100 m)",
        "en": "invalid precision '{value}': give the decimals of the published location, "
        "from {min} (≈ 1 km) to {max} (≈ 1 m), e.g. --precision 3 (≈ 100 m)",
    },
    "station_bad_precision_update": {
        "fr": "précision « {value} » invalide : donnez le nombre de décimales de la position "
        "publiée, de {min} (≈ 1 km) à {max} (≈ 1 m), ou « défaut » pour celle du déploiement",
        "en": "invalid precision '{value}': give the decimals of the published location, "
        "from {min} (≈ 1 km) to {max} (≈ 1 m), or 'default' for the deployment's",
    },
    "station_published_at": {
        "fr": "position publiée à {decimals} décimales (à {metres} près)",
        "en": "location published at {decimals} decimals (to about {metres})",
    },
    "station_updated": {"fr": "station « {id} » mise à jour", "en": "station '{id}' updated"},
    "station_moved": {
        "fr": "station « {id} » déplacée le {when} : ses mesures d'avant restent attribuées à "
        "son emplacement précédent",
        "en": "station '{id}' moved at {when}: its earlier readings stay attributed to its "
        "previous place",
    },
    "placement_current": {"fr": "actuel", "en": "current"},
    "placement_indoor": {"fr": "intérieur", "en": "indoor"},
    "placement_outdoor": {"fr": "extérieur", "en": "outdoor"},
    "placement_public": {"fr": "publié {lat}, {lon}", "en": "published {lat}, {lon}"},
    "broker_refused": {
        "fr": "le broker MQTT n'a pas pris la modification (rien n'a changé dans le "
        "registre) : {why}",
        "en": "the MQTT broker did not take the change (nothing was changed in the "
        "registry): {why}",
    },
    "broker_synced": {
        "fr": "broker à jour : {created} compte(s) de service créé(s), {bound} station(s) "
        "rattachée(s), {removed} retirée(s), {missing} sans compte",
        "en": "broker up to date: {created} service account(s) created, {bound} station(s) "
        "bound, {removed} removed, {missing} without an account",
    },
    "broker_missing": {
        "fr": "stations sans compte sur le broker (il n'a que l'empreinte de leur jeton) : "
        "{ids} ; donnez-leur un nouveau jeton : airq station rotate-token ID",
        "en": "stations without a broker account (it holds only their token's hash): {ids}; "
        "give them a new token: airq station rotate-token ID",
    },
    "broker_not_configured": {
        "fr": "AIRQ_BROKER_ADMIN_URL n'est pas défini : le compte admin du broker est "
        "nécessaire (mqtt://airq-admin:MOT-DE-PASSE@hôte:1883)",
        "en": "AIRQ_BROKER_ADMIN_URL is not set: the broker's admin account is needed "
        "(mqtt://airq-admin:PASSWORD@host:1883)",
    },
    "broker_tls_bad_name": {
        "fr": "« {name} » n'est ni un nom de domaine ni une adresse IP : donnez le nom par "
        "lequel les passerelles joignent le broker (--domain mqtt.exemple.fr)",
        "en": "'{name}' is neither a domain name nor an IP address: give the name the "
        "gateways reach the broker by (--domain mqtt.example.org)",
    },
    "broker_tls_no_openssl": {
        "fr": "la commande openssl est introuvable : installez-la (sudo apt-get install openssl)",
        "en": "the openssl command is missing: install it (sudo apt-get install openssl)",
    },
    "broker_tls_openssl_failed": {
        "fr": "openssl a échoué ({what}) : {why}",
        "en": "openssl failed ({what}): {why}",
    },
    "broker_tls_ca_incomplete": {
        "fr": "{folder} contient une partie seulement de l'autorité (ca.crt et ca.key vont "
        "ensemble) : remettez le fichier manquant, ou videz le dossier pour en créer une "
        "nouvelle (les passerelles devront alors recevoir le nouveau ca.crt)",
        "en": "{folder} holds only part of the CA (ca.crt and ca.key go together): put the "
        "missing file back, or empty the folder to make a new CA (the gateways will then "
        "need the new ca.crt)",
    },
    "broker_tls_done": {
        "fr": "certificat du broker pour {names}, valable jusqu'au {until} : {cert} et {keyfile}\n"
        "autorité privée ({ca_state}) : {ca_dir} (gardez ca.key hors du serveur si possible)\n"
        "pour les passerelles, [mqtt] ca_file = ce fichier : {ca_file}\n"
        "broker déjà lancé : docker-compose kill -s HUP mosquitto (relit le certificat)",
        "en": "broker certificate for {names}, valid until {until}: {cert} and {keyfile}\n"
        "private CA ({ca_state}): {ca_dir} (keep ca.key off the server if you can)\n"
        "for the gateways, [mqtt] ca_file = this file: {ca_file}\n"
        "broker already running: docker-compose kill -s HUP mosquitto (reads the "
        "certificate again)",
    },
    "broker_tls_ca_new": {"fr": "nouvelle", "en": "new"},
    "broker_tls_ca_kept": {"fr": "réutilisée", "en": "reused"},
    "registry_unavailable": {
        "fr": "impossible d'ouvrir le registre des stations {registry} ({why}) : vérifiez "
        "AIRQ_DATABASE_URL",
        "en": "cannot open the station registry {registry} ({why}): check AIRQ_DATABASE_URL",
    },
    "registry_old_file": {
        "fr": "un ancien registre {old} existe dans ce dossier, mais le registre est désormais "
        "{registry} ; pour garder l'ancien : export AIRQ_DATABASE_URL=sqlite:///{old_abs}",
        "en": "an older registry {old} exists in this folder, but the registry is now "
        "{registry}; to keep the old one: export AIRQ_DATABASE_URL=sqlite:///{old_abs}",
    },
    "service_spec": {
        "fr": "--service attend utilisateur=motdepasse, pas {spec}",
        "en": "--service expects user=password, not {spec}",
    },
    "settings_invalid": {
        "fr": "réglage AIRQ_* invalide :\n{why}",
        "en": "invalid AIRQ_* setting:\n{why}",
    },
    # airq stack
    "stack_registry": {
        "fr": "Registre des stations : {path} (celui de « airq station add » quand "
        "AIRQ_DATABASE_URL n'est pas défini)",
        "en": "Station registry: {path} (the one of 'airq station add' when AIRQ_DATABASE_URL "
        "is unset)",
    },
    "stack_database_url_ignored": {
        "fr": "AIRQ_DATABASE_URL est défini ({url}) : la démonstration ne l'utilise pas, elle "
        "garde son registre {path} ; « airq station add » écrira dans AIRQ_DATABASE_URL",
        "en": "AIRQ_DATABASE_URL is set ({url}): the demo does not use it and keeps its "
        "registry {path}; 'airq station add' will write to AIRQ_DATABASE_URL",
    },
    "stack_history": {
        "fr": "Historique de démonstration : {days:g} jour(s)…",
        "en": "Demo history: {days:g} day(s)…",
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
    "import_flagged": {
        "fr": "mesures signalées, gardées dans les données brutes : {detail} ; dont {excluded} "
        "hors des moyennes (préchauffage…)",
        "en": "flagged readings, kept in the raw data: {detail}; {excluded} of them left out "
        "of the means (warm-up…)",
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
    "pull_bad_extension": {
        "fr": "{path} : extension « {ext} » non prise en charge ; formats possibles : {formats} "
        "(ex. -o lens.csv ou -o lens.parquet, ou --format)",
        "en": "{path}: extension '{ext}' not supported; formats: {formats} "
        "(e.g. -o lens.csv or -o lens.parquet, or --format)",
    },
    "pull_format_mismatch": {
        "fr": "{path} : l'extension {ext} annonce du {named}, mais --format demande du {fmt} ; "
        "changez l'un ou l'autre",
        "en": "{path}: extension {ext} says {named}, but --format asks for {fmt}; change one "
        "of them",
    },
    "pull_need_selection": {
        "fr": "--station, --bbox ou --qpv est nécessaire (ex. --station lens-01)",
        "en": "--station, --bbox or --qpv is required (e.g. --station lens-01)",
    },
    "pull_refused": {
        "fr": "l'API refuse la demande ({status}) : {why}",
        "en": "the API refused the request ({status}): {why}",
    },
    "pull_unreachable": {
        "fr": "l'API ne répond pas à {url} ({why}) : vérifiez --api ou AIRQ_API_URL",
        "en": "the API does not answer at {url} ({why}): check --api or AIRQ_API_URL",
    },
    "calibration_bad_time": {
        "fr": "{name} : heure invalide ({why}) ; ex. 2026-03-01T00:00:00Z",
        "en": "{name}: invalid time ({why}); e.g. 2026-03-01T00:00:00Z",
    },
    "calibration_bad_sites": {
        "fr": "fichier des sites inutilisable : {why}",
        "en": "sites file unusable: {why}",
    },
    "calibration_bad_file": {
        "fr": "{path} illisible : {why} ; vérifiez --format (fr ou eea)",
        "en": "{path} unreadable: {why}; check --format (fr or eea)",
    },
    "calibration_import_summary": {
        "fr": "{rows} ligne(s) lue(s), {imported} valeur(s) importée(s) pour {sites} site(s) ; "
        "{invalid} ligne(s) marquée(s) non valides par le producteur ; {n_sites} site(s) "
        "avec coordonnées",
        "en": "{rows} row(s) read, {imported} value(s) imported for {sites} site(s); "
        "{invalid} row(s) marked not valid by the producer; {n_sites} site(s) with "
        "coordinates",
    },
    "calibration_import_refused": {
        "fr": "refusées ({reason}) : {count} ligne(s), dont les lignes {rows}",
        "en": "refused ({reason}): {count} row(s), including rows {rows}",
    },
    "calibration_sites_missing": {
        "fr": "sites sans coordonnées (ajoutez-les au fichier --sites) : {codes}",
        "en": "sites without coordinates (add them to the --sites file): {codes}",
    },
    "calibration_fit_refused": {
        "fr": "ajustement impossible : {why}",
        "en": "fit refused: {why}",
    },
    "calibration_not_colocated": {
        "fr": "pas de paire co-localisée ({why}) : choisissez un site de référence plus proche "
        "(GET /v1/calibrations/colocated) ou une autre période",
        "en": "no co-located pair ({why}): choose a nearer reference site "
        "(GET /v1/calibrations/colocated) or another period",
    },
    "calibration_fit_done": {
        "fr": "étalonnage n° {id} ({who}, site {site}) : réf = {a}·brut {b}·HR {c} ; "
        "{n} paires horaires, R² = {r2}, RMSE = {rmse} µg/m³",
        "en": "calibration #{id} ({who}, site {site}): ref = {a}·raw {b}·RH {c}; "
        "{n} hourly pairs, R² = {r2}, RMSE = {rmse} µg/m³",
    },
    # airq station register --api (bulk registration through the API)
    "bulk_need_token": {
        "fr": "donnez le jeton d'administration de l'API : --admin-token ou AIRQ_ADMIN_TOKEN",
        "en": "give the API's admin token: --admin-token or AIRQ_ADMIN_TOKEN",
    },
    "bulk_api_unreachable": {
        "fr": "l'API {url} ne répond pas ({why}) : vérifiez l'adresse et la connexion, rien "
        "n'a été inscrit",
        "en": "the API {url} does not answer ({why}): check the address and the network; "
        "nothing was registered",
    },
    "bulk_admin_refused": {
        "fr": "l'API {url} refuse le jeton d'administration ({why}) : vérifiez "
        "--admin-token ou AIRQ_ADMIN_TOKEN",
        "en": "the API {url} refuses the admin token ({why}): check --admin-token or "
        "AIRQ_ADMIN_TOKEN",
    },
    "bulk_api_error": {
        "fr": "l'API a répondu {status} : {why} ; rien n'a été inscrit",
        "en": "the API answered {status}: {why}; nothing was registered",
    },
    "bulk_row_created": {
        "fr": "ligne {line} : {id} inscrite",
        "en": "line {line}: {id} registered",
    },
    "bulk_row_checked": {
        "fr": "ligne {line} : {id} valide",
        "en": "line {line}: {id} valid",
    },
    "bulk_row_exists": {
        "fr": "la station {id} existe déjà sur la plateforme : choisissez un autre "
        "identifiant (ou laissez la colonne id vide)",
        "en": "station {id} already exists on the platform: choose another id (or leave "
        "the id column empty)",
    },
    "bulk_row_duplicate": {
        "fr": "l'identifiant {id} figure déjà plus haut dans le fichier",
        "en": "id {id} is already given higher up in the file",
    },
    "bulk_dry_run": {
        "fr": "essai à blanc : les {n} station(s) sont valides pour l'API, rien n'a été inscrit",
        "en": "dry run: the {n} station(s) are valid for the API; nothing was registered",
    },
    "bulk_failed": {
        "fr": "{n} ligne(s) refusée(s) ; tout ou rien : aucune station du fichier n'a été "
        "inscrite. Corrigez ces lignes puis relancez avec le fichier entier :",
        "en": "{n} line(s) refused; all or nothing: no station of the file was registered. "
        "Fix those lines and run again with the whole file:",
    },
}


def t(key: str, **kw: object) -> str:
    return translate(MESSAGES, key, **kw)
