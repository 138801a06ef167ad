"""The gettext catalogues of the command line, the workshop, the dashboards' titles and the alert
e-mails (airq_core/locale, docs/translations.md): French is the template, each required language
translates every message of it, placeholders are kept, the code asks only for messages the
template holds, and the stdlib reader of the shared package reads the files as Babel does."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po as babel_read_po

from airq_core import i18n
from airq_core.i18n import (
    DOMAINS,
    LOCALE_DIR,
    SOURCE_LANGUAGE,
    UnknownMessageError,
    message,
    read_po,
)
from alerts.messages import ADVICE
from firmware_tools.sensor_check import SHORT_NAMED

ROOT = Path(__file__).resolve().parents[2]
# domain -> languages whose catalogue must translate every message (the others, if any, may be
# partial: what they lack is given in French; docs/translations.md)
REQUIRED: dict[str, tuple[str, ...]] = {
    "cli": ("en",),
    "workshop": ("en",),
    "dashboards": ("en",),
    "alerts": ("en",),
    "gateway": ("en",),
    "api": ("en",),
}
# the calls that name a message by its key, and the prefix of their domain's keys
KEY_CALLS: dict[str, dict[str, str]] = {
    "cli": {"t": "", "t_cli": "", "_t": "alerts."},
    "workshop": {"t": "", "WorkshopError": ""},
    "dashboards": {"_t": ""},
}
# which module's `t` belongs to which domain
DOMAIN_OF_IMPORT = {"airq.i18n": "cli", "firmware_tools.i18n": "workshop"}


def template(domain: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    return {e.context: e.msgid for e in read_po(locale_dir / f"{domain}.pot") if e.context}


def missing_messages(domain: str, lang: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Keys of the template that the catalogue lacks, leaves empty, marks fuzzy, or translates
    from another French text than the template's."""
    french = template(domain, locale_dir)
    path = locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"
    done = {
        e.context
        for e in read_po(path)
        if e.context and e.msgstr and not e.fuzzy and french.get(e.context) == e.msgid
    }
    return sorted(set(french) - done)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_domain_has_a_template_and_keys_are_unique() -> None:
    for domain in DOMAINS:
        entries = read_po(LOCALE_DIR / f"{domain}.pot")
        keys = [e.context for e in entries]
        assert entries and all(keys), domain
        assert len(keys) == len(set(keys)), f"{domain}: a key twice"


@pytest.mark.parametrize(
    ("domain", "lang"), [(d, lang) for d, langs in REQUIRED.items() for lang in langs]
)
def test_every_required_catalogue_translates_every_message(domain: str, lang: str) -> None:
    assert missing_messages(domain, lang) == [], f"{domain}/{lang}: untranslated messages"


def test_translations_keep_the_placeholders() -> None:
    catalogues = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
    assert catalogues
    for path in catalogues:
        if path.stem not in DOMAINS:
            continue  # the pages' catalogues have their own test (tests/pages)
        for e in read_po(path):
            if e.msgstr:
                assert fields(e.msgid) == fields(e.msgstr), f"{path}: {e.context}"


def test_the_reader_reads_the_files_as_babel_does() -> None:
    paths = sorted(LOCALE_DIR.glob("*.pot")) + sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
    assert len(paths) >= 4
    for path in paths:
        with path.open("rb") as f:
            theirs = {
                (m.context, str(m.id), str(m.string or ""), m.fuzzy)
                for m in babel_read_po(f)
                if m.id
            }
        ours = {(e.context, e.msgid, e.msgstr, e.fuzzy) for e in read_po(path)}
        assert ours == theirs, path


def _key_calls(path: Path) -> list[tuple[str, str]]:
    """(domain, key) of every call that names a message by a literal key in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    domain_of_name: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in DOMAIN_OF_IMPORT:
            for alias in node.names:
                domain_of_name[alias.asname or alias.name] = DOMAIN_OF_IMPORT[node.module]
        if isinstance(node, ast.ImportFrom) and node.module == "firmware_tools.errors":
            domain_of_name["WorkshopError"] = "workshop"
    if path.name == "alerts.py" and path.parent.name == "commands":
        domain_of_name["_t"] = "cli"
    if path.name == "boards.py" and path.parent.name == "dashboards":
        domain_of_name["_t"] = "dashboards"
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        domain = domain_of_name.get(node.func.id)
        if domain is None or not node.args:
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            prefix = KEY_CALLS[domain].get(node.func.id, "")
            found.append((domain, prefix + arg.value))
    return found


def test_the_code_asks_only_for_messages_the_templates_hold() -> None:
    calls = [
        call
        for package in ("airq", "firmware_tools", "dashboards")
        for path in sorted((ROOT / package).rglob("*.py"))
        for call in _key_calls(path)
    ]
    assert len(calls) > 200, "the scan finds the call sites"
    unknown = sorted({(d, k) for d, k in calls if k not in template(d)})
    assert unknown == []


def test_the_alert_messages_use_exactly_the_alerts_template() -> None:
    """alerts/messages.py names its keys as the second argument of ``_m(lang, key, ...)`` (a
    literal or a choice between literals); the advice of a quantity is ``advice_<quantity>``."""
    tree = ast.parse((ROOT / "alerts" / "messages.py").read_text(encoding="utf-8"))
    keys = {f"advice_{q}" for q in ADVICE} | {"advice_other"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_m":
            assert len(node.args) >= 2, ast.unparse(node)
            arg = node.args[1]
            named = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            keys |= {n.value for n in named if isinstance(n, ast.Constant)}
    assert len(keys) > 30, "the scan finds the call sites"
    assert sorted(keys - set(template("alerts"))) == [], "keys the template lacks"
    assert sorted(set(template("alerts")) - keys) == [], "messages no code sends"


def test_the_gateway_status_names_only_messages_of_its_template() -> None:
    tree = ast.parse((ROOT / "gateway" / "status.py").read_text(encoding="utf-8"))
    keys = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "tr"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(keys) >= 8, "the scan finds the call sites"
    assert sorted(keys - set(template("gateway"))) == []


def test_the_api_names_only_messages_of_its_template() -> None:
    """``message_in(lang, "api", "key", ...)`` with a literal domain and key, in api/."""
    calls = [
        (node.args[1].value, node.args[2].value)
        for path in sorted((ROOT / "api").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "message_in"
        and len(node.args) >= 3
        and all(isinstance(a, ast.Constant) for a in node.args[1:3])
    ]
    assert calls, "the scan finds the call sites"
    assert sorted({k for d, k in calls if k not in template(d)}) == []


def test_every_short_sensor_name_is_in_the_workshop_template() -> None:
    assert SHORT_NAMED
    assert (
        sorted(f"short_{q}" for q in SHORT_NAMED if f"short_{q}" not in template("workshop")) == []
    )


def test_an_unknown_key_raises() -> None:
    with pytest.raises(UnknownMessageError, match="no_such_message"):
        message("cli", "no_such_message")


def test_a_missing_fuzzy_or_stale_message_is_caught_and_given_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "cli.pot").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgctxt "a"\nmsgid "bonjour {name}"\nmsgstr ""\n\n'
        'msgctxt "b"\nmsgid "au revoir"\nmsgstr ""\n\n'
        'msgctxt "c"\nmsgid "merci"\nmsgstr ""\n\n'
        'msgctxt "d"\nmsgid "oui"\nmsgstr ""\n',
        encoding="utf-8",
    )
    (tmp_path / "en" / "LC_MESSAGES" / "cli.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgctxt "a"\nmsgid "bonjour {name}"\nmsgstr "hello "\n"{name}"\n\n'
        '#, fuzzy\nmsgctxt "b"\nmsgid "au revoir"\nmsgstr "goodbye"\n\n'
        'msgctxt "c"\nmsgid "merci bien"\nmsgstr "thanks a lot"\n',
        encoding="utf-8",
    )
    assert missing_messages("cli", "en", tmp_path) == ["b", "c", "d"]
    monkeypatch.setenv("AIRQ_LANG", "en")
    assert message("cli", "a", tmp_path, name="Nour") == "hello Nour"
    assert [message("cli", k, tmp_path) for k in "bcd"] == ["au revoir", "merci", "oui"]
    monkeypatch.setenv("AIRQ_LANG", SOURCE_LANGUAGE)
    assert message("cli", "a", tmp_path, name="Nour") == "bonjour Nour"


def test_a_malformed_catalogue_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "cli.pot"
    path.write_text('msgctxt "a"\nmsgid "oui\nmsgstr ""\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"cli\.pot:2"):
        read_po(path)


def test_the_language_is_airq_lang_or_french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_LANG", "EN")
    assert i18n.lang() == "en"
    monkeypatch.setenv("AIRQ_LANG", "tlh")
    assert i18n.lang() == SOURCE_LANGUAGE
