"""``airq workshop rehearse``: rehearse a workshop on a laptop, before the day.

For each rehearsal participant, the whole path against a stand-in board that behaves as the
sensor.community firmware does (``firmware_tools/virtual/airrohr_board.py``: its set-up Wi-Fi
password, the reply cut by its restart, the restart itself): register the station → print its
label → flash (dry run: the image is only checked) → configure the board (``--apply`` path) →
first reading on the platform (the stand-in sends as the firmware does, read back through the
API as the map reads it) → sensor check (a virtual sensor on a pseudo-terminal). It prints what
the participant will see, in French (``--lang en`` for English), then one line per participant.

The stations are created in the registry of ``AIRQ_DATABASE_URL`` and retired at the end
unless ``--keep``. The API (``--api``, default ``AIRQ_WORKSHOP_API_URL``) must be running with
its HTTP ingest (broker and ingest behind it): the stand-in board sends to it directly.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from airq.commands.workshop_common import workshop_error, workshop_settings
from airq.errors import CliError

HOME_WIFI = ("Box-Atelier", "motdepasse-atelier")
# step -> its name, French then English (the summary line of each participant)
STEPS = {
    "wifi": ("Wi-Fi de réglage", "set-up Wi-Fi"),
    "config": ("réglages", "settings"),
    "retour": ("retour sur le Wi-Fi", "back on the Wi-Fi"),
    "envoi": ("envoi", "push"),
    "carte": ("mesure sur la carte", "reading on the map"),
    "capteur": ("capteur", "sensor"),
    "erreur": ("erreur", "error"),
}
FAILURES = {
    "refused": ("mot de passe refusé", "password refused"),
    "nothing": ("rien d'enregistré", "nothing saved"),
    "not_back": ("pas revenue", "not back"),
    "no_reading": ("aucune mesure", "no reading"),
}


def _word(pair: tuple[str, str]) -> str:
    from airq_core.i18n import lang

    return pair[0] if lang() == "fr" else pair[1]


VALUES = {"SDS_P1": 12.4, "SDS_P2": 7.1, "BME280_temperature": 18.5, "BME280_humidity": 52.0}


@dataclass
class Outcome:
    station: str
    steps: dict[str, str] = field(default_factory=dict)  # step -> "ok" or what went wrong
    first_reading_s: float | None = None

    @property
    def ok(self) -> bool:
        return all(v == "ok" for v in self.steps.values())


def _say(show: bool, text: str = "") -> None:
    if show:
        print(text, flush=True)


def _first_reading(api: str, station: str, token: str, timeout: float) -> tuple[float, str] | None:
    """(seconds waited, the values as shown) once the station's first value is served (read
    with the station's token: an indoor station is private to it)."""
    from firmware_tools.follow import Follower
    from firmware_tools.sensor_check import describe_sample

    t0 = time.monotonic()
    follower = Follower(api, station, lookback_s=600, token=token)
    try:
        while time.monotonic() - t0 < timeout:
            try:
                updates = follower.poll()
            except ConnectionError:
                updates = []
            if updates:
                return time.monotonic() - t0, describe_sample(updates[-1].as_sample())
            time.sleep(0.5)
    finally:
        follower.close()
    return None


def _sensor_check(sensor: str, seconds: float) -> tuple[bool, str]:
    from firmware_tools.sensor_check import SensorLink, judge
    from firmware_tools.virtual import PtySensor, make_emulator

    with PtySensor(make_emulator(sensor, period=0.2)) as pty, SensorLink(pty.port, sensor) as link:
        for _ in link.samples(seconds, stop=lambda: len(link.stats.samples) >= 3):
            pass
        verdict = judge(sensor, link.stats)
    return verdict.working, verdict.message


def _participant(args: argparse.Namespace, n: int, station: str, token: str, show: bool) -> Outcome:
    """One participant's path after registration; each step's failure is kept, not raised."""
    from firmware_tools.airrohr import (
        SETUP_WIFI_PASSWORD,
        airrohr_settings,
        apply_settings,
        setup_steps,
        wait_for_board,
    )
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import number, t
    from firmware_tools.settings import WorkshopSettings
    from firmware_tools.virtual.airrohr_board import AirrohrBoard

    out = Outcome(station)
    api = urlsplit(args.api)
    # the stand-in board runs on this laptop: it reaches the API where this laptop does
    target = WorkshopSettings(
        ingest_host=api.hostname or "127.0.0.1",
        ingest_port=api.port or (443 if api.scheme == "https" else 80),
        ingest_tls=api.scheme == "https",
    )
    with AirrohrBoard(chip_id=str(3122405 + n), restart_s=args.restart) as board:
        joined = board.join(board.ap_ssid, SETUP_WIFI_PASSWORD)
        out.steps["wifi"] = "ok" if joined else _word(FAILURES["refused"])
        _say(
            show,
            t(
                "rehearse_join",
                ssid=board.ap_ssid,
                password=SETUP_WIFI_PASSWORD,
                ok=t("yes") if joined else t("no"),
            ),
        )
        try:
            fields = airrohr_settings(
                station,
                token,
                target,
                ["sds011", "bme280"],
                wifi_ssid=HOME_WIFI[0],
                wifi_password=HOME_WIFI[1],
            )
            if show:
                print(t("airrohr_steps_title", station=station))
                for k, step in enumerate(setup_steps(fields, station), 1):
                    print(f"  {k}. {step}")
            applied = apply_settings(fields, board.url, timeout=10)
            chip = t("airrohr_chip", chip=f"airRohr-{applied.chip_id}") if applied.chip_id else ""
            _say(show, t("airrohr_applied", chip=chip, station=station, host=target.ingest_host))
            out.steps["config"] = "ok" if board.saved else _word(FAILURES["nothing"])
            back = wait_for_board(board.url, args.restart + 10, interval=0.5)
            out.steps["retour"] = "ok" if back else _word(FAILURES["not_back"])
            if back:
                _say(show, t("airrohr_back", url=board.url, station=station))
        except WorkshopError as exc:
            out.steps["config"] = str(exc)
            _say(show, str(exc))
            return out
        try:
            status = board.push(VALUES)
        except Exception as exc:  # noqa: BLE001 - a rehearsal reports every failure
            status = 0
            _say(show, f"{type(exc).__name__}: {exc}")
        out.steps["envoi"] = "ok" if status == 200 else f"HTTP {status}"
    seen = _first_reading(args.api, station, token, args.timeout) if status == 200 else None
    if seen is None:
        out.steps["carte"] = _word(FAILURES["no_reading"])
        _say(show, t("rehearse_no_reading", station=station, seconds=f"{args.timeout:g}"))
    else:
        out.first_reading_s, shown = seen
        out.steps["carte"] = "ok"
        _say(show, t("rehearse_reading", seconds=number(seen[0]), values=shown))
    try:
        working, message = _sensor_check(args.sensor, args.check_seconds)
    except (WorkshopError, OSError) as exc:
        working, message = False, str(exc)
    out.steps["capteur"] = "ok" if working else message
    _say(show, message)
    return out


def rehearse(args: argparse.Namespace) -> int:
    from airq.commands.common import open_registry
    from airq.commands.workshop_station import _creator
    from firmware_tools.airrohr import SETUP_WIFI_PASSWORD
    from firmware_tools.errors import WorkshopError
    from firmware_tools.i18n import number, t
    from firmware_tools.ingest_check import is_loopback
    from firmware_tools.printouts import label_steps, write_labels_pdf
    from firmware_tools.roster import parse_roster, register_stations

    settings = workshop_settings()
    args.api = (args.api or settings.api_url).rstrip("/")
    # the stand-in boards and this laptop reach the rehearsed API: labels point there
    platform = args.api
    prefix = args.prefix or f"rep-{datetime.now():%H%M%S}"
    out_dir = Path(args.out or f"repetition-{datetime.now():%Y%m%d-%H%M}")
    rows = [
        f"{prefix}-{n:02d};Répétition {n};{50.4491 + n / 1000:.4f};2.8391;sds011 bme280"
        for n in range(1, args.participants + 1)
    ]
    text = "id;nom;lat;lon;capteurs\n" + "\n".join(rows) + "\n"
    reg = open_registry()
    try:
        try:
            roster = parse_roster(text, existing_ids=[s.id for s in reg.list(include_retired=True)])
        except WorkshopError as exc:
            raise workshop_error(exc) from None
        if roster.problems:
            raise CliError("; ".join(str(p) for p in roster.problems))
        done, failed = register_stations(roster.stations, _creator(reg))
        if failed:
            raise CliError("; ".join(str(p) for p in failed))
        print(t("rehearse_start", n=len(done), api=args.api))
        note = t("rehearse_platform", api=platform, platform=settings.platform_url)
        if is_loopback(urlsplit(settings.platform_url).hostname or ""):
            note += t("rehearse_platform_local")
        print(note)
        urls = {
            r.station.id: platform + settings.station_path.format(id=r.station.id) for r in done
        }
        write_labels_pdf(out_dir / "etiquettes.pdf", done, urls, platform)
        print(t("register_wrote", path=out_dir / "etiquettes.pdf"))
        outcomes: list[Outcome] = []
        for n, r in enumerate(done, 1):
            show = n == 1 or args.show_all
            _say(show, "\n" + t("rehearse_participant", station=r.station.id))
            _say(show, t("rehearse_label"))
            for k, step in enumerate(label_steps(platform), 1):
                _say(show, f"  {k}. {step}")
            _say(show, t("rehearse_flash_dry"))
            _say(
                show,
                "  " + t("flash_done", chip="ESP8266", baud=460800, password=SETUP_WIFI_PASSWORD),
            )
            try:
                outcomes.append(_participant(args, n, r.station.id, r.token, show))
            except Exception as exc:  # noqa: BLE001 - one participant's failure, not the run's
                outcomes.append(Outcome(r.station.id, {"erreur": f"{type(exc).__name__}: {exc}"}))
        print("\n" + t("rehearse_summary"))
        for o in outcomes:
            steps = " · ".join(f"{_word(STEPS[k])} {v}" for k, v in o.steps.items())
            delay = f" ({number(o.first_reading_s)} s)" if o.first_reading_s is not None else ""
            mark = "OK   " if o.ok else _word(("ÉCHEC", "FAIL "))
            print(f"  {mark} {o.station}{delay} : {steps}")
        good = sum(o.ok for o in outcomes)
        print(t("rehearse_total", good=good, n=len(outcomes)))
        if not args.keep:
            for r in done:
                reg.retire(r.station.id)
            print(t("rehearse_retired", n=len(done)))
    finally:
        reg.close()
    return 0 if good == len(outcomes) else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser("workshop", help="préparer un atelier / prepare a workshop")
    ws = w.add_subparsers(dest="workshop_command", required=True)
    r = ws.add_parser(
        "rehearse",
        help="répéter l'atelier avec des cartes simulées / rehearse with stand-in boards",
        description="Pour chaque participant simulé : inscription, étiquette, flash (essai à "
        "blanc), réglage d'une carte simulée qui se comporte comme le firmware "
        "sensor.community, première mesure sur la plateforme, vérification du capteur ; "
        "affiche ce que verra le participant.",
    )
    r.add_argument("--participants", type=int, default=1, help="nombre de participants (1)")
    r.add_argument("--api", help="API en marche (défaut AIRQ_WORKSHOP_API_URL)")
    r.add_argument("--prefix", help="préfixe des stations de répétition (défaut rep-HHMMSS)")
    r.add_argument("--out", help="dossier des étiquettes (défaut repetition-DATE)")
    r.add_argument("--sensor", default="sds011", help="capteur série vérifié (sds011)")
    r.add_argument("--timeout", type=float, default=60.0, help="attente de la 1re mesure (s)")
    r.add_argument("--restart", type=float, default=1.0, help="durée du redémarrage simulé (s)")
    r.add_argument("--check-seconds", type=float, default=10.0, help="durée de la vérification")
    r.add_argument("--show-all", action="store_true", help="tout afficher pour chacun")
    r.add_argument("--keep", action="store_true", help="garder les stations (sinon retirées)")
    r.set_defaults(func=rehearse)
