"""Every message of the pages is translated into Dutch and French, and the catalogues compile."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kruispunt.web import i18n

WEB = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}


def _messages() -> set[str]:
    found = extract_from_dir(str(WEB), METHODS, options_map=OPTIONS, keywords={"_": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_message_is_translated(language: str) -> None:
    with i18n.catalogue_path(language).open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle, locale=language) if m.id}
    missing = sorted(m for m in _messages() if not catalogue.get(m))
    assert not missing, f"untranslated in {language}: {missing} (see docs/web.md, Translations)"


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_catalogues_compile(language: str) -> None:
    assert i18n.translations(language).gettext("Sign in") != "Sign in"


def test_language_negotiation() -> None:
    assert i18n.choose_language(None, None, "fr-BE,fr;q=0.9") == "fr"
    assert i18n.choose_language(None, None, "de-DE,de;q=0.9") == "nl"
    assert i18n.choose_language("en", "fr", "nl") == "en"
    assert i18n.choose_language("xx", "fr", "nl") == "fr"
