"""Variants: a rule with some parameters changed, without touching its file.

A council asks "and if the amount were 120?", "and without VT?", "and on 1 July?". A variant is written on
the command line as ``NAME:key=value,key=value`` and turned into a validated :class:`~kruispunt.rights.Rule`
with :meth:`Rule.override`, so a variant can never say something the rule language cannot.

Keys (lists are joined with ``+``, because ``,`` separates the keys):

- ``amount=V``: the amount paid or waived (the rule's amount parameter, or its fixed amount);
- ``PARAMETER=V``: any dated parameter of the rule by name (an income ceiling, an age limit, ...);
- ``grounds=A+B``: keep only these grounds, in this order of priority;
- ``statuses.GROUND=S1+S2``: the statuses of a ground; a new ground name adds a ground at the end;
- ``reference=MM-DD``: the day of the period on which statuses must be held (yearly rules);
- ``date=YYYY-MM-DD``: evaluate the variant on another date;
- ``residence=NIS+NIS``: the municipalities where beneficiaries must live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from kruispunt import statuses
from kruispunt.rights import Rule

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
FIXED_KEYS = ("amount", "grounds", "reference", "date", "residence")


class VariantError(ValueError):
    """A variant that cannot be applied: bad syntax, unknown key, or a value the rule language refuses."""


@dataclass(frozen=True)
class Variant:
    """A named set of changes to a rule; ``text`` is what the user wrote, for the report."""

    name: str
    changes: tuple[tuple[str, str], ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``NAME:key=value,key=value`` -> Variant (syntax only; :meth:`apply` checks against the rule)."""
        name, colon, body = text.partition(":")
        name = name.strip()
        if not colon or not _NAME.match(name):
            raise VariantError(
                f"variant {text!r}: write NAME:key=value[,key=value...] (NAME of letters, digits, - _ .)"
            )
        changes = []
        for part in filter(None, (p.strip() for p in body.split(","))):
            key, equals, value = part.partition("=")
            if not equals or not key.strip() or not value.strip():
                raise VariantError(f"variant {name}: {part!r} is not key=value")
            changes.append((key.strip(), value.strip()))
        if not changes:
            raise VariantError(f"variant {name}: no change given")
        return cls(name, tuple(changes), text)

    @property
    def on(self) -> date | None:
        """The evaluation date the variant asks for, if any."""
        for key, value in self.changes:
            if key == "date":
                return _date(self.name, value)
        return None

    def apply(self, rule: Rule) -> Rule:
        """The rule with this variant's changes, validated again as a whole."""
        plan = _Plan(rule, self.name)
        for key, value in self.changes:
            plan.add(key, value)
        try:
            return rule.override(**plan.overrides())
        except (ValidationError, KeyError, ValueError) as error:
            raise VariantError(f"variant {self.name}: {_short(error)}") from None


@dataclass
class _Plan:
    """The changes of one variant gathered into the keyword arguments of :meth:`Rule.override`."""

    rule: Rule
    name: str
    parameters: dict[str, Decimal] = field(default_factory=dict)
    grounds: list[dict[str, Any]] | None = None
    ground_statuses: dict[str, list[str]] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: str) -> None:
        if key == "amount":
            self._amount(value)
        elif key == "grounds":
            self._keep_grounds(_list(value))
        elif key.startswith("statuses."):
            self.ground_statuses[key.removeprefix("statuses.")] = self._codes(_list(value))
        elif key == "reference":
            self.other["reference"] = value
        elif key == "residence":
            self.other["residence"] = _list(value)
        elif key == "date":
            _date(self.name, value)
        elif key in self.rule.parameters:
            self.parameters[key] = _number(self.name, key, value)
        else:
            known = ", ".join([*FIXED_KEYS, "statuses.GROUND", *self.rule.parameters])
            raise VariantError(
                f"variant {self.name}: unknown key {key!r} for rule {self.rule.id} (known: {known})"
            )

    def _codes(self, codes: list[str]) -> list[str]:
        known = statuses.catalogue().codes
        unknown = [c for c in codes if c not in known]
        if unknown or not codes:
            raise VariantError(
                f"variant {self.name}: unknown status {', '.join(unknown) or '(none given)'} "
                f"(known: {', '.join(known)})"
            )
        return codes

    def _amount(self, value: str) -> None:
        number = _number(self.name, "amount", value)
        if self.rule.amount.parameter is not None:
            self.parameters[self.rule.amount.parameter] = number
        else:
            self.other["amount"] = {"value": number, "per": self.rule.amount.per}

    def _keep_grounds(self, names: list[str]) -> None:
        by_name = {g.ground: g for g in self.rule.grounds}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise VariantError(
                f"variant {self.name}: rule {self.rule.id} has no ground {', '.join(unknown)} "
                f"(grounds: {', '.join(by_name)})"
            )
        self.grounds = [by_name[n].model_dump(by_alias=True, exclude_none=True) for n in names]

    def overrides(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Rule.override`: the grounds as one list, parameters as constants.

        A new ground copies when and by whom statuses are held from the rule's first ground, so "add THAB"
        means the same kind of test as the grounds already there.
        """
        result: dict[str, Any] = dict(self.other)
        if self.parameters:
            result["parameters"] = self.parameters
        if self.grounds is None and not self.ground_statuses:
            return result
        grounds = self.grounds or [g.model_dump(by_alias=True, exclude_none=True) for g in self.rule.grounds]
        template = self.rule.grounds[0]
        for name, codes in self.ground_statuses.items():
            matching = [g for g in grounds if g["ground"] == name]
            if matching:
                matching[0]["statuses"] = codes
            else:
                grounds.append(
                    {"ground": name, "statuses": codes, "held": template.held, "held_by": template.held_by}
                )
        result["grounds"] = grounds
        return result


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split("+") if item.strip()]


def _number(variant: str, key: str, value: str) -> Decimal:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise VariantError(f"variant {variant}: {key}={value!r} is not a number") from None
    if not number.is_finite():
        raise VariantError(f"variant {variant}: {key}={value!r} is not a number")
    return number


def _date(variant: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise VariantError(f"variant {variant}: date={value!r} is not a date (YYYY-MM-DD)") from None


def _short(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error).strip("'\"")
