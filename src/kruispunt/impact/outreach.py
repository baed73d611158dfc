"""The OCMW outreach list: people who are probably entitled to leefloon or another OCMW right but hold none.

Deny by default: the list is drawn only for an OCMW partner (sector 17) holding a deliberation of the
Information Security Committee for the ``statuses`` service whose purpose is outreach
(:data:`OUTREACH_PURPOSE`, or a narrower ``outreach.<something>``), in force today. The deliberation's
allowed fields (status codes) decide which indicators may be used: an indicator reveals the status it is
built on. Every listing is chained into the hub's audit log, one record per person listed, before it is
handed out; a refusal is logged too.

The list carries numbers, ages, households and indicators, not names: names and addresses come through the
identity service under its own deliberation.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from time import perf_counter_ns
from typing import Any

import polars as pl
from sqlalchemy import Engine

from kruispunt import network, rights, statuses

OUTREACH_PURPOSE = "outreach"
OCMW_SECTOR = 17
SERVICE = "statuses"
LOOKBACK_DAYS = 365
ADULT_AGE = 18
LEEFLOON = ("LEEFLOON", "EQUIV_LEEFLOON")


@dataclass(frozen=True)
class Indicator:
    """One sign that a person may be entitled: its code, what it means, and the status it reveals."""

    code: str
    description: str
    status: str


INDICATORS = (
    Indicator(
        "UNEMPLOYMENT_ENDED",
        "full unemployment benefit (WERKLOOS) ended in the last 12 months and no other status followed",
        "WERKLOOS",
    ),
    Indicator(
        "BRIDGING_RIGHT_ENDED",
        "bridging right of the self-employed (OVERBRUGGING) ended in the last 12 months, no status followed",
        "OVERBRUGGING",
    ),
    Indicator(
        "VT_ALONE_WITHOUT_LEEFLOON",
        "holds increased reimbursement (VT) as holder, lives alone, and receives no leefloon",
        "VT",
    ),
)


class OutreachRefused(PermissionError):
    """No authorisation covers the listing; ``reason`` is the hub's refusal code."""

    def __init__(self, reason: network.Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class OutreachList:
    """The persons listed, the indicators used, the deliberation that allowed it and the audit records."""

    municipality: str
    on: date
    partner: str
    deliberation: str
    indicators: tuple[Indicator, ...]
    skipped: tuple[str, ...]
    persons: pl.DataFrame
    audit_seqs: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        counts = {
            i.code: int(self.persons["indicators"].list.contains(i.code).sum()) for i in self.indicators
        }
        return {
            "municipality": self.municipality,
            "date": self.on.isoformat(),
            "partner": self.partner,
            "deliberation": self.deliberation,
            "purpose": OUTREACH_PURPOSE,
            "indicators": {i.code: i.description for i in self.indicators},
            "indicators_not_allowed": list(self.skipped),
            "count": self.persons.height,
            "by_indicator": counts,
            "audit_records": [self.audit_seqs[0], self.audit_seqs[-1]] if self.audit_seqs else [],
            "persons": [
                {**row, "birth_date": row["birth_date"].isoformat() if row["birth_date"] else None}
                for row in self.persons.to_dicts()
            ],
        }


def authorisation(engine: Engine, partner: str, today: date) -> network.Deliberation:
    """The deliberation that lets ``partner`` draw outreach lists today; raises OutreachRefused otherwise."""
    found = network.find_partner(engine, partner)
    if found is None:
        raise OutreachRefused(network.Reason.TOKEN_INVALID, f"no partner with KBO number {partner}")
    if found.sector != OCMW_SECTOR:
        raise OutreachRefused(
            network.Reason.PURPOSE_NOT_COVERED, f"{found.name} is not an OCMW (sector {found.sector}, not 17)"
        )
    mine = [d for d in network.list_deliberations(engine) if found.kbo in d.parties and d.service == SERVICE]
    purposeful = [
        d for d in mine if d.purpose == OUTREACH_PURPOSE or d.purpose.startswith(OUTREACH_PURPOSE + ".")
    ]
    in_force = sorted((d for d in purposeful if d.in_force(today)), key=lambda d: d.decided_on, reverse=True)
    if in_force:
        return in_force[0]
    if not mine:
        raise OutreachRefused(
            network.Reason.NO_DELIBERATION, f"no deliberation allows {found.name} the statuses service"
        )
    if not purposeful:
        raise OutreachRefused(
            network.Reason.PURPOSE_NOT_COVERED,
            f"no deliberation of {found.name} names the purpose {OUTREACH_PURPOSE!r}",
        )
    raise OutreachRefused(
        network.Reason.DELIBERATION_NOT_IN_FORCE,
        f"deliberation(s) {', '.join(d.number for d in purposeful)} for outreach are not in force today",
    )


def outreach(
    engine: Engine,
    municipality: str,
    on: date,
    *,
    partner: str,
    end_user: str | None = None,
    case_reference: str | None = None,
    today: date | None = None,
) -> OutreachList:
    """Draw the outreach list of ``municipality`` on ``on`` for the OCMW ``partner``, logged per person."""
    started = perf_counter_ns()
    request = {
        "municipality": municipality,
        "date": on.isoformat(),
        "partner": partner,
        "case": case_reference,
    }
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode("utf-8")).hexdigest()
    message_id = f"outreach-{uuid.uuid4()}"
    log: dict[str, Any] = {
        "requester": partner,
        "service": SERVICE,
        "purpose": OUTREACH_PURPOSE,
        "end_user": end_user,
        "case_reference": case_reference,
        "message_id": message_id,
        "request_digest": digest,
    }
    try:
        deliberation = authorisation(engine, partner, today or date.today())
    except OutreachRefused as refused:
        if network.find_partner(engine, partner) is not None:
            network.log_listing(engine, persons=[], outcome="refused", reason=refused.reason, **log)
        raise
    allowed = tuple(i for i in INDICATORS if i.status in deliberation.fields)
    skipped = tuple(i.code for i in INDICATORS if i not in allowed)
    if not allowed:
        raise OutreachRefused(
            network.Reason.PURPOSE_NOT_COVERED,
            f"deliberation {deliberation.number} allows none of the statuses the indicators use "
            f"({', '.join(i.status for i in INDICATORS)})",
        )
    population = rights.read_population(engine, [on])
    periods = statuses.periods_frame(engine).select("person_id", "insz", "status", "start_date", "end_date")
    persons = candidates(population, periods, municipality, on, allowed)
    seqs = network.log_listing(
        engine,
        persons=list(zip(persons["person_id"].to_list(), persons["insz"].to_list(), strict=True)),
        deliberation=deliberation.number,
        hub_us=(perf_counter_ns() - started) // 1000,
        **log,
    )
    return OutreachList(
        municipality, on, partner, deliberation.number, allowed, skipped, persons, tuple(seqs)
    )


def candidates(
    population: pl.DataFrame,
    periods: pl.DataFrame,
    municipality: str,
    on: date,
    indicators: tuple[Indicator, ...],
) -> pl.DataFrame:
    """Adults living in ``municipality`` on ``on`` without leefloon, each with the indicators that apply.

    Pure (frames in, frame out): persons, periods as ``statuses.periods_frame`` gives them.
    """
    people = _adults(population, municipality, on)
    held_on = periods.filter(
        (pl.col("start_date") <= on) & (pl.col("end_date").is_null() | (pl.col("end_date") >= on))
    )
    with_leefloon = held_on.filter(pl.col("status").is_in(LEEFLOON)).select("person_id")
    people = people.join(with_leefloon, on="person_id", how="anti")
    found = [_indicator(indicator, people, periods, held_on, on) for indicator in indicators]
    hits = pl.concat(found) if found else pl.DataFrame(schema={"person_id": pl.Int64, "indicator": pl.String})
    grouped = hits.group_by("person_id").agg(pl.col("indicator").unique().sort().alias("indicators"))
    return (
        people.join(grouped, on="person_id")
        .select("person_id", "insz", "birth_date", "age", "household_id", "household_size", "indicators")
        .sort("insz")
    )


def _adults(population: pl.DataFrame, municipality: str, on: date) -> pl.DataFrame:
    sizes = population.drop_nulls("household_id").group_by("household_id").agg(household_size=pl.len())
    birth = pl.col("birth_date")
    before_birthday = (birth.dt.month() * 100 + birth.dt.day()) > (on.month * 100 + on.day)
    age = pl.lit(on.year) - birth.dt.year() - before_birthday.cast(pl.Int32)
    return (
        population.filter(pl.col("municipality_nis") == municipality)
        .join(sizes, on="household_id", how="left")
        .with_columns(age=age)
        .filter(pl.col("age") >= ADULT_AGE)
        .select("person_id", "insz", "birth_date", "age", "household_id", "household_size")
    )


def _indicator(
    indicator: Indicator, people: pl.DataFrame, periods: pl.DataFrame, held_on: pl.DataFrame, on: date
) -> pl.DataFrame:
    """(person_id, indicator) of the people the indicator points at."""
    if indicator.code == "VT_ALONE_WITHOUT_LEEFLOON":
        holders = held_on.filter(pl.col("status") == indicator.status).select("person_id")
        alone = people.filter(pl.col("household_size") == 1).join(holders, on="person_id", how="semi")
        return alone.select("person_id", indicator=pl.lit(indicator.code))
    return _ended_without_follow_up(indicator, people, periods, on)


def _ended_without_follow_up(
    indicator: Indicator, people: pl.DataFrame, periods: pl.DataFrame, on: date
) -> pl.DataFrame:
    """People whose last period of the status ended in the lookback window; no status covers a later day."""
    mine = periods.join(people.select("person_id"), on="person_id", how="semi")
    ended = (
        mine.filter(pl.col("status") == indicator.status)
        .group_by("person_id")
        .agg(pl.col("end_date").max().alias("ended"), pl.col("end_date").is_null().any().alias("open"))
        .filter(
            ~pl.col("open")
            & pl.col("ended").is_between(on - timedelta(days=LOOKBACK_DAYS), on, closed="left")
        )
    )
    later = mine.join(ended.select("person_id", "ended"), on="person_id").filter(
        pl.col("end_date").is_null() | (pl.col("end_date") > pl.col("ended"))
    )
    return ended.join(later.select("person_id"), on="person_id", how="anti").select(
        "person_id", indicator=pl.lit(indicator.code)
    )
