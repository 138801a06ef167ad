"""Workshop messages, French first with English available (``AIRQ_LANG=en`` or ``--lang en``).

Same convention as ``airq/i18n.py``; kept here so that the workshop tools carry their own texts.
Every error message says how to fix the problem.
"""

from __future__ import annotations

import os

MESSAGES: dict[str, dict[str, str]] = {
    # --- participants file ---------------------------------------------------------------
    "roster_empty": {
        "fr": "le fichier des participants est vide : il faut une ligne d'en-tête (id;nom;lat;lon"
        ";emplacement…) puis une ligne par station",
        "en": "the participants file is empty: it needs a header line (id;name;lat;lon;"
        "placement…) then one line per station",
    },
    "roster_missing_columns": {
        "fr": "colonne(s) manquante(s) : {missing}. Colonnes trouvées : {found}. Ajoutez les "
        "colonnes lat et lon (coordonnées en degrés décimaux, ex. 50.4491 et 2.8391)",
        "en": "missing column(s): {missing}. Columns found: {found}. Add lat and lon columns "
        "(decimal degrees, e.g. 50.4491 and 2.8391)",
    },
    "roster_unreadable": {
        "fr": "impossible de lire {path} : {why}",
        "en": "cannot read {path}: {why}",
    },
    "bad_prefix": {
        "fr": "préfixe d'identifiant « {prefix} » invalide : lettres minuscules, chiffres et "
        "tirets (ex. lens)",
        "en": "invalid id prefix '{prefix}': lower-case letters, digits and dashes (e.g. lens)",
    },
    "row_problem": {"fr": "ligne {line} : {why}", "en": "line {line}: {why}"},
    "row_missing": {"fr": "{what} manquant(e)", "en": "{what} missing"},
    "row_not_number": {
        "fr": "{what} « {value} » n'est pas un nombre (ex. 50.4491)",
        "en": "{what} '{value}' is not a number (e.g. 50.4491)",
    },
    "row_out_of_range": {
        "fr": "{what} « {value} » hors limites ({lo:g} à {hi:g}) : latitude et longitude "
        "inversées ?",
        "en": "{what} '{value}' out of range ({lo:g} to {hi:g}): latitude and longitude "
        "swapped?",
    },
    "row_yes_no": {
        "fr": "{what} « {value} » : écrivez oui ou non",
        "en": "{what} '{value}': write yes or no",
    },
    "row_placement": {
        "fr": "emplacement « {value} » : écrivez intérieur ou extérieur",
        "en": "placement '{value}': write indoor or outdoor",
    },
    "row_unknown_sensor": {
        "fr": "capteur(s) inconnu(s) : {sensors} (connus : {known})",
        "en": "unknown sensor(s): {sensors} (known: {known})",
    },
    "row_bad_id": {
        "fr": "identifiant « {id} » invalide : 3 à 64 lettres minuscules, chiffres et tirets, "
        "ex. lens-01",
        "en": "invalid id '{id}': 3 to 64 lower-case letters, digits and dashes, e.g. lens-01",
    },
    "row_duplicate_id": {
        "fr": "identifiant « {id} » déjà utilisé plus haut dans le fichier",
        "en": "id '{id}' already used earlier in the file",
    },
    "row_id_exists": {
        "fr": "la station « {id} » existe déjà dans le registre : choisissez un autre "
        "identifiant ou laissez la colonne id vide",
        "en": "station '{id}' already exists in the registry: choose another id or leave the "
        "id column empty",
    },
    "row_name_too_long": {
        "fr": "nom trop long (200 caractères au plus)",
        "en": "name too long (200 characters at most)",
    },
    "row_refused": {
        "fr": "station {id} non créée : {why}",
        "en": "station {id} not created: {why}",
    },
    # --- printouts ---------------------------------------------------------------------
    "indoor": {"fr": "intérieur", "en": "indoor"},
    "outdoor": {"fr": "extérieur", "en": "outdoor"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "labels_title": {"fr": "Étiquettes des stations", "en": "Station labels"},
    "label_setup": {"fr": "Mise en route", "en": "Getting started"},
    "label_step1": {
        "fr": "Branchez la station sur une prise USB (chargeur de téléphone).",
        "en": "Plug the station into a USB socket (phone charger).",
    },
    "label_step2": {
        "fr": "Avec votre téléphone, connectez-vous au Wi-Fi « airRohr-… » créé par la station.",
        "en": "With your phone, join the Wi-Fi network 'airRohr-…' opened by the station.",
    },
    "label_step3": {
        "fr": "La page de réglage s'ouvre (sinon allez sur http://192.168.4.1) : choisissez le "
        "Wi-Fi de votre logement et tapez son mot de passe.",
        "en": "The set-up page opens (otherwise go to http://192.168.4.1): choose your home "
        "Wi-Fi and type its password.",
    },
    "label_step4": {
        "fr": "Cliquez sur « Enregistrer et redémarrer ». Ne touchez pas aux autres réglages.",
        "en": "Click 'Save and restart'. Leave the other settings as they are.",
    },
    "label_step5": {
        "fr": "Vos mesures apparaissent sur {platform} (QR code) après 5 minutes environ.",
        "en": "Your readings appear on {platform} (QR code) after about 5 minutes.",
    },
    "recap_title": {
        "fr": "Récapitulatif de l'atelier : stations créées",
        "en": "Workshop recap: stations created",
    },
    "recap_warning": {
        "fr": "Document confidentiel : les jetons ne sont affichés qu'une fois et donnent le "
        "droit d'envoyer des mesures au nom de la station. Ne le partagez pas.",
        "en": "Confidential: tokens are shown only once and allow sending readings on the "
        "station's behalf. Do not share this document.",
    },
    "recap_col_id": {"fr": "Station", "en": "Station"},
    "recap_col_name": {"fr": "Nom", "en": "Name"},
    "recap_col_place": {"fr": "Emplacement", "en": "Placement"},
    "recap_col_who": {"fr": "Participant·e", "en": "Participant"},
    "recap_col_token": {"fr": "Jeton (secret)", "en": "Token (secret)"},
    "recap_col_page": {"fr": "Page", "en": "Page"},
    # --- registration ---------------------------------------------------------------------
    "register_created": {
        "fr": "{n} station(s) créée(s) : {ids}",
        "en": "{n} station(s) created: {ids}",
    },
    "register_failed": {
        "fr": "{n} ligne(s) refusée(s), à corriger puis relancer avec ces lignes seulement :",
        "en": "{n} line(s) refused; fix them and run again with those lines only:",
    },
    "register_ignored_columns": {
        "fr": "colonnes ignorées (inconnues) : {columns}",
        "en": "ignored (unknown) columns: {columns}",
    },
    "register_dry_run": {
        "fr": "essai à blanc : {n} station(s) seraient créées, rien n'a été enregistré",
        "en": "dry run: {n} station(s) would be created, nothing was saved",
    },
    "register_wrote": {"fr": "écrit : {path}", "en": "written: {path}"},
    "register_tokens_once": {
        "fr": "Les jetons figurent dans {path} (confidentiel) : ils ne seront plus affichés.",
        "en": "Tokens are in {path} (confidential): they will not be shown again.",
    },
    "register_need_input": {
        "fr": "indiquez --csv FICHIER, ou --id, --lat et --lon pour une seule station",
        "en": "give --csv FILE, or --id, --lat and --lon for a single station",
    },
    "register_recap_exists": {
        "fr": "{path} existe déjà : choisissez un autre nom (--recap) pour ne pas écraser les "
        "jetons d'un autre atelier",
        "en": "{path} already exists: choose another name (--recap) so as not to overwrite "
        "another workshop's tokens",
    },
    # --- gateway configuration ------------------------------------------------------------
    "bad_mqtt_url": {
        "fr": "adresse du broker « {url} » invalide : mqtt://hôte:1883 ou mqtts://hôte:8883 "
        "(réglage AIRQ_WORKSHOP_MQTT_URL)",
        "en": "invalid broker URL '{url}': mqtt://host:1883 or mqtts://host:8883 "
        "(setting AIRQ_WORKSHOP_MQTT_URL)",
    },
    "not_serial_sensor": {
        "fr": "le capteur « {sensor} » ne se lit pas sur un port série ; capteurs série : {known}",
        "en": "sensor '{sensor}' is not read over a serial port; serial sensors: {known}",
    },
    # (end of messages)
}


def lang() -> str:
    value = os.environ.get("AIRQ_LANG", "fr").lower()[:2]
    return value if value in ("fr", "en") else "fr"


def t(key: str, **kw: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang(), entry["fr"]).format(**kw)


def number(value: float, decimals: int = 1) -> str:
    """A number in the reader's convention: decimal comma in French."""
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang() == "fr" else text
