"""Identity room: INSZ / BIS / KBO numbers, municipalities and the person register.

Public API (everything other rooms and the shells may use):

- numbers: :func:`parse_insz_column` (vectorised, for whole feeds), :class:`Insz`, :class:`KboNumber`,
  :func:`parse_number`, :class:`InvalidNumber`,
  :class:`NumberKind`, :class:`Sex`, :class:`PartialDate`;
- generation: :class:`NumberGenerator`, :func:`insz_numbers` (vectorised; :func:`insz_values` as integers);
- municipalities: :func:`municipality`, :func:`all_municipalities`, :func:`municipalities_frame`;
- register: :func:`load_register`, :func:`find_person`, :func:`replace_number`, :func:`population`,
  :func:`person_numbers`, :func:`person_number_keys` (the same, narrow, for national feeds) with
  :func:`number_text`, :func:`register_counts`,
  :func:`persons_born_between` (names, for a name search), :data:`REGISTER_COLUMNS`;
- histories as periods (bulk work over many dates): :func:`person_frame`, :func:`address_periods`,
  :func:`household_periods`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kruispunt.identity.bulk_numbers import parse_insz_column
from kruispunt.identity.generator import NumberGenerator, insz_numbers, insz_values
from kruispunt.identity.municipalities import (
    Municipality,
    UnknownMunicipality,
    all_municipalities,
    municipalities_frame,
    municipality,
)
from kruispunt.identity.numbers import (
    Insz,
    InvalidNumber,
    KboNumber,
    NumberKind,
    PartialDate,
    Sex,
    parse_number,
)
from kruispunt.identity.register_feed import HOUSEHOLD_ROLES, REGISTER_COLUMNS, read_register_feed

if TYPE_CHECKING:  # the register is imported on first use (below); type checkers see it here
    from kruispunt.identity.register import (
        Address,
        HouseholdMember,
        PersonRecord,
        RegisterError,
        RegisterLoadReport,
        address_periods,
        find_person,
        household_periods,
        load_register,
        number_text,
        person_frame,
        person_number_keys,
        person_numbers,
        persons_born_between,
        population,
        register_counts,
        replace_number,
    )

# The register pulls in SQLAlchemy and the store (about a second of start-up): commands that only need
# numbers or municipalities (``kruispunt synth``, ``kruispunt id check``) should not pay for it.
_REGISTER_NAMES = frozenset(
    {
        "Address",
        "HouseholdMember",
        "PersonRecord",
        "RegisterError",
        "RegisterLoadReport",
        "address_periods",
        "find_person",
        "household_periods",
        "load_register",
        "number_text",
        "person_frame",
        "person_number_keys",
        "person_numbers",
        "persons_born_between",
        "population",
        "register_counts",
        "replace_number",
    }
)

__all__ = [
    "HOUSEHOLD_ROLES",
    "REGISTER_COLUMNS",
    "Address",
    "HouseholdMember",
    "Insz",
    "InvalidNumber",
    "KboNumber",
    "Municipality",
    "NumberGenerator",
    "NumberKind",
    "PartialDate",
    "PersonRecord",
    "RegisterError",
    "RegisterLoadReport",
    "Sex",
    "UnknownMunicipality",
    "address_periods",
    "all_municipalities",
    "find_person",
    "household_periods",
    "insz_numbers",
    "insz_values",
    "load_register",
    "municipalities_frame",
    "municipality",
    "number_text",
    "parse_insz_column",
    "parse_number",
    "person_frame",
    "person_number_keys",
    "person_numbers",
    "persons_born_between",
    "population",
    "read_register_feed",
    "register_counts",
    "replace_number",
]


def __getattr__(name: str) -> Any:
    """Import the register's names on first use (PEP 562)."""
    if name not in _REGISTER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("kruispunt.identity.register"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
