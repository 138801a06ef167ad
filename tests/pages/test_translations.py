"""The pages' gettext catalogues (airq_core/locale, docs/translations.md): French is the
source, every offered language translates every message of the template, and the server picks
the language and gives the page its messages without weakening the Content-Security-Policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.i18n import (
    LANGUAGES,
    LOCALE_DIR,
    SOURCE_LANGUAGE,
    messages_json,
    pick_language,
    po_path,
    read_messages,
)
from api.routes.pages import render
from api.settings import ApiSettings
from tests.api.api_server import running

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "static"
TRANSLATED = sorted(set(LANGUAGES) - {SOURCE_LANGUAGE})


def _template_ids() -> set[str]:
    with (LOCALE_DIR / "pages.pot").open("rb") as f:
        return {str(m.id) for m in read_po(f) if m.id}


def test_the_template_holds_every_message_of_the_pages() -> None:
    """pages.pot is what ``pybabel extract -F babel.cfg`` finds in the pages today: a page that
    gains a message without a new extraction fails here."""
    method_map = [("*.html", "api.i18n:extract_html")]
    found = {str(m[2]) for m in extract_from_dir(str(STATIC), method_map) if m[2]}
    assert found, "no message extracted from the pages"
    assert found == _template_ids(), "run the extraction of docs/translations.md"


def missing_messages(lang: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Messages of the template that the catalogue of ``lang`` lacks, leaves empty or fuzzy."""
    with po_path(lang, locale_dir).open("rb") as f:
        catalog = read_po(f, locale=lang)
    done = {str(m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    return sorted(_template_ids() - done)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_catalogue_translates_every_message(lang: str) -> None:
    assert missing_messages(lang) == [], f"{lang}: untranslated or fuzzy messages"
    # placeholders the pages fill ({m}, {t}) are kept in the translation
    for msgid, text in read_messages(lang).items():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", text)), msgid


def test_a_missing_or_fuzzy_message_is_caught(tmp_path: Path) -> None:
    src = po_path("en").read_text(encoding="utf-8")
    broken = src.replace('msgstr "Pollutant"', 'msgstr ""', 1)
    broken = broken.replace('msgid "Quartiers"', '#, fuzzy\nmsgid "Quartiers"', 1)
    assert broken.count("fuzzy") == src.count("fuzzy") + 1
    path = po_path("en", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(broken, encoding="utf-8")
    assert missing_messages("en", tmp_path) == ["Polluant", "Quartiers"]
    # the server shows the French for them, never an empty text
    kept = read_messages("en", tmp_path)
    assert "Polluant" not in kept and "Quartiers" not in kept and kept["Stations"]


def test_the_language_comes_from_the_query_then_the_browser_then_the_setting() -> None:
    assert pick_language("ar", "en", "fr") == "ar"
    assert pick_language("AR", None, "fr") == "ar"
    assert pick_language("xx", "de-DE, ar-MA;q=0.9, en;q=0.8", "fr") == "ar"
    assert pick_language(None, "en;q=0.2, ar;q=0.7", "fr") == "ar"
    assert pick_language(None, "ar;q=0, tr", "en") == "en"
    assert pick_language(None, "en;q=bad, fr-BE", "ar") == "fr"
    assert pick_language(None, ";;,,=", "ar") == "ar"
    assert pick_language(None, None, "zz") == SOURCE_LANGUAGE


def test_a_translation_cannot_end_the_data_block(tmp_path: Path) -> None:
    path = po_path("en", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Polluant"\nmsgstr "</script><script>alert(1)</script> & <!--"\n',
        encoding="utf-8",
    )
    text = messages_json(tmp_path)
    assert "<" not in text and ">" not in text and "&" not in text
    doc = json.loads(text)
    assert doc["messages"]["en"] == {"Polluant": "</script><script>alert(1)</script> & <!--"}
    assert doc["messages"]["ar"] == {}  # no catalogue there: the page shows the French


@pytest.mark.parametrize("page", ["carte.html", "station.html"])
def test_the_arabic_page_is_right_to_left_with_its_messages_and_the_same_scripts(
    page: str,
) -> None:
    french, fr_headers = render(page)
    arabic, ar_headers = render(page, lang="ar")
    assert '<html lang="fr" dir="ltr">' in french
    assert '<html lang="ar" dir="rtl">' in arabic
    block = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', arabic)
    assert block, "the i18n block"
    doc = json.loads(block.group(1))
    assert doc["messages"]["ar"]["Stations"] == "المحطات"
    assert doc["languages"] == {k: list(v) for k, v in LANGUAGES.items()}
    # the data block is never run: the policy allows the same scripts in every language
    assert fr_headers["Content-Security-Policy"] == ar_headers["Content-Security-Policy"]
    assert ar_headers["Vary"] == "Accept-Language"


def test_the_station_page_follows_the_query_then_the_browser_then_airq_lang(
    tmp_path: Path,
) -> None:
    settings = ApiSettings(database_url=f"sqlite:///{tmp_path / 'r.sqlite'}", lang="en")
    with running(settings) as client:

        def opening(**kw: object) -> str:
            r = client.get("/stations/lens-01", **kw)  # type: ignore[arg-type]
            assert r.status_code == 200 and r.headers["vary"] == "Accept-Language"
            m = re.search(r"<html [^>]*>", r.text)
            assert m
            return m.group(0)

        assert opening() == '<html lang="en" dir="ltr">'  # AIRQ_LANG
        assert opening(headers={"Accept-Language": "ar-DZ,fr;q=0.5"}) == (
            '<html lang="ar" dir="rtl">'
        )
        assert opening(params={"lang": "fr"}, headers={"Accept-Language": "ar"}) == (
            '<html lang="fr" dir="ltr">'
        )
        assert opening(params={"lang": "tlh"}) == '<html lang="en" dir="ltr">'
