"""What an automatic right would reach and cost: the baseline, its variants, take-up today, staff time.

The database is read once (the status periods the rules need, one register snapshot per reference date) and
the baseline and every variant are decided over those same frames with the pure engine of the rights room, so
the figures are those ``kruispunt rights evaluate`` gives on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from kruispunt import identity, rights
from kruispunt.impact.current import CurrentFile, read_current
from kruispunt.impact.frames import Frames
from kruispunt.impact.outcome import Outcome, decide
from kruispunt.impact.takeup import StaffTime, take_up
from kruispunt.impact.variants import Variant


@dataclass(frozen=True)
class Simulation:
    """The baseline and variants of one rule, for one municipality (or the whole country), on one date."""

    rule: rights.Rule
    municipality: str | None
    on: date
    baseline: Outcome
    variants: list[tuple[Variant, Outcome]]
    staff: StaffTime
    take_up: dict[str, Any] | None = None

    @property
    def by_municipality(self) -> bool:
        """Regional and federal rules are also broken down by municipality."""
        return self.rule.authority.level != "municipality"

    def as_dict(self) -> dict[str, Any]:
        """Every figure of the simulation as JSON-ready values (``--json`` and the reports)."""
        base = self.baseline.figures(self.by_municipality)
        files = self.take_up["receiving"] if self.take_up else base["beneficiaries"]
        return {
            "rule": self.rule.id,
            "title": self.rule.title.model_dump(),
            "authority": self.rule.authority.model_dump(),
            "legal_basis": self.rule.legal_basis.model_dump(),
            "note": self.rule.note,
            "beneficiary_entity": self.rule.beneficiary.entity,
            "municipality": _place(self.municipality),
            "date": self.on.isoformat(),
            "reference_date": base["reference_date"],
            "baseline": base,
            "variants": [self._variant(variant, outcome, base) for variant, outcome in self.variants],
            "take_up": self.take_up,
            "staff_time": {
                "basis": "current file" if self.take_up else "beneficiaries",
                **self.staff.saved(files),
            },
        }

    def _variant(self, variant: Variant, outcome: Outcome, base: dict[str, Any]) -> dict[str, Any]:
        figures = outcome.figures(self.by_municipality)
        base_keys = set(self.baseline.beneficiaries[self.baseline.key].cast(pl.String).to_list())
        keys = set(outcome.beneficiaries[outcome.key].cast(pl.String).to_list())
        return {
            **figures,
            "changes": dict(variant.changes),
            "difference": {
                "beneficiaries": figures["beneficiaries"] - base["beneficiaries"],
                "persons": figures["persons"] - base["persons"],
                "cost": str(Decimal(figures["cost"]) - Decimal(base["cost"])),
                "gained": len(keys - base_keys),
                "lost": len(base_keys - keys),
            },
        }


def _place(nis: str | None) -> dict[str, str] | None:
    if nis is None:
        return None
    try:
        return {"nis": nis, "name": identity.municipality(nis).name}
    except identity.UnknownMunicipality:
        return {"nis": nis, "name": nis}


class SimulationError(ValueError):
    """The simulation cannot be run as asked (unknown municipality, a municipal rule elsewhere, ...)."""


def simulate(
    engine: Engine,
    rule_id: str,
    municipality: str | None,
    on: date,
    *,
    variants: Sequence[Variant] = (),
    current: Path | CurrentFile | None = None,
    staff: StaffTime | None = None,
) -> Simulation:
    """Simulate ``rule_id`` on ``on`` for ``municipality`` (None: the whole country; a municipal rule
    defaults to its own municipality), with variants and, given ``current``, take-up today."""
    catalogue = rights.load_catalogue()
    if rule_id not in catalogue:
        raise rights.UnknownRule(f"no rule {rule_id!r} in the catalogue ({', '.join(sorted(catalogue))})")
    rule = catalogue[rule_id]
    municipality = _municipality(rule, municipality)
    current_file = read_current(current) if isinstance(current, Path) else current
    variant_rules = [(variant, variant.apply(rule)) for variant in variants]
    frames = Frames.read(engine, [rule, *(r for _, r in variant_rules)], catalogue, municipality)
    numbers = identity.person_numbers(engine) if current_file is not None else None
    return simulate_frames(
        rule, frames, on, variant_rules, catalogue, current_file, numbers, staff or StaffTime()
    )


def simulate_frames(
    rule: rights.Rule,
    frames: Frames,
    on: date,
    variant_rules: Sequence[tuple[Variant, rights.Rule]],
    catalogue: dict[str, rights.Rule],
    current: CurrentFile | None = None,
    numbers: pl.DataFrame | None = None,
    staff: StaffTime | None = None,
) -> Simulation:
    """The pure part: decide the baseline once and each variant over the same frames."""
    baseline = decide("baseline", rule, on, frames, catalogue)
    outcomes = [(v, decide(v.name, r, v.on or on, frames, catalogue)) for v, r in variant_rules]
    taken = None
    if current is not None:
        if numbers is None:
            raise SimulationError("a current file needs the register's numbers to find its persons")
        taken = take_up(baseline, current, numbers)
    return Simulation(rule, frames.municipality, on, baseline, outcomes, staff or StaffTime(), taken)


def _municipality(rule: rights.Rule, municipality: str | None) -> str | None:
    if municipality is not None:
        try:
            identity.municipality(municipality)
        except identity.UnknownMunicipality:
            raise SimulationError(
                f"--municipality {municipality}: no municipality with that NIS code"
            ) from None
    if rule.authority.level != "municipality":
        return municipality
    if municipality not in (None, rule.authority.nis):
        raise SimulationError(
            f"{rule.id} is a right of {rule.authority.name} ({rule.authority.nis}); "
            f"it reaches nobody in {municipality}"
        )
    return rule.authority.nis
