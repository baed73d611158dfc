"""Identity numbers: INSZ (national register or BIS number) and KBO enterprise numbers.

Validation and check digits come from python-stdnum (``stdnum.be.nn``, ``.bis``, ``.vat``); this module
turns them into typed value objects that know their kind, birth date and sex, and explains every refusal
in a sentence a person understands.

An INSZ (NISS) has 11 digits: ``YYMMDD`` birth date, a 3-digit serial (odd for men, even for women) and two
check digits. A BIS number, given to people not in the national register, adds 20 to the month when the
sex was unknown at assignment and 40 when it was known. Month or day ``00`` means unknown.
A KBO (BCE) number has 10 digits; the last two are a mod-97 check on the first eight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stdnum import exceptions as stdnum_errors
from stdnum.be import bis, nn, vat


class InvalidNumber(ValueError):
    """A number that is not a valid INSZ or KBO number; the message says why."""


class NumberKind(StrEnum):
    """What a number identifies."""

    NATIONAL_REGISTER = "nr"
    BIS = "bis"
    KBO = "kbo"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True, order=True)
class PartialDate:
    """A birth date of which the month or the day may be unknown (encoded ``00`` in an INSZ)."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def complete(self) -> date | None:
        """The full date, or None when month or day is unknown."""
        if self.month is None or self.day is None:
            return None
        return date(self.year, self.month, self.day)

    def isoformat(self) -> str:
        """``YYYY-MM-DD``, with ``00`` for the unknown parts."""
        return f"{self.year:04d}-{self.month or 0:02d}-{self.day or 0:02d}"


_SEPARATORS = re.compile(r"[\s.\-/]")


def _digits(text: str) -> str:
    return _SEPARATORS.sub("", text.strip())


def _explain_insz_error(digits: str, error: stdnum_errors.ValidationError) -> str:
    if not digits.isdigit():
        return "an INSZ contains only digits (and optional separators . - /)"
    if len(digits) != 11:
        return f"has {len(digits)} digits; an INSZ has 11"
    if isinstance(error, stdnum_errors.InvalidChecksum):
        return "the check digits do not match the first nine digits"
    return "the first six digits are not a possible birth date"


@dataclass(frozen=True, order=True)
class Insz:
    """A social security identification number (INSZ / NISS / SSIN).

    Build one with :meth:`parse`; the constructor trusts its arguments.
    """

    number: str
    kind: NumberKind
    birth_date: PartialDate | None
    sex: Sex | None

    @classmethod
    def parse(cls, text: str) -> Insz:
        """Parse any usual spelling (``93.05.18-223.61``, ``93051822361``) or raise InvalidNumber."""
        digits = _digits(text)
        month = int(digits[2:4]) if len(digits) == 11 and digits.isdigit() else 0
        module = bis if month > 12 else nn
        kind = NumberKind.BIS if month > 12 else NumberKind.NATIONAL_REGISTER
        try:
            number = module.validate(digits)
        except stdnum_errors.ValidationError as error:
            raise InvalidNumber(_explain_insz_error(digits, error)) from None
        return cls(number, kind, _birth_date(module, number), _sex(module, number))

    @property
    def formatted(self) -> str:
        """The official spelling ``YY.MM.DD-SSS.CC``."""
        n = self.number
        return f"{n[0:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:11]}"

    def __str__(self) -> str:
        return self.number


def _birth_date(module: object, number: str) -> PartialDate | None:
    try:
        year = module.get_birth_year(number)  # type: ignore[attr-defined]
    except stdnum_errors.ValidationError:
        return None
    month = int(number[2:4]) % 20 or None
    day = int(number[4:6]) or None
    if year is None:
        return None
    if month and day:
        try:
            date(year, month, day)
        except ValueError:  # counter exhaustion raises the day digits past the month's end
            day = None
    return PartialDate(year, month, day if month else None)


def _sex(module: object, number: str) -> Sex | None:
    gender = module.get_gender(number)  # type: ignore[attr-defined]
    return Sex(gender) if gender in ("M", "F") else None


@dataclass(frozen=True, order=True)
class KboNumber:
    """An enterprise number of the Crossroads Bank for Enterprises (KBO / BCE)."""

    number: str

    @classmethod
    def parse(cls, text: str) -> KboNumber:
        """Parse ``BE 0566.988.259``, ``0566988259`` or the old 9-digit form, or raise InvalidNumber."""
        cleaned = _digits(text).upper()
        if cleaned.startswith("BE"):
            cleaned = cleaned[2:]
        try:
            return cls(vat.validate(cleaned))
        except stdnum_errors.ValidationError as error:
            if not cleaned.isdigit():
                raise InvalidNumber("a KBO number contains only digits (and an optional BE prefix)") from None
            if isinstance(error, stdnum_errors.InvalidChecksum):
                raise InvalidNumber("the check digits do not match the first eight digits") from None
            if isinstance(error, stdnum_errors.InvalidLength):
                raise InvalidNumber(f"has {len(cleaned)} digits; a KBO number has 10") from None
            raise InvalidNumber(
                f"has {len(cleaned)} digits and starts with {cleaned[0]}: not an INSZ (11 digits) "
                "nor a KBO number (10 digits starting with 0 or 1)"
            ) from None

    @property
    def formatted(self) -> str:
        """The official spelling ``0566.988.259``."""
        n = self.number
        return f"{n[0:4]}.{n[4:7]}.{n[7:10]}"

    def __str__(self) -> str:
        return self.number


def parse_number(text: str) -> Insz | KboNumber:
    """Parse a person or enterprise number; the spelling decides which (11 digits: INSZ)."""
    cleaned = _digits(text).upper()
    if cleaned.startswith("BE") or len(cleaned) in (9, 10):
        return KboNumber.parse(text)
    return Insz.parse(text)
