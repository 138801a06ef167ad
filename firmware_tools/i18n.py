"""Workshop messages, French first with English available (``AIRQ_LANG=en`` or ``--lang en``).

Same convention as ``airq/i18n.py``; kept here so that the workshop tools carry their own texts.
Every error message says how to fix the problem.
"""

from __future__ import annotations

from airq_core.i18n import lang, translate

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
        "en": "{what} '{value}' out of range ({lo:g} to {hi:g}): latitude and longitude swapped?",
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
    "row_bad_precision": {
        "fr": "précision « {value} » invalide : nombre de décimales de la position publiée, "
        "de {lo} (≈ 1 km) à {hi} (≈ 1 m), vide pour celle du déploiement",
        "en": "invalid precision '{value}': decimals of the published location, from {lo} "
        "(≈ 1 km) to {hi} (≈ 1 m), empty for the deployment's",
    },
    "row_precision_needs_exact": {
        "fr": "précision {value} : plus de {d} décimales demande position_exacte = oui "
        "(l'accord du participant), sinon la position est arrondie à {d} décimales",
        "en": "precision {value}: more than {d} decimals needs position_exacte = oui (the "
        "participant's consent), otherwise the position is rounded to {d} decimals",
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
        "fr": "Environ 20 s plus tard, si elle ne trouve pas de Wi-Fi connu, la station crée "
        "le Wi-Fi « airRohr-… » : connectez-y votre téléphone, mot de passe {password}.",
        "en": "About 20 s later, if it finds no known Wi-Fi, the station opens the Wi-Fi "
        "'airRohr-…': join it with your phone, password {password}.",
    },
    "label_step3": {
        "fr": "La page de réglage s'ouvre (sinon allez sur http://192.168.4.1/config). Onglet "
        "« Paramètres wifi » : choisissez le Wi-Fi de votre logement et tapez son « Mot de "
        "passe ».",
        "en": "The set-up page opens (otherwise go to http://192.168.4.1/config). Tab 'WiFi "
        "Settings': choose your home Wi-Fi and type its 'Password'.",
    },
    "label_step4": {
        "fr": "Cliquez sur « Sauvegarder et redémarrer ». Ne touchez pas aux autres réglages.",
        "en": "Click 'Save configuration and restart'. Leave the other settings as they are.",
    },
    "label_step5": {
        "fr": "Pas de Wi-Fi « airRohr-… » ? Il se ferme 10 min après la dernière page chargée "
        "et ne revient qu'au redémarrage : débranchez la station 10 s, rebranchez-la, attendez "
        "1 min. Toujours rien : prévenez l'animateur·rice de l'atelier.",
        "en": "No 'airRohr-…' Wi-Fi? It closes 10 min after the last page load and only "
        "comes back after a restart: unplug the station for 10 s, plug it back, wait 1 min. "
        "Still nothing: tell the workshop facilitator.",
    },
    "label_step6": {
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
    # --- firmware images ------------------------------------------------------------------
    "image_not_esp": {
        "fr": "{file} n'est pas un firmware ESP (premier octet {magic}, 0xE9 attendu) : "
        "téléchargez le fichier .bin du firmware (pas un .zip, .elf ou une page web)",
        "en": "{file} is not an ESP firmware (first byte {magic}, expected 0xE9): download the "
        "firmware .bin file (not a .zip, .elf or a web page)",
    },
    "image_corrupt": {
        "fr": "{file} est abîmé ou incomplet ({why}) : téléchargez-le à nouveau",
        "en": "{file} is damaged or incomplete ({why}): download it again",
    },
    "image_checksum": {
        "fr": "{file} : somme de contrôle fausse, le fichier est abîmé : téléchargez-le à nouveau",
        "en": "{file}: bad checksum, the file is damaged: download it again",
    },
    "image_wrong_chip": {
        "fr": "{file} est fait pour une puce {image_chip}, mais la carte est une {chip} : "
        "rien n'a été écrit. Prenez le firmware prévu pour {chip}",
        "en": "{file} is built for an {image_chip} chip but the board is an {chip}: nothing was "
        "written. Take the firmware built for {chip}",
    },
    "image_address_unknown": {
        "fr": "{file} ne dit pas où l'écrire (ni application, ni image complète) : précisez "
        "--address (0x0 pour une image complète, 0x10000 pour une application ESP32)",
        "en": "{file} does not tell where to write it (neither an application nor a full image): "
        "give --address (0x0 for a full image, 0x10000 for an ESP32 application)",
    },
    "image_ok": {
        "fr": "{file} : firmware {chip} valide ({kind}, {size} octets, {segments} segments), "
        "à écrire à 0x{address:X}",
        "en": "{file}: valid {chip} firmware ({kind}, {size} bytes, {segments} segments), "
        "to write at 0x{address:X}",
    },
    # --- serial ports --------------------------------------------------------------------
    "no_port": {
        "fr": "aucune carte USB détectée. Vérifiez : 1) le câble transmet les données (beaucoup "
        "de câbles ne font que charger : essayez-en un autre) ; 2) la carte est bien branchée "
        "(une LED s'allume) ; 3) {hint}",
        "en": "no USB board found. Check: 1) the cable carries data (many cables only charge: "
        "try another one); 2) the board is plugged in (an LED lights up); 3) {hint}",
    },
    "hint_driver_linux": {
        "fr": "le pilote est chargé (lsmod | grep -e ch341 -e cp210x ; débranchez puis "
        "rebranchez et regardez « sudo dmesg | tail »)",
        "en": "the driver is loaded (lsmod | grep -e ch341 -e cp210x; unplug, plug again and "
        "look at 'sudo dmesg | tail')",
    },
    "hint_driver_windows": {
        "fr": "le pilote de la puce USB est installé (CH340 ou CP210x selon la carte) : voir le "
        "Gestionnaire de périphériques, rubrique « Ports (COM et LPT) »",
        "en": "the USB chip driver is installed (CH340 or CP210x depending on the board): see "
        "Device Manager, 'Ports (COM & LPT)'",
    },
    "hint_driver_mac": {
        "fr": "le pilote de la puce USB est installé (CH340 ou CP210x selon la carte) et "
        "autorisé dans Réglages > Confidentialité et sécurité",
        "en": "the USB chip driver is installed (CH340 or CP210x depending on the board) and "
        "allowed in Settings > Privacy & Security",
    },
    "several_ports": {
        "fr": "plusieurs ports série trouvés : {ports}. Choisissez avec --port, ou débranchez "
        "les autres appareils",
        "en": "several serial ports found: {ports}. Choose one with --port, or unplug the other "
        "devices",
    },
    "port_missing": {
        "fr": "le port {port} n'existe pas (carte débranchée ?). Ports présents : {available}",
        "en": "port {port} does not exist (board unplugged?). Ports present: {available}",
    },
    "port_permission": {
        "fr": "pas le droit d'ouvrir {port}. Ajoutez votre compte au groupe {group} : "
        "« sudo usermod -aG {group} {user} », puis fermez la session et reconnectez-vous",
        "en": "no permission to open {port}. Add your account to the {group} group: "
        "'sudo usermod -aG {group} {user}', then log out and back in",
    },
    "port_busy": {
        "fr": "le port {port} est déjà utilisé par un autre programme : fermez le moniteur "
        "série (Arduino IDE, screen, minicom) ou la passerelle airq, puis réessayez",
        "en": "port {port} is used by another program: close the serial monitor (Arduino IDE, "
        "screen, minicom) or the airq gateway, then try again",
    },
    "port_error": {
        "fr": "impossible d'ouvrir {port} : {why}. Débranchez et rebranchez la carte",
        "en": "cannot open {port}: {why}. Unplug and plug the board again",
    },
    # --- flashing -------------------------------------------------------------------------
    "no_chip": {
        "fr": "aucune carte n'a répondu sur {port}. Mettez-la en mode programmation : "
        "maintenez le bouton BOOT (ou FLASH) enfoncé, appuyez brièvement sur RESET (ou EN), "
        "relâchez BOOT, puis relancez. Si rien ne change : essayez un autre câble USB (certains "
        "ne font que charger) ou un autre port",
        "en": "no board answered on {port}. Put it in programming mode: hold the BOOT (or "
        "FLASH) button, press RESET (or EN) briefly, release BOOT, then run again. If nothing "
        "changes: try another USB cable (some only charge) or another port",
    },
    "not_in_bootloader": {
        "fr": "la carte sur {port} envoie des données mais n'est pas en mode programmation : "
        "maintenez BOOT (ou FLASH), appuyez sur RESET (ou EN), relâchez BOOT, puis relancez",
        "en": "the board on {port} sends data but is not in programming mode: hold BOOT (or "
        "FLASH), press RESET (or EN), release BOOT, then run again",
    },
    "connect_failed": {
        "fr": "connexion à la carte sur {port} impossible ({why}) : débranchez-la, rebranchez-la "
        "et relancez",
        "en": "cannot connect to the board on {port} ({why}): unplug it, plug it again and "
        "run again",
    },
    "flash_failed": {
        "fr": "l'écriture a échoué à toutes les vitesses ({tried} bauds) sur {port} : {why}. "
        "Branchez la carte directement sur l'ordinateur (sans hub), changez de câble USB et "
        "relancez",
        "en": "writing failed at every speed ({tried} baud) on {port}: {why}. Plug the board "
        "directly into the computer (no hub), change the USB cable and run again",
    },
    "flash_retry": {
        "fr": "liaison instable à {baud} bauds ({why}) : nouvel essai à {lower} bauds",
        "en": "unstable link at {baud} baud ({why}): trying again at {lower} baud",
    },
    "flash_detecting": {
        "fr": "recherche de la carte sur {port}…",
        "en": "looking for the board on {port}…",
    },
    "flash_writing": {"fr": "Écriture", "en": "Writing"},
    "flash_done": {
        "fr": "Firmware écrit et vérifié sur la carte {chip} ({baud} bauds). Elle redémarre : "
        "sur l'airrohr, si elle ne connaît aucun Wi-Fi, son Wi-Fi « airRohr-… » (mot de passe "
        "{password}) apparaît environ 20 s plus tard",
        "en": "Firmware written and verified on the {chip} board ({baud} baud). It restarts: "
        "on airrohr, if it knows no Wi-Fi, its 'airRohr-…' Wi-Fi (password {password}) "
        "appears about 20 s later",
    },
    "board_has_config": {
        "fr": "la carte contient déjà une configuration airrohr (Wi-Fi, mot de passe de la page, "
        "réglages « Envoyer les données vers l'API personnelle ») : elle la garderait et son "
        "Wi-Fi « airRohr-… » n'apparaîtrait pas. Choisissez : --erase pour tout effacer "
        "(carte réutilisée, nouvelle station) ou --keep-config pour la garder (simple mise à "
        "jour). Rien n'a été écrit",
        "en": "the board already holds an airrohr configuration (Wi-Fi, page password, 'Send "
        "data to custom API' settings): it would keep it and its 'airRohr-…' Wi-Fi would not "
        "appear. Choose: --erase to erase everything (reused board, new station) or "
        "--keep-config to keep it (plain update). Nothing was written",
    },
    "esp32_app_only": {
        "fr": "{file} est une application ESP32 seule (à écrire à 0x10000) : une ESP32 vierge "
        "ne démarre pas sans son chargeur de démarrage (0x1000), sa table de partitions "
        "(0x8000) et boot_app0 (0xE000). Le firmware sensor.community ne publie aucune version "
        "ESP32 (ses cibles ESP32 sont désactivées) : pour un capteur airrohr, prenez une carte "
        "ESP8266 (NodeMCU v2/v3) et son firmware (ex. latest_fr.bin) ; pour une ESP32, prenez "
        "une image complète fusionnée (esptool merge-bin), écrite à 0x0. Si cette carte a déjà "
        "chargeur et partitions (mise à jour), donnez --address 0x10000. Rien n'a été écrit",
        "en": "{file} is an ESP32 application alone (to write at 0x10000): a blank ESP32 does "
        "not boot without its bootloader (0x1000), partition table (0x8000) and boot_app0 "
        "(0xE000). The sensor.community firmware publishes no ESP32 release (its ESP32 targets "
        "are disabled): for an airrohr sensor, take an ESP8266 board (NodeMCU v2/v3) and its "
        "firmware (e.g. latest_en.bin); for an ESP32, take a complete merged image (esptool "
        "merge-bin), written at 0x0. If this board already has bootloader and partitions (an "
        "update), give --address 0x10000. Nothing was written",
    },
    "esp32_app_erase": {
        "fr": "--erase effacerait aussi le chargeur de démarrage et les partitions : avec "
        "{file}, une application seule, l'ESP32 ne démarrerait plus. Prenez une image complète "
        "(écrite à 0x0). Rien n'a été écrit",
        "en": "--erase would also erase the bootloader and partitions: with {file}, an "
        "application alone, the ESP32 would no longer boot. Take a complete image (written at "
        "0x0). Nothing was written",
    },
    "flash_erased": {
        "fr": "Mémoire de la carte effacée : l'ancienne configuration (Wi-Fi, mot de passe, "
        "réglages) a disparu.",
        "en": "Board memory erased: the old configuration (Wi-Fi, password, settings) is gone.",
    },
    "firmware_unreadable": {
        "fr": "impossible de lire le firmware {path} : {why}",
        "en": "cannot read firmware {path}: {why}",
    },
    "ports_none": {
        "fr": "aucun port série",
        "en": "no serial port",
    },
    # --- sensor check ---------------------------------------------------------------------
    "unknown_sensor": {
        "fr": "capteur inconnu « {sensor} » ; capteurs connus : {known}",
        "en": "unknown sensor '{sensor}'; known sensors: {known}",
    },
    "port_lost": {
        "fr": "le port {port} a disparu (câble débranché ?) : rebranchez et relancez",
        "en": "port {port} vanished (cable unplugged?): plug it back and run again",
    },
    "verdict_ok": {
        "fr": "FONCTIONNE : {n} mesure(s) reçue(s), valeurs plausibles.",
        "en": "WORKING: {n} reading(s) received, plausible values.",
    },
    "verdict_noise": {
        "fr": " ({n} octet(s) illisible(s) ignoré(s) : vérifiez que les fils sont bien serrés)",
        "en": " ({n} unreadable byte(s) skipped: check that the wires are tight)",
    },
    "verdict_no_data": {
        "fr": "AUCUNE DONNÉE : le capteur {sensor} n'envoie rien. Vérifiez l'alimentation "
        "(5 V ; le ventilateur tourne-t-il ?), le fil TX du capteur sur RX de l'adaptateur "
        "(et RX sur TX), la masse (GND) commune, et le port choisi",
        "en": "NO DATA: the {sensor} sensor sends nothing. Check the power supply (5 V; does "
        "the fan spin?), the sensor's TX wire on the adapter's RX (and RX on TX), the common "
        "ground (GND), and the chosen port",
    },
    "verdict_unreadable": {
        "fr": "DONNÉES ILLISIBLES : {n} octet(s) reçu(s) mais aucune trame {sensor} valide. Le "
        "capteur branché est-il bien un {sensor} (option --sensor) ? Sinon : fils mal serrés, "
        "câble trop long ou parasité",
        "en": "UNREADABLE DATA: {n} byte(s) received but no valid {sensor} frame. Is the "
        "connected sensor really a {sensor} (--sensor option)? Otherwise: loose wires, a cable "
        "too long or noisy",
    },
    "verdict_implausible": {
        "fr": "VALEURS INVRAISEMBLABLES ({what}) : le capteur est sale, défectueux ou mal "
        "réglé. Soufflez dans l'entrée d'air, débranchez-le 10 secondes et relancez ; si cela "
        "persiste, remplacez-le",
        "en": "IMPLAUSIBLE VALUES ({what}): the sensor is dirty, faulty or misconfigured. Blow "
        "into the air inlet, unplug it for 10 seconds and run again; if it persists, replace it",
    },
    "verdict_warming_up": {
        "fr": "EN PRÉCHAUFFAGE : le capteur {sensor} mesure mais ses valeurs ne sont pas encore "
        "fiables. Attendez (30 s pour les particules, 3 min pour le CO₂) et relancez",
        "en": "WARMING UP: the {sensor} sensor measures but its values are not reliable yet. "
        "Wait (30 s for particles, 3 min for CO2) and run again",
    },
    "verdict_warming_up_silent": {
        "fr": "EN PRÉCHAUFFAGE : le capteur {sensor} répond mais n'a pas encore de mesure. "
        "Attendez une minute et relancez",
        "en": "WARMING UP: the {sensor} sensor answers but has no reading yet. Wait a minute "
        "and run again",
    },
    "verdict_humid": {
        "fr": "FONCTIONNE, MAIS HUMIDITÉ TROP ÉLEVÉE POUR LES PM ({rh} % > {limit} %) : les "
        "particules gonflent d'eau et les PM sont surestimées ; ces mesures seront marquées. "
        "Installez la station à l'abri de la pluie et du linge qui sèche",
        "en": "WORKING, BUT HUMIDITY TOO HIGH FOR PM ({rh} % > {limit} %): particles swell with "
        "water and PM is over-estimated; these readings will be flagged. Keep the station out "
        "of the rain and away from drying laundry",
    },
    "warmup_flag": {"fr": "préchauffage", "en": "warming up"},
    "check_listening": {
        "fr": "Écoute du capteur {sensor} sur {port} pendant {seconds:g} s (Ctrl-C pour arrêter)…",
        "en": "Listening to the {sensor} sensor on {port} for {seconds:g} s (Ctrl-C to stop)…",
    },
    "capture_done": {
        "fr": "{n} trame(s) enregistrée(s) dans {path}",
        "en": "{n} frame(s) written to {path}",
    },
    # --- airrohr (sensor.community firmware) -----------------------------------------------
    "airrohr_unsupported_sensor": {
        "fr": "le firmware sensor.community ne sait pas lire : {sensors}. Capteurs qu'il lit : "
        "{known}. Pour les autres, utilisez notre passerelle (airq station gateway-config)",
        "en": "the sensor.community firmware cannot read: {sensors}. Sensors it reads: {known}. "
        "For the others, use our gateway (airq station gateway-config)",
    },
    "airrohr_no_sensor": {
        "fr": "indiquez les capteurs installés avec --sensors (ex. --sensors sds011 bme280) ; "
        "capteurs possibles : {known}",
        "en": "give the fitted sensors with --sensors (e.g. --sensors sds011 bme280); possible "
        "sensors: {known}",
    },
    "airrohr_too_long": {
        "fr": "la valeur de {field} est trop longue pour le firmware : {size} octets, {limit} "
        "octets au plus (une lettre accentuée compte pour 2 octets) ; la carte la couperait "
        "et ne pourrait pas s'en servir",
        "en": "the value of {field} is too long for the firmware: {size} bytes, {limit} bytes "
        "at most (an accented letter counts as 2 bytes); the board would cut it and could not "
        "use it",
    },
    "airrohr_unreachable": {
        "fr": "la carte ne répond pas sur {url} ({why}). Connectez d'abord l'ordinateur au "
        "Wi-Fi « airRohr-… » de la carte (mot de passe {password}), puis relancez. {ap_help} "
        "Ou suivez les étapes affichées sans --apply",
        "en": "the board does not answer at {url} ({why}). First join the laptop to the "
        "board's 'airRohr-…' Wi-Fi (password {password}), then run again. {ap_help} Or "
        "follow the steps shown without --apply",
    },
    "airrohr_auth": {
        "fr": "la carte demande un mot de passe ({url}) : elle est déjà connectée à un Wi-Fi "
        "avec la protection de la page activée ; donnez --board-user et --board-password, ou "
        "passez par son Wi-Fi de réglage « airRohr-… »",
        "en": "the board asks for a password ({url}): it is already on a Wi-Fi with page "
        "protection on; give --board-user and --board-password, or use its 'airRohr-…' "
        "set-up Wi-Fi",
    },
    "airrohr_refused": {
        "fr": "la carte a refusé les réglages ({url} : HTTP {status}) : mettez le firmware à "
        "jour (airq flash) ou suivez les étapes affichées sans --apply",
        "en": "the board refused the settings ({url}: HTTP {status}): update the firmware "
        "(airq flash) or follow the steps shown without --apply",
    },
    "airrohr_applied": {
        "fr": "Réglages acceptés par la carte{chip} (HTTP 200) : elle les enregistre et "
        "redémarre. Sa réponse s'arrête net et son Wi-Fi « airRohr-… » disparaît : c'est "
        "normal. La station {station} enverra ses mesures vers {host}.",
        "en": "Settings accepted by the board{chip} (HTTP 200): it saves them and restarts. "
        "Its reply stops short and its 'airRohr-…' Wi-Fi goes away: this is expected. Station "
        "{station} will send its readings to {host}.",
    },
    "airrohr_chip": {"fr": " {chip}", "en": " {chip}"},
    "airrohr_waiting": {
        "fr": "Reconnectez l'ordinateur au Wi-Fi « {ssid} ». Attente de la carte sur ce Wi-Fi "
        "({url}, {seconds} s au plus)…",
        "en": "Join the laptop back to the '{ssid}' Wi-Fi. Waiting for the board on that Wi-Fi "
        "({url}, {seconds} s at most)…",
    },
    "airrohr_back": {
        "fr": "La carte est revenue sur le Wi-Fi du logement ({url}). Suivez ses mesures avec : "
        "airq station follow {station} (première mesure 3 à 5 minutes après le redémarrage)",
        "en": "The board is back on the home Wi-Fi ({url}). Follow its readings with: airq "
        "station follow {station} (first reading 3 to 5 minutes after the restart)",
    },
    "airrohr_how_to_check": {
        "fr": "Pour vérifier qu'elle a rejoint « {ssid} » : ordinateur sur ce Wi-Fi, ouvrez "
        "{url} (page de la carte), ou attendez sa première mesure avec airq station follow "
        "{station} (3 à 5 minutes). Si le Wi-Fi « airRohr-… » réapparaît une vingtaine de "
        "secondes après le redémarrage, la carte n'a pas pu rejoindre « {ssid} » : vérifiez "
        "le nom et le mot de passe, puis recommencez.",
        "en": "To check that it joined '{ssid}': with the laptop on that Wi-Fi, open {url} "
        "(the board's page), or wait for its first reading with airq station follow {station} "
        "(3 to 5 minutes). If the 'airRohr-…' Wi-Fi comes back about twenty seconds after "
        "the restart, the board could not join '{ssid}': check the name and password, then "
        "start again.",
    },
    "airrohr_not_back": {
        "fr": "La carte n'a pas répondu sur {url} en {seconds} s (les réglages sont bien "
        "enregistrés).",
        "en": "The board did not answer at {url} within {seconds} s (the settings are saved).",
    },
    "airrohr_no_home_wifi": {
        "fr": "Aucun Wi-Fi de logement donné (--wifi-ssid) : si la carte n'en connaît pas, son "
        "Wi-Fi de réglage « airRohr-… » (mot de passe {password}) réapparaît environ 20 s "
        "après le redémarrage ; le participant y choisira son Wi-Fi chez lui.",
        "en": "No home Wi-Fi given (--wifi-ssid): if the board knows none, its 'airRohr-…' "
        "set-up Wi-Fi (password {password}) comes back about 20 s after the restart; the "
        "participant will choose their Wi-Fi there at home.",
    },
    "ingest_loopback": {
        "fr": "l'adresse d'envoi {host}:{port} désigne la machine elle-même : la carte "
        "s'enverrait ses mesures à elle-même. Réglez AIRQ_WORKSHOP_INGEST_HOST (et _PORT, "
        "_TLS) sur l'adresse de la plateforme joignable depuis le Wi-Fi du logement, ex. "
        "data.airquartiers.fr. Rien n'a été envoyé à la carte",
        "en": "the sending address {host}:{port} names this machine: the board would send its "
        "readings to itself. Set AIRQ_WORKSHOP_INGEST_HOST (and _PORT, _TLS) to the platform's "
        "address reachable from the home Wi-Fi, e.g. data.airquartiers.fr. Nothing was sent "
        "to the board",
    },
    "platform_loopback": {
        "fr": "AIRQ_WORKSHOP_PLATFORM_URL vaut {url}, une adresse de cette machine : les "
        "étiquettes, leurs QR codes et les étapes imprimées enverraient le téléphone de chaque "
        "participant chercher le site sur lui-même. Réglez AIRQ_WORKSHOP_PLATFORM_URL sur "
        "l'adresse publique du site, celle qu'un téléphone ouvre depuis chez soi, ex. "
        "https://airquartiers.fr (un essai sur cette machine seulement : --allow-local). "
        "Aucune station n'a été créée",
        "en": "AIRQ_WORKSHOP_PLATFORM_URL is {url}, an address of this machine: the labels, "
        "their QR codes and the printed steps would send each participant's phone looking for "
        "the site on itself. Set AIRQ_WORKSHOP_PLATFORM_URL to the site's public address, the "
        "one a phone opens from home, e.g. https://airquartiers.fr (a trial on this machine "
        "only: --allow-local). No station was created",
    },
    "platform_local_allowed": {
        "fr": "--allow-local : les étiquettes pointent vers {url}, lisible sur cette machine "
        "seulement ; ne les distribuez pas",
        "en": "--allow-local: the labels point to {url}, readable on this machine only; do not "
        "hand them out",
    },
    "rehearse_platform": {
        "fr": "Répétition : les étiquettes et étapes pointent vers l'API répétée {api} (les "
        "cartes simulées sont sur cette machine, une adresse locale est donc normale ici). Le "
        "jour de l'atelier, elles pointeront vers AIRQ_WORKSHOP_PLATFORM_URL ({platform}).",
        "en": "Rehearsal: the labels and steps point to the rehearsed API {api} (the stand-in "
        "boards are on this machine, so a local address is fine here). On the workshop day "
        "they will point to AIRQ_WORKSHOP_PLATFORM_URL ({platform}).",
    },
    "rehearse_platform_local": {
        "fr": " Attention : cette adresse est locale, `airq station register` la refusera ; "
        "réglez-la sur l'adresse publique du site.",
        "en": " Beware: that address is local, `airq station register` will refuse it; set it "
        "to the site's public address.",
    },
    "ingest_unknown_host": {
        "fr": "le nom {host} (AIRQ_WORKSHOP_INGEST_HOST) est introuvable ({why}) : "
        "vérifiez-le. {board_wifi}Rien n'a été envoyé à la carte",
        "en": "the name {host} (AIRQ_WORKSHOP_INGEST_HOST) cannot be found ({why}): check it. "
        "{board_wifi}Nothing was sent to the board",
    },
    "ingest_unreachable": {
        "fr": "{host}:{port} ne répond pas depuis cet ordinateur ({why}) : vérifiez "
        "AIRQ_WORKSHOP_INGEST_HOST et AIRQ_WORKSHOP_INGEST_PORT, et que la plateforme tourne. "
        "{board_wifi}Rien n'a été envoyé à la carte",
        "en": "{host}:{port} does not answer from this computer ({why}): check "
        "AIRQ_WORKSHOP_INGEST_HOST and AIRQ_WORKSHOP_INGEST_PORT, and that the platform runs. "
        "{board_wifi}Nothing was sent to the board",
    },
    "ingest_on_board_wifi": {
        "fr": "l'ordinateur est sur le Wi-Fi de réglage d'une carte (son DNS répond {ip} à "
        "tous les noms) : impossible d'y vérifier {host}. Lancez d'abord la commande depuis "
        "le Wi-Fi habituel (la vérification est retenue 12 h), puis recommencez",
        "en": "the computer is on a board's set-up Wi-Fi (its DNS answers {ip} to every "
        "name): {host} cannot be checked from there. Run the command from the usual Wi-Fi "
        "first (the check is remembered for 12 h), then again",
    },
    "ingest_board_wifi_hint": {
        "fr": "Si l'ordinateur est sur le Wi-Fi « airRohr-… » d'une carte (sans internet), "
        "lancez d'abord la commande depuis le Wi-Fi habituel : la vérification est retenue "
        "12 h. ",
        "en": "If the computer is on a board's 'airRohr-…' Wi-Fi (no internet), run the "
        "command from the usual Wi-Fi first: the check is remembered for 12 h. ",
    },
    "airrohr_steps_title": {
        "fr": "Réglages de la station {station} (firmware sensor.community) :",
        "en": "Settings of station {station} (sensor.community firmware):",
    },
    "airrohr_step_connect": {
        "fr": "Branchez la carte. Environ 20 s plus tard, si elle ne se connecte à aucun Wi-Fi "
        "connu, elle crée le Wi-Fi « airRohr-… » (suivi du numéro de la carte) : connectez-y "
        "l'ordinateur ou un téléphone avec le mot de passe {password}.",
        "en": "Power the board. About 20 s later, if it joins no known Wi-Fi, it opens the "
        "Wi-Fi 'airRohr-…' (followed by the board's number): join it with the laptop or a "
        "phone, password {password}.",
    },
    "airrohr_ap_help": {
        "fr": "Ce Wi-Fi de réglage se ferme 10 minutes après la dernière page chargée et ne "
        "revient qu'après un redémarrage. S'il n'apparaît pas : débranchez la carte 10 s, "
        "rebranchez-la et attendez 1 minute ; toujours rien : la carte se connecte à un Wi-Fi "
        "déjà enregistré ou garde une ancienne configuration : effacez-la (airq flash --erase "
        "--firmware …) puis recommencez.",
        "en": "This set-up Wi-Fi closes 10 minutes after the last page load and only comes "
        "back after a restart. If it does not appear: unplug the board for 10 s, plug it back "
        "and wait 1 minute; still nothing: the board joins a Wi-Fi it already knows or keeps "
        "an old configuration: erase it (airq flash --erase --firmware …) and start again.",
    },
    "airrohr_step_open": {
        "fr": "Ouvrez {url} dans le navigateur.",
        "en": "Open {url} in the browser.",
    },
    "airrohr_step_wifi": {
        "fr": "Onglet « Paramètres wifi » : dans « Nom », choisissez « {ssid} » et tapez son "
        "« Mot de passe ».",
        "en": "Tab 'WiFi Settings': in 'Network name', choose '{ssid}' and type its 'Password'.",
    },
    "airrohr_step_sensors": {
        "fr": "Onglet « Capteurs » : cochez uniquement {sensors}.",
        "en": "Tab 'Sensors': tick only {sensors}.",
    },
    "airrohr_step_apis": {
        "fr": "Onglet « APIs » : décochez « Madavi.de » ; « Sensor.Community » selon le choix "
        "du participant.",
        "en": "Tab 'APIs': untick 'Madavi.de'; 'Sensor.Community' as the participant chooses.",
    },
    "airrohr_step_custom": {
        "fr": "Cochez « Envoyer les données vers l'API personnelle » ({https_box} « HTTPS »), "
        "puis remplissez : « Serveur » = {host} ; « Chemin » = {path} ; « Port » = {port} ; "
        "« Utilisateur » = {user} ; « Mot de passe » = {password}.",
        "en": "Tick 'Send data to custom API' ({https_box} 'HTTPS'), then fill in: 'Server' = "
        "{host}; 'Path' = {path}; 'Port' = {port}; 'User' = {user}; 'Password' = {password}.",
    },
    "tick": {"fr": "cochez", "en": "tick"},
    "untick": {"fr": "décochez", "en": "untick"},
    "airrohr_step_save": {
        "fr": "Cliquez sur « Sauvegarder et redémarrer ». La page affiche « Le détecteur est "
        "en train de redémarrer. » et le Wi-Fi « airRohr-… » disparaît : c'est normal. Suivez "
        "ensuite les mesures avec : airq station follow {station}",
        "en": "Click 'Save configuration and restart'. The page shows 'Sensor is rebooting.' "
        "and the 'airRohr-…' Wi-Fi goes away: this is expected. Then follow the readings "
        "with: airq station follow {station}",
    },
    "recap_no_station": {
        "fr": "la station {station} n'est pas dans {path} : vérifiez l'identifiant, ou donnez "
        "le jeton avec --token",
        "en": "station {station} is not in {path}: check the id, or give the token with --token",
    },
    "need_token": {
        "fr": "il faut le jeton de la station : --recap recap.csv (fichier de l'atelier), "
        "--token, ou la variable AIRQ_STATION_TOKEN. Jeton perdu : « airq station "
        "rotate-token » en crée un nouveau",
        "en": "the station token is needed: --recap recap.csv (the workshop file), --token, or "
        "the AIRQ_STATION_TOKEN variable. Lost token: airq station rotate-token issues a new one",
    },
    # --- follow ---------------------------------------------------------------------------
    "follow_unknown_station": {
        "fr": "station « {station} » inconnue de la plateforme : vérifiez l'identifiant "
        "(airq station list) ou l'adresse de l'API (AIRQ_WORKSHOP_API_URL)",
        "en": "station '{station}' is unknown to the platform: check the id (airq station list) "
        "or the API address (AIRQ_WORKSHOP_API_URL)",
    },
    "follow_api_error": {
        "fr": "l'API a répondu HTTP {status} : {text}",
        "en": "the API answered HTTP {status}: {text}",
    },
    "follow_start": {
        "fr": "Suivi de la station {station} sur {api} (Ctrl-C pour arrêter). Dernière mesure "
        "reçue : {last}",
        "en": "Following station {station} on {api} (Ctrl-C to stop). Last reading received: "
        "{last}",
    },
    "follow_board": {
        "fr": "Carte : {chip} (depuis le {since})",
        "en": "Board: {chip} (since {since})",
    },
    "follow_no_board": {
        "fr": "Carte : aucune carte airrohr n'a encore envoyé pour cette station",
        "en": "Board: no airrohr board has sent for this station yet",
    },
    "follow_hw_changed": {
        "fr": "CHANGEMENT DE CARTE ({when}) : la station {station} envoie maintenant depuis la "
        "carte {chip}. C'est enregistré et l'historique reste à la station ; si personne n'a "
        "changé de carte, vérifiez où est utilisé le jeton de {station}",
        "en": "BOARD CHANGED ({when}): station {station} now sends from board {chip}. This is "
        "recorded and the history stays with the station; if nobody changed the board, check "
        "where the token of {station} is used",
    },
    "follow_hw_foreign": {
        "fr": "ALERTE ({when}) : la station {station} reçoit des mesures de la carte {chip}, "
        "qui est celle d'une autre station : cette carte a été réglée avec le jeton de "
        "{station}. Reconfigurez-la avec le bon identifiant (airq airrohr config)",
        "en": "WARNING ({when}): station {station} receives readings from board {chip}, which "
        "is another station's board: it was set up with the token of {station}. Configure it "
        "again with the right id (airq airrohr config)",
    },
    "follow_never": {"fr": "aucune pour l'instant", "en": "none yet"},
    "follow_waiting": {
        "fr": "En attente des mesures… (une station airrohr envoie toutes les 2 min 25 s ; la "
        "première fois, comptez 3 à 5 minutes après le branchement)",
        "en": "Waiting for readings… (an airrohr station sends every 2 min 25 s; the first "
        "time, allow 3 to 5 minutes after plugging in)",
    },
    "follow_lost": {
        "fr": "API injoignable ({why}) : nouvel essai toutes les {interval:g} s…",
        "en": "API unreachable ({why}): trying again every {interval:g} s…",
    },
    "follow_back": {"fr": "API de nouveau joignable.", "en": "API reachable again."},
    "token_rotated": {
        "fr": "Nouveau jeton de la station {station} (l'ancien ne marche plus : reconfigurez la "
        "carte avec airq airrohr config ou airq station gateway-config) :",
        "en": "New token of station {station} (the old one no longer works: configure the board "
        "again with airq airrohr config or airq station gateway-config):",
    },
    # --- rehearsal ----------------------------------------------------------------------
    "rehearse_start": {
        "fr": "Répétition de l'atelier : {n} participant(s), plateforme {api}, cartes simulées "
        "(firmware sensor.community : Wi-Fi de réglage protégé, réponse coupée par le "
        "redémarrage). Ce que voit le premier participant :",
        "en": "Workshop rehearsal: {n} participant(s), platform {api}, stand-in boards "
        "(sensor.community firmware: protected set-up Wi-Fi, reply cut by the restart). What "
        "the first participant sees:",
    },
    "rehearse_participant": {
        "fr": "=== Participant {station} ===",
        "en": "=== Participant {station} ===",
    },
    "rehearse_label": {"fr": "Étiquette (Mise en route) :", "en": "Label (Getting started):"},
    "rehearse_flash_dry": {
        "fr": "Flash (essai à blanc, rien n'est écrit) ; message affiché après l'écriture :",
        "en": "Flash (dry run, nothing is written); message shown after writing:",
    },
    "rehearse_join": {
        "fr": "Wi-Fi « {ssid} », mot de passe {password} : {ok}",
        "en": "Wi-Fi '{ssid}', password {password}: {ok}",
    },
    "rehearse_reading": {
        "fr": "Première mesure sur la plateforme après {seconds} s : {values}",
        "en": "First reading on the platform after {seconds} s: {values}",
    },
    "rehearse_no_reading": {
        "fr": "AUCUNE MESURE de {station} sur la plateforme après {seconds} s : vérifiez que "
        "l'API, le broker et l'ingestion tournent (airq stack status)",
        "en": "NO READING of {station} on the platform after {seconds} s: check that the API, "
        "broker and ingest run (airq stack status)",
    },
    "rehearse_summary": {"fr": "Bilan par participant :", "en": "Per participant:"},
    "rehearse_total": {
        "fr": "{good}/{n} participant(s) sans accroc.",
        "en": "{good}/{n} participant(s) without a hitch.",
    },
    "rehearse_retired": {
        "fr": "{n} station(s) de répétition retirée(s) (--keep pour les garder).",
        "en": "{n} rehearsal station(s) retired (--keep to keep them).",
    },
    # (end of messages)
}


def t(key: str, **kw: object) -> str:
    return translate(MESSAGES, key, **kw)


def number(value: float, decimals: int = 1) -> str:
    """A number in the reader's convention: decimal comma in French."""
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang() == "fr" else text
