"""The data a simulation works on, read from the database once and shared by the baseline and every variant.

The register and the GSS buffer are read as frames (never person by person). When the question is about one
municipality, the frames are cut down to the households that have a member living there: every test a rule
makes (household statuses, the receiving member, exclusions) only looks inside a household, so the result for
those households is exactly the result over the whole country, at a fraction of the work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import Engine

from kruispunt import rights, statuses
from kruispunt.impact.people import People


def reference_dates(rule: rights.Rule, on: date) -> list[date]:
    """The register snapshot(s) a rule needs for a date: the reference date of the period containing it."""
    frame = rights.units(rule, rights.Window(on, on))
    if frame.is_empty():
        return [on]
    return sorted(set(frame["reference_date"].to_list()))


def status_codes_needed(rules: Iterable[rights.Rule], catalogue: Mapping[str, rights.Rule]) -> list[str]:
    """Every stored status code the rules (and the rules their exclusions name) ask for."""
    codes: set[str] = set()
    seen: set[str] = set()
    todo = list(rules)
    while todo:
        rule = todo.pop()
        codes |= rule.status_codes()
        for other in rule.rights_referred():
            if other not in seen and other in catalogue:
                seen.add(other)
                todo.append(catalogue[other])
    return sorted(statuses.expand_codes(codes))


def households_touching(population: pl.DataFrame, municipality: str) -> pl.DataFrame:
    """Everyone living in ``municipality`` and everyone sharing a household with one of them."""
    living = pl.col("municipality_nis") == municipality
    households = population.filter(living)["household_id"].drop_nulls().unique().implode()
    return population.filter(living | pl.col("household_id").is_in(households))


@dataclass
class Frames:
    """Population snapshots (one per set of reference dates, read on first use) and the status periods."""

    engine: Engine | None
    periods: pl.DataFrame
    municipality: str | None = None
    populations: dict[tuple[date, ...], pl.DataFrame] = field(default_factory=dict)
    described: dict[tuple[tuple[date, ...], date], People] = field(default_factory=dict)

    @classmethod
    def read(
        cls,
        engine: Engine,
        rules: Iterable[rights.Rule],
        catalogue: Mapping[str, rights.Rule],
        municipality: str | None,
    ) -> Frames:
        codes = status_codes_needed(rules, catalogue)
        periods = statuses.periods_frame(engine, statuses=codes).select(
            "person_id", "status", "start_date", "end_date"
        )
        return cls(engine, periods, municipality)

    @classmethod
    def of(
        cls,
        population: pl.DataFrame,
        periods: pl.DataFrame,
        dates: Iterable[date],
        municipality: str | None = None,
    ) -> Frames:
        """Frames given directly (tests, benchmarks): ``population`` stands for the snapshot on ``dates``."""
        frames = cls(None, periods, municipality)
        frames.populations[tuple(sorted(set(dates)))] = frames._scoped(population)
        return frames

    def population(self, dates: Iterable[date]) -> pl.DataFrame:
        """The population on ``dates`` (a person's latest snapshot wins, as ``rights.evaluate`` reads it)."""
        key = tuple(sorted(set(dates)))
        if key not in self.populations:
            if self.engine is None:
                raise LookupError(f"no population snapshot for {', '.join(map(str, key))} was supplied")
            self.populations[key] = self._scoped(rights.read_population(self.engine, key))
        return self.populations[key]

    def people(self, dates: Iterable[date], on: date) -> People:
        """The population on ``dates`` indexed and described (ages on ``on``), built once for the baseline
        and every variant."""
        key = (tuple(sorted(set(dates))), on)
        if key not in self.described:
            self.described[key] = People(self.population(key[0]), on)
        return self.described[key]

    def periods_of(self, population: pl.DataFrame) -> pl.DataFrame:
        """The status periods of the persons in ``population``."""
        if self.municipality is None:
            return self.periods
        return self.periods.join(population.select("person_id"), on="person_id", how="semi")

    def _scoped(self, population: pl.DataFrame) -> pl.DataFrame:
        if self.municipality is None:
            return population
        return households_touching(population, self.municipality)
