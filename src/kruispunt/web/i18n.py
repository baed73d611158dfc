"""Languages of the pages: Dutch, French and English, from Babel message catalogues.

English is the source language of the templates; ``locales/<lang>/LC_MESSAGES/messages.po`` holds the
Dutch and French translations, compiled in memory when a language is first used. Numbers, amounts and
dates are formatted with Babel in the Belgian variant of each language.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, PackageLoader, select_autoescape

from kruispunt import identity
from kruispunt.web.labels import label_functions
from kruispunt.web.navigation import items_for

LANGUAGES: dict[str, str] = {"nl": "Nederlands", "fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "nl"
LOCALES = Path(__file__).with_name("locales")
_FORMAT_LOCALE = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_BE"}


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English needs none)."""
    path = catalogue_path(language)
    if language == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def choose_language(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The query's ``lang``, else the remembered choice, else the browser's preference, else Dutch."""
    for candidate in (asked, cookie):
        if candidate in LANGUAGES:
            return candidate
    preferred = [part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")]
    found = negotiate_locale([p for p in preferred if p], list(LANGUAGES), sep="_")
    return found or DEFAULT_LANGUAGE


def _municipality_name(nis: str | None, language: str) -> str:
    if not nis:
        return ""
    try:
        place = identity.municipality(nis)
    except identity.UnknownMunicipality:
        return nis
    return {"nl": place.name_nl, "fr": place.name_fr}.get(language, place.name)


def _insz(number: str | None) -> str:
    if not number:
        return ""
    try:
        return identity.Insz.parse(number).formatted
    except identity.InvalidNumber:
        return number


def _kbo(number: str | None) -> str:
    if not number:
        return ""
    try:
        return identity.KboNumber.parse(number).formatted
    except identity.InvalidNumber:
        return number


def _filters(language: str) -> dict[str, Callable[..., str]]:
    locale = Locale.parse(_FORMAT_LOCALE[language])

    def day(value: date | datetime | None, form: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return format_datetime(value, "short", locale=locale)
        return format_date(value, form, locale=locale)

    return {
        "number": lambda value, digits=0: format_decimal(
            value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=locale
        ),
        "money": lambda value: format_currency(Decimal(str(value)), "EUR", locale=locale),
        "percent": lambda value: format_percent(value, format="#,##0.0%", locale=locale),
        "day": day,
        "insz": _insz,
        "kbo": _kbo,
        "municipality": lambda nis: _municipality_name(nis, language),
    }


@cache
def environment(language: str) -> Environment:
    """The template environment of ``language``, built on first use."""
    env = Environment(
        loader=PackageLoader("kruispunt.web", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = translations(language)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(language))
    env.globals.update(label_functions(catalogue.gettext))
    env.globals["nav_items"] = items_for
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["language"] = language
    return env
