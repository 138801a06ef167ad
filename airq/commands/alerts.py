"""``airq alerts``: subscribe to alerts, list and end subscriptions (the registry the other
commands use), run the alerts service (docs/alerts.md). French first, English with --lang en."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from airq.commands.common import stop_event, with_default_registry
from airq.errors import CliError, UsageError

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from api.alerts_store import AlertStore
    from api.registry import Registry


def _t(key: str, **kw: object) -> str:
    from airq.i18n import t

    return t("alerts." + key, **kw)


def _store() -> tuple[Registry, AlertStore]:
    from airq.commands.common import open_registry
    from api.alerts_store import AlertStore

    registry = open_registry()
    return registry, AlertStore(registry.engine)


def _describe(sub: Any) -> str:
    from airq_core.alerts import format_duration
    from airq_core.i18n import lang

    if sub.kind == "silent":
        return _t("what_silent", after=format_duration(sub.silent_after_s or 0, lang()))
    cap = _t("cap", every=format_duration(sub.cap_s, lang())) if sub.cap_s else ""
    if sub.kind == "stuck":
        return _t("what_stuck", quantity=sub.quantity, n=sub.stuck_readings) + cap
    if sub.kind == "drift":
        limits = [_t("ratio", ratio=f"{sub.drift_ratio:g}")] if sub.drift_ratio else []
        limits += [_t("diff", diff=f"{sub.drift_diff:g}")] if sub.drift_diff else []
        return (
            _t(
                "what_drift",
                quantity=sub.quantity,
                radius=f"{sub.radius_km:g}",
                limits=", ".join(limits),
                window=format_duration(sub.for_s, lang()),
            )
            + cap
        )
    above = f"{sub.above:g}"
    if sub.level == "who_24h":
        above += f" ({_t('level_who_24h')})"
    elif sub.level and sub.level.startswith("atmo:"):
        from airq_core.reference_values import ATMO_CLASSES

        cls = next((c for c in ATMO_CLASSES if c.key == sub.level[5:]), None)
        label = (cls.label_fr if lang() == "fr" else cls.label_en) if cls else sub.level[5:]
        above += f" ({_t('level_atmo', cls=label)})"
    return (
        _t(
            "what_threshold",
            quantity=sub.quantity,
            above=above,
            how=_t("how_mean" if sub.mode == "mean" else "how_all"),
            window=format_duration(sub.for_s, lang()),
        )
        + (_t("area_mean") if sub.area_mean else "")
        + cap
    )


def subscribe(args: argparse.Namespace) -> int:
    from airq_core.alerts import (
        DRIFT_DEFAULTS,
        PRESETS,
        AlertRuleError,
        parse_bbox,
        parse_duration,
        resolve_level,
    )
    from airq_core.i18n import lang
    from airq_core.urls import alert_unsubscribe_url
    from api.alerts_store import AlertStoreError, redact_target

    targets = [args.station, args.stations, args.qpv, args.bbox, args.fleet or None]
    if sum(t is not None for t in targets) != 1:
        raise UsageError(_t("one_target"))
    drift = args.drift_for or args.drift_ratio is not None or args.drift_diff is not None
    kind = (
        "silent"
        if args.silent_after
        else "stuck"
        if args.stuck_after
        else "drift"
        if drift
        else "threshold"
    )
    preset = PRESETS[args.preset] if args.preset else None
    quantity = args.quantity or (preset.quantity if preset else None)
    level = None
    above: float | None
    try:
        if args.above_class or (args.above and not _is_number(args.above)):
            level = resolve_level(quantity, args.above_class, args.above)
            above = level.above
        else:
            above = float(args.above) if args.above else (preset.above if preset else None)
        bbox = parse_bbox(args.bbox) if args.bbox else None
    except AlertRuleError as exc:
        raise UsageError(_t("refused", why=exc)) from None
    if kind in ("stuck", "drift") and quantity is None:
        raise UsageError(_t("need_rule"))
    if kind == "threshold" and (quantity is None or above is None):
        raise UsageError(_t("need_rule"))
    try:
        if kind == "drift":
            window = parse_duration(args.drift_for or args.window or "3h", "--drift-for")
        elif args.window:
            window = parse_duration(args.window, "--for")
        else:
            window = level.for_s if level else (preset.for_s if preset else 0.0)
        radius = _km(args.radius) if args.radius else DRIFT_DEFAULTS["radius_km"]
        cap = parse_duration(args.at_most_every, "--at-most-every") if args.at_most_every else None
        clear_for = parse_duration(args.clear_for, "--clear-for") if args.clear_for else None
        silent = parse_duration(args.silent_after, "--silent-after") if args.silent_after else None
        repeat = parse_duration(args.repeat, "--repeat") if args.repeat else 0.0
    except AlertRuleError as exc:
        raise UsageError(_t("refused", why=exc)) from None
    registry, store = _store()
    try:
        area = args.station is None
        if args.station:
            stations = [args.station]
        elif args.stations:
            stations = [s.strip() for s in args.stations.split(",") if s.strip()]
        else:
            active = registry.list()
            if args.fleet:
                stations = sorted(s.id for s in active)
            elif bbox is not None:
                w, so, e, n = bbox
                stations = sorted(s.id for s in active if w <= s.lon <= e and so <= s.lat <= n)
            else:
                stations = sorted(_qpv_stations(args.qpv, active))
        if not stations:
            raise CliError(_t("empty_area", what=args.qpv or args.bbox or "fleet"))
        for sid in stations:
            found = registry.get(sid)
            if found is None or found.retired_at is not None:
                raise CliError(_t("unknown_station", id=sid))
        default_min = 2 if area and kind == "threshold" and len(stations) > 1 else 1
        if default_min == 2 and args.area_mean and len(stations) >= 3:
            default_min = 3  # a mean of two can be carried by one faulty sensor
        try:
            sub = store.add(
                kind=kind,
                owner="admin",
                station_id=args.station,
                qpv=args.qpv.strip().upper() if args.qpv else None,
                stations=stations,
                min_stations=min(args.min_stations or default_min, len(stations)),
                quantity=quantity if kind != "silent" else None,
                above=above if kind == "threshold" else None,
                clear=args.clear,
                for_s=window,
                clear_for_s=clear_for,
                silent_after_s=silent,
                repeat_s=repeat,
                quiet=args.quiet,
                mode=args.mode or (level.mode if level else preset.mode if preset else "all"),
                lang=args.message_lang or lang(),
                stuck_readings=args.stuck_after,
                drift_ratio=args.drift_ratio
                if args.drift_ratio is not None or args.drift_diff is not None
                else DRIFT_DEFAULTS["ratio"],
                drift_diff=args.drift_diff,
                radius_km=radius,
                min_neighbours=int(args.min_neighbours or DRIFT_DEFAULTS["min_neighbours"]),
                level=level.level if level else None,
                bbox=",".join(f"{x:g}" for x in bbox) if bbox else None,
                cap_s=cap,
                area_mean=args.area_mean,
                target=args.notify,
            )
        except AlertStoreError as exc:
            raise CliError(_t("refused", why=exc)) from None
    finally:
        registry.close()
    from alerts.settings import AlertsSettings

    public = AlertsSettings().public_url
    print(
        _t(
            "subscribed",
            id=sub.id,
            what=_describe(sub),
            stations=", ".join(sub.stations[:10]) + ("…" if len(sub.stations) > 10 else ""),
            target=redact_target(sub.target),
            unsubscribe=alert_unsubscribe_url(public, sub.id, sub.unsubscribe_key),
        )
    )
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _km(text: str) -> float:
    """``2``, ``2km``, ``500m`` -> kilometres (AlertRuleError otherwise)."""
    from airq_core.alerts import AlertRuleError

    t = text.strip().lower().replace(",", ".")
    try:
        if t.endswith("km"):
            return float(t[:-2])
        if t.endswith("m"):
            return float(t[:-1]) / 1000
        return float(t)
    except ValueError:
        raise AlertRuleError(
            f"--radius: {text[:20]!r} is not a distance (write 2km or 500m)"
        ) from None


def _qpv_stations(code: str, active: list[Any]) -> set[str]:
    from api.qpv.service import QpvService, QpvSettings

    svc = QpvService(QpvSettings())
    try:
        return svc.stations_inside(code.strip().upper(), [(s.id, s.lat, s.lon) for s in active])
    except KeyError:
        raise CliError(_t("unknown_qpv", code=code)) from None


def list_subscriptions(args: argparse.Namespace) -> int:
    registry, store = _store()
    try:
        subs = store.list(args.station)
    finally:
        registry.close()
    if args.json:
        print(json.dumps([s.public() for s in subs], indent=1, default=str))
        return 0
    if not subs:
        print(_t("none"))
        return 0
    from api.alerts_store import redact_target

    for s in subs:
        where = s.qpv or s.station_id or s.bbox or f"{len(s.stations)} station(s)"
        print(f"{s.id:>5}  {where:<20}  {_describe(s):<48}  {redact_target(s.target)}  {s.lang}")
    return 0


def unsubscribe(args: argparse.Namespace) -> int:
    registry, store = _store()
    try:
        done = store.remove(args.id)
    finally:
        registry.close()
    if not done:
        raise CliError(_t("unknown", id=args.id))
    print(_t("removed", id=args.id))
    return 0


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from alerts.service import AlertsService
    from alerts.settings import AlertsSettings

    try:
        settings = with_default_registry(AlertsSettings())
    except ValidationError as exc:
        raise CliError(_t("settings_invalid", why=exc)) from None
    try:
        AlertsService(settings).run(stop_event())
    except RuntimeError as exc:  # the broker refused our account
        raise CliError(str(exc)) from None
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser("alerts", help="alertes par e-mail, SMS, ntfy… / alerts")
    asub = a.add_subparsers(dest="alerts_command", required=True)
    s = asub.add_parser(
        "subscribe",
        help="s'abonner à une alerte / subscribe to an alert",
        description="Exemple / example: airq alerts subscribe --station lens-01 --quantity "
        "pm2_5 --above 50 --for 10m --notify mailto://moi:motdepasse@example.org",
    )
    s.add_argument("--station", help="une station / one station")
    s.add_argument("--stations", help="plusieurs stations (a,b,c) / several stations")
    s.add_argument("--qpv", help="les stations d'un QPV (code) / a QPV's stations")
    s.add_argument(
        "--bbox", help="les stations d'une zone / a box's stations (lon1,lat1,lon2,lat2)"
    )
    s.add_argument("--fleet", action="store_true", help="toutes les stations / every station")
    s.add_argument("--quantity", help="grandeur / quantity (pm2_5, pm10, co2, radon…)")
    s.add_argument("--above", help="seuil, ou who-24h (valeur guide OMS) / threshold, or who-24h")
    s.add_argument(
        "--above-class",
        choices=["moyen", "degrade", "mauvais", "tres_mauvais", "extremement_mauvais"],
        help="classe ATMO atteinte / ATMO class reached",
    )
    s.add_argument("--clear", type=float, help="fin sous ce niveau / ends below (défaut -10 %%)")
    s.add_argument("--for", dest="window", help="durée au-dessus / how long above (10m, 2h)")
    s.add_argument("--clear-for", help="durée sous le niveau de fin / how long below to end")
    s.add_argument("--mode", choices=["all", "mean"], help="all: chaque mesure; mean: moyenne")
    s.add_argument("--preset", choices=["radon", "co2", "pm2_5_who_24h"], help="règle prête")
    s.add_argument("--silent-after", help="station muette depuis / silent for (30m)")
    s.add_argument(
        "--stuck-after", type=int, help="même valeur N fois de suite / same value N times"
    )
    s.add_argument(
        "--drift-for", help="écart aux voisines pendant / apart from the neighbours for (3h)"
    )
    s.add_argument(
        "--drift-ratio", type=float, help="N fois plus ou moins que les voisines (défaut 2)"
    )
    s.add_argument("--drift-diff", type=float, help="écart absolu / absolute difference")
    s.add_argument("--radius", help="voisines à moins de / neighbours within (défaut 2km)")
    s.add_argument("--min-neighbours", type=int, help="voisines au moins (défaut 3)")
    s.add_argument("--min-stations", type=int, help="stations d'accord / stations that agree")
    s.add_argument(
        "--area-mean",
        action="store_true",
        help="la moyenne des stations de la zone / the area's stations' mean",
    )
    s.add_argument("--repeat", help="rappel / reminder every (6h; défaut : aucun / none)")
    s.add_argument("--quiet", help="heures calmes / quiet hours (22-7)")
    s.add_argument("--at-most-every", help="au plus un message par / at most one message per (1h)")
    s.add_argument(
        "--message-lang", choices=["fr", "en"], help="langue des messages / message language"
    )
    s.add_argument("--notify", required=True, help="URL Apprise (mailto://, ntfy://, tgram://…)")
    s.set_defaults(func=subscribe)
    ls = asub.add_parser("list", help="abonnements / subscriptions")
    ls.add_argument("--station", help="d'une station / of one station")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_subscriptions)
    u = asub.add_parser("unsubscribe", help="supprimer un abonnement / end a subscription")
    u.add_argument("id", type=int)
    u.set_defaults(func=unsubscribe)
    r = asub.add_parser("run", help="évaluer les règles, envoyer / evaluate and send (MQTT)")
    r.set_defaults(func=run)
