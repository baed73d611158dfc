"""The rule language as typed objects: what a rule file may say, validated whole when it is loaded.

A rule is data (a YAML file in ``rules/``), never code. These models say exactly which keys exist and
what they mean; anything else in a file is an error reported with its line. The models are frozen so a
loaded rule can be shared; :meth:`Rule.override` gives a variant without editing the file.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Titles(_Strict):
    """The right's name in the three national languages."""

    nl: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Authority(_Strict):
    """Who grants the right: federal, a region or community, or a municipality (by its NIS code)."""

    level: Literal["federal", "region", "community", "province", "municipality"]
    name: str = Field(min_length=1)
    nis: str | None = Field(default=None, pattern=r"^\d{5}$")

    @model_validator(mode="after")
    def _municipality_has_nis(self) -> Authority:
        if self.level == "municipality" and self.nis is None:
            raise ValueError("a municipal authority needs its NIS code ('nis')")
        return self


class LegalBasis(_Strict):
    """The regulation the right rests on: its citation and where to read it."""

    reference: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")


class Validity(_Strict):
    """The first and last day (inclusive) on which the right can be granted; ``to`` empty = open."""

    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError(f"impossible validity: 'to' {end} is before 'from' {start}")
        return end


class ParameterValue(_Strict):
    """One value of a parameter, in force from ``from`` until the next value, with its legal reference."""

    start: date = Field(alias="from")
    value: Decimal
    reference: str = Field(min_length=1)


class Parameter(_Strict):
    """A dated parameter: the value in force on a reference date is the last one starting on or before it."""

    description: str = Field(min_length=1)
    unit: Literal["EUR", "years", "persons"]
    values: list[ParameterValue] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _increasing(cls, values: list[ParameterValue]) -> list[ParameterValue]:
        for before, after in itertools.pairwise(values):
            if after.start <= before.start:
                raise ValueError(
                    f"impossible dates: the value from {after.start} must follow the one from {before.start}"
                )
        return values

    def value_on(self, day: date) -> ParameterValue | None:
        """The value in force on ``day`` (None before the first value)."""
        current = None
        for value in self.values:
            if value.start <= day:
                current = value
        return current


class Period(_Strict):
    """How time is cut: a right is decided per calendar month, quarter or year.

    ``reference`` is the day in each period on which "on the reference date" conditions are checked:
    ``first_day`` or a fixed ``MM-DD`` (e.g. ``01-01`` for a tax year).
    """

    unit: Literal["month", "quarter", "year"]
    reference: str = "first_day"

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        if value not in ("first_day", "last_day") and not _MONTH_DAY.match(value):
            raise ValueError(
                "reference must be 'first_day', 'last_day' or a month-day 'MM-DD' such as '01-01'"
            )
        if value in ("02-29", "02-30", "02-31", "04-31", "06-31", "09-31", "11-31"):
            raise ValueError(f"impossible date: {value} does not exist every year")
        return value

    @model_validator(mode="after")
    def _month_day_needs_year(self) -> Period:
        if _MONTH_DAY.match(self.reference) and self.unit != "year":
            raise ValueError("a month-day reference ('MM-DD') only fits yearly periods")
        return self


class Beneficiary(_Strict):
    """Who receives the right: each person, or each household (paid to its head)."""

    entity: Literal["person", "household"]
    receiver: Literal["head"] | None = None

    @model_validator(mode="after")
    def _receiver(self) -> Beneficiary:
        if self.entity == "household" and self.receiver is None:
            raise ValueError("a household right must say which member receives it ('receiver: head')")
        if self.entity == "person" and self.receiver is not None:
            raise ValueError("'receiver' only applies to household rights")
        return self


HeldWhen = Literal["on_reference_date", "any_day", "every_day"]
HeldBy = Literal["person", "household"]


class Ground(_Strict):
    """A ground for granting: statuses held (any or all of them), when, and by whom.

    Grounds are listed in priority order; a beneficiary granted on several grounds is paid once, on the
    first that applies, and that ground is reported.
    """

    ground: str = Field(pattern=r"^[A-Z][A-Z0-9_/]*$")
    statuses: list[str] = Field(min_length=1)
    match: Literal["any", "all"] = "any"
    held: HeldWhen = "on_reference_date"
    held_by: HeldBy = "person"
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")

    @field_validator("end")
    @classmethod
    def _dates(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError(f"impossible dates: 'to' {end} is before 'from' {start}")
        return end


class Residence(_Strict):
    """The beneficiary lives in one of these municipalities (NIS codes) on the reference date."""

    municipalities: list[Annotated[str, Field(pattern=r"^\d{5}$")]] = Field(min_length=1)


class NumberOrParameter(_Strict):
    """A bound given directly or by the name of a dated parameter."""

    value: Decimal | None = None
    parameter: str | None = None

    @model_validator(mode="after")
    def _one(self) -> NumberOrParameter:
        if (self.value is None) == (self.parameter is None):
            raise ValueError("give exactly one of 'value' or 'parameter'")
        return self


class Bounds(_Strict):
    """An inclusive range; either end may be left out."""

    min: NumberOrParameter | None = None
    max: NumberOrParameter | None = None

    @model_validator(mode="after")
    def _some(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        return self


class Exclusion(_Strict):
    """Not granted to whoever holds one of these statuses, or is granted another right, in the period."""

    statuses: list[str] | None = None
    held: HeldWhen = "on_reference_date"
    held_by: HeldBy = "person"
    right: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Exclusion:
        if (self.statuses is None) == (self.right is None):
            raise ValueError("an exclusion names either 'statuses' or a 'right'")
        return self


class Conditions(_Strict):
    """Conditions every beneficiary must meet besides holding a ground."""

    residence: Residence | None = None
    age: Bounds | None = None
    household_size: Bounds | None = None


class Amount(_Strict):
    """What is paid or exempted per period: a fixed value or a parameter, per period, month or member."""

    value: Decimal | None = None
    parameter: str | None = None
    per: Literal["period", "month", "member"] = "period"

    @model_validator(mode="after")
    def _one(self) -> Amount:
        if (self.value is None) == (self.parameter is None):
            raise ValueError("give exactly one of 'value' or 'parameter'")
        return self


class Rule(_Strict):
    """One derived right, as its YAML file states it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Titles
    authority: Authority
    legal_basis: LegalBasis
    note: str | None = None
    validity: Validity
    period: Period
    beneficiary: Beneficiary
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    grounds: list[Ground] = Field(min_length=1)
    conditions: Conditions = Field(default_factory=Conditions)
    exclusions: list[Exclusion] = Field(default_factory=list)
    amount: Amount

    def parameter_value(self, name: str, day: date) -> ParameterValue | None:
        """The value of parameter ``name`` in force on ``day``."""
        return self.parameters[name].value_on(day)

    def status_codes(self) -> set[str]:
        """Every status code the rule asks for (grounds and exclusions), as written."""
        codes = {code for ground in self.grounds for code in ground.statuses}
        codes |= {code for exclusion in self.exclusions for code in exclusion.statuses or []}
        return codes

    def rights_referred(self) -> set[str]:
        """Other rules this one depends on (through exclusions)."""
        return {exclusion.right for exclusion in self.exclusions if exclusion.right}

    def override(self, **changes: Any) -> Rule:
        """A variant of this rule, validated again; the file is not touched.

        Keys: ``parameters`` ({name: constant value} replacing the dated values), ``ground_statuses``
        ({ground: [codes]}), ``reference`` (``MM-DD``), ``validity`` ({"from": ..., "to": ...}),
        ``residence`` ([NIS codes]), or any top-level field of the rule.
        """
        data = self.model_dump(by_alias=True)
        for name, value in (changes.pop("parameters", None) or {}).items():
            if name not in data["parameters"]:
                raise KeyError(f"rule {self.id} has no parameter {name!r}")
            first = data["parameters"][name]["values"][0]
            data["parameters"][name]["values"] = [
                {"from": first["from"], "value": Decimal(str(value)), "reference": "override (simulation)"}
            ]
        for name, codes in (changes.pop("ground_statuses", None) or {}).items():
            matching = [g for g in data["grounds"] if g["ground"] == name]
            if not matching:
                raise KeyError(f"rule {self.id} has no ground {name!r}")
            matching[0]["statuses"] = list(codes)
        if "reference" in changes:
            data["period"]["reference"] = changes.pop("reference")
        if "residence" in changes:
            data["conditions"]["residence"] = {"municipalities": list(changes.pop("residence"))}
        data.update(changes)
        return Rule.model_validate(data)
