"""Social statuses for a chunk of synthetic persons, with the correlations that matter.

Each status picks its holders among the persons it can concern (IGO only from 65, IVT from 21 to 64, ...),
weighted by what makes it likelier (living alone, single parenthood, region, age), so that its prevalence on
the reference day matches :data:`~kruispunt.synth.targets.PREVALENCES`. Periods come from
:mod:`kruispunt.synth.periods`, then are clipped to the person's life and the status's age limits.
VT follows from leefloon, its equivalent, IGO and IVT, and otherwise from low household income; the
household members of a VT holder are its dependants, with the holder's periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from kruispunt.synth.households import HEAD, PARENT, SINGLE, IntArray
from kruispunt.synth.people import Chunk, day_number
from kruispunt.synth.periods import OPEN, Careers, Periods, active_on, clip, draw_periods, weighted_sample
from kruispunt.synth.targets import HISTORY_START, PREVALENCES, Prevalence

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_YEAR = 365.2425
COVID_PEAK = day_number(date(2020, 4, 15))


def _target(status: str, on: date | None = None) -> Prevalence:
    return next(p for p in PREVALENCES if p.status == status and (on is None or p.on == on))


@dataclass
class _Persons:
    """Per-person facts of a chunk the rules look at."""

    chunk: Chunk
    reference: int

    @cached_property
    def alive(self) -> BoolArray:
        return self.chunk.death_day < 0

    @cached_property
    def last_day(self) -> IntArray:
        """Latest day a period may cover: the day of death, or no limit."""
        return np.where(self.alive, OPEN, self.chunk.death_day)

    @cached_property
    def region(self) -> IntArray:
        return self.chunk.region_of_person

    @cached_property
    def kind(self) -> IntArray:
        return self.chunk.households.kind[self.chunk.households.household]

    def age_on(self, day: int) -> FloatArray:
        return (day - self.chunk.birth_day) / _YEAR

    def birthday(self, years: int, persons: IntArray) -> IntArray:
        """The day each of ``persons`` turns ``years`` (29 February: 1 March in common years)."""
        return calendar_birthday(self.chunk.birth_day[persons], years)

    def between(self, low: float, high: float, day: int | None = None) -> BoolArray:
        """Alive on ``day`` (default the reference day) and aged ``low`` <= age < ``high`` then."""
        on = self.reference if day is None else day
        age = self.age_on(on)
        lived = self.alive | (self.chunk.death_day > on)
        return lived & (age >= low) & (age < high)

    def by_region(self, flemish: float, walloon: float, brussels: float) -> FloatArray:
        return np.array([flemish, walloon, brussels])[self.region]

    @cached_property
    def single(self) -> BoolArray:
        single: BoolArray = self.kind == SINGLE
        return single

    @cached_property
    def single_parent(self) -> BoolArray:
        parent: BoolArray = (self.kind == PARENT) & (self.chunk.households.role == HEAD)
        return parent


STATUS_CODES = (
    "LEEFLOON",
    "EQUIV_LEEFLOON",
    "VT",
    "VT_DEPENDANT",
    "IGO",
    "IVT",
    "IT",
    "HANDICAP_66",
    "THAB",
    "WERKLOOS",
    "TIJD_WERKLOOS",
    "OVERBRUGGING",
)
SOURCE_CODES = ("POD_MI", "OCMW", "NIC", "FPD", "DG_HAN", "VSB", "RVA", "RSVZ")
#: The source(s) delivering each status here; the first one delivers all periods unless a share is given.
STATUS_SOURCES = {
    "LEEFLOON": ("OCMW", "POD_MI"),
    "EQUIV_LEEFLOON": ("OCMW", "POD_MI"),
    "VT": ("NIC",),
    "VT_DEPENDANT": ("NIC",),
    "IGO": ("FPD",),
    "IVT": ("DG_HAN",),
    "IT": ("DG_HAN",),
    "HANDICAP_66": ("DG_HAN",),
    "THAB": ("VSB",),
    "WERKLOOS": ("RVA",),
    "TIJD_WERKLOOS": ("RVA",),
    "OVERBRUGGING": ("RSVZ",),
}


@dataclass
class _Rows:
    """Status rows collected so far, as integer codes: person index, status, start, end, source.

    Periods that would start after the reference day are left out: the buffer does not know them yet.
    """

    reference: int
    parts: list[tuple[IntArray, int, IntArray, IntArray, IntArray]]

    def add(self, status: str, person: IntArray, periods: Periods, source: IntArray | None = None) -> None:
        """Periods of careers ``person``; ``source`` per career, default the status's first source."""
        if source is None:
            source = np.full(len(person), SOURCE_CODES.index(STATUS_SOURCES[status][0]))
        periods = periods.take(periods.start <= self.reference)
        self.parts.append(
            (
                person[periods.career],
                STATUS_CODES.index(status),
                periods.start,
                periods.end,
                source[periods.career],
            )
        )

    def frame(self) -> pl.DataFrame:
        def joined(index: int) -> IntArray:
            arrays = [part[index] for part in self.parts]
            return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)

        sizes = [len(part[0]) for part in self.parts]
        status = np.repeat(np.array([part[1] for part in self.parts], dtype=np.int64), sizes)
        return pl.DataFrame(
            {
                "person": joined(0),
                "status": status.astype(np.int8),
                "start": joined(2),
                "end": joined(3),
                "source": joined(4).astype(np.int8),
            }
        ).with_columns(pl.when(pl.col("end") == OPEN).then(None).otherwise(pl.col("end")).alias("end"))


def _two_sources(rng: np.random.Generator, status: str, count: int, first_share: float) -> IntArray:
    first, second = (SOURCE_CODES.index(code) for code in STATUS_SOURCES[status])
    return np.where(rng.random(count) < first_share, first, second)


def status_text(frame: pl.DataFrame, chunk: Chunk) -> pl.DataFrame:
    """The status feed rows: ``insz, status, start_date, end_date, source``, every column text."""

    def day(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")

    insz = chunk.insz_text().gather(frame["person"].to_numpy())
    statuses = pl.Series(STATUS_CODES, dtype=pl.String)
    sources = pl.Series(SOURCE_CODES, dtype=pl.String)
    return frame.select(
        insz.alias("insz"),
        statuses.gather(frame["status"].cast(pl.Int64)).alias("status"),
        day("start").alias("start_date"),
        day("end").alias("end_date"),
        sources.gather(frame["source"].cast(pl.Int64)).alias("source"),
    )


def status_frame(rng: np.random.Generator, chunk: Chunk, as_of: date) -> pl.DataFrame:
    """Every status period of the chunk's persons: ``person`` (row in the chunk), status, start, end, source.

    ``start`` and ``end`` are day numbers (days since 1970-01-01); ``end`` is null while running.
    """
    people = _Persons(chunk, day_number(as_of))
    window = (day_number(HISTORY_START), people.reference)
    rows = _Rows(people.reference, [])
    qualifying = [
        _integration_income(rng, people, window, rows),
        _income_guarantee(rng, people, window, rows),
        _disability(rng, people, window, rows),
    ]
    _care_allowance(rng, people, window, rows)
    _unemployment(rng, people, window, rows)
    _covid_measures(rng, people, window, rows)
    _increased_reimbursement(rng, people, window, rows, qualifying)
    return rows.frame().sort(["person", "status", "start"])


def _choose(
    rng: np.random.Generator,
    people: _Persons,
    weights: FloatArray,
    group: BoolArray,
    share_of: BoolArray,
    share: float,
    former_ratio: float,
) -> tuple[IntArray, BoolArray]:
    """Holders: active ones (``share`` of the living in ``share_of``), as many among the dead of the group,
    and former holders; returns persons and whether each career is still running (or was, until death)."""
    living = group & people.alive
    active = weighted_sample(
        rng, np.where(living, weights, 0.0), round(share * (share_of & people.alive).sum())
    )
    dead_group = group & ~people.alive
    died_active = weighted_sample(rng, np.where(dead_group, weights, 0.0), round(share * dead_group.sum()))
    taken = np.zeros(len(group), dtype=bool)
    taken[active] = True
    taken[died_active] = True
    former = weighted_sample(rng, np.where(group & ~taken, weights, 0.0), round(former_ratio * len(active)))
    persons = np.concatenate([active, died_active, former])
    running = np.r_[np.ones(len(active) + len(died_active), dtype=bool), np.zeros(len(former), dtype=bool)]
    return persons, running


def _lifetime_clip(periods: Periods, people: _Persons, persons: IntArray, from_age: int) -> Periods:
    return clip(periods, people.birthday(from_age, persons), people.last_day[persons])


def calendar_birthday(birth_day: IntArray, years: int) -> IntArray:
    """Day numbers of the ``years``-th birthdays of people born on ``birth_day`` (day numbers)."""
    born = birth_day.astype("datetime64[D]")
    month = born.astype("datetime64[M]")
    day_of_month = (born - month).astype(np.int64)
    days: IntArray = ((month + 12 * years).astype("datetime64[D]") + day_of_month).astype(np.int64)
    return days


def _integration_income(
    rng: np.random.Generator, people: _Persons, window: tuple[int, int], rows: _Rows
) -> tuple[IntArray, Periods]:
    """Leefloon and its equivalent: young adults, people alone, single parents, cities; BIS holders get the
    equivalent."""
    age = people.age_on(people.reference)
    weights = (
        np.select([age < 25, age < 35, age < 50], [3.0, 1.6, 1.0], 0.7)
        * np.where(people.single, 2.0, 1.0)
        * np.where(people.single_parent, 3.0, 1.0)
        * people.by_region(0.5, 1.4, 2.6)
    )
    bis = people.chunk.bis
    everyone = np.ones(len(age), dtype=bool)
    adults = people.between(18, 65) | (~people.alive & (age >= 18) & (age < 65))
    model = Careers(mean_duration=420, mean_gap=300, renewal=0.45)
    persons, running = _choose(rng, people, np.where(bis, 0.0, weights), adults, everyone, 0.013, 1.5)
    periods = _lifetime_clip(draw_periods(rng, running, model, window), people, persons, 18)
    rows.add("LEEFLOON", persons, periods, _two_sources(rng, "LEEFLOON", len(persons), 0.75))
    taken = np.zeros(len(age), dtype=bool)
    taken[persons] = True
    eq_weights = np.where(taken, 0.0, weights * np.where(bis, 20.0, 1.0))
    eq_persons, eq_running = _choose(rng, people, eq_weights, adults, everyone, 0.0025, 1.0)
    eq_periods = _lifetime_clip(draw_periods(rng, eq_running, model, window), people, eq_persons, 18)
    rows.add(
        "EQUIV_LEEFLOON", eq_persons, eq_periods, _two_sources(rng, "EQUIV_LEEFLOON", len(eq_persons), 0.75)
    )
    return np.concatenate([persons, eq_persons]), _concat(periods, eq_periods, len(persons))


def _concat(first: Periods, second: Periods, offset: int) -> Periods:
    return Periods(
        np.concatenate([first.career, second.career + offset]),
        np.concatenate([first.start, second.start]),
        np.concatenate([first.end, second.end]),
    )


def _income_guarantee(
    rng: np.random.Generator, people: _Persons, window: tuple[int, int], rows: _Rows
) -> tuple[IntArray, Periods]:
    """IGO: only from the 65th birthday; more often alone, women, Wallonia and Brussels, the very old."""
    age = people.age_on(people.reference)
    elderly = people.between(65, 200) | (~people.alive & (people.chunk.households.age_years >= 65))
    weights = (
        np.where(people.single, 2.5, 1.0)
        * np.where(people.chunk.households.male, 1.0, 1.3)
        * np.where(age >= 80, 1.3, 1.0)
        * people.by_region(0.75, 1.3, 1.6)
    )
    persons, running = _choose(rng, people, weights, elderly, people.between(65, 200), 0.052, 0.2)
    model = Careers(mean_duration=2500, mean_gap=400, renewal=0.05)
    periods = _lifetime_clip(draw_periods(rng, running, model, window), people, persons, 65)
    rows.add("IGO", persons, periods)
    return persons, periods


def _disability(
    rng: np.random.Generator, people: _Persons, window: tuple[int, int], rows: _Rows
) -> tuple[IntArray, Periods]:
    """Recognised disability, and IVT / IT granted on it some months after the recognition."""
    age = people.age_on(people.reference)
    adults = people.between(21, 200) | (~people.alive & (people.chunk.households.age_years >= 21))
    weights = np.select([age < 40, age < 55, age < 65], [0.6, 1.0, 1.6], 1.2) * people.by_region(
        0.9, 1.2, 1.1
    )
    persons, running = _choose(rng, people, weights, adults, people.between(21, 200), 0.025, 0.15)
    model = Careers(mean_duration=3000, mean_gap=500, renewal=0.05)
    periods = _lifetime_clip(draw_periods(rng, running, model, window), people, persons, 18)
    rows.add("HANDICAP_66", persons, periods)

    holder_age = age[persons]
    working_age = running & (holder_age >= 21) & (holder_age < 65)
    ivt_share = 0.018 * people.between(18, 65).sum() / max(1, (working_age & people.alive[persons]).sum())
    ivt = running & working_age & (rng.random(len(persons)) < ivt_share)
    it_share = 0.016 * people.between(21, 200).sum() / max(1, (running & people.alive[persons]).sum())
    it = running & (holder_age >= 21) & (rng.random(len(persons)) < it_share)
    ivt_periods = _delayed(rng, periods, ivt)
    rows.add("IVT", persons, ivt_periods)
    rows.add("IT", persons, _delayed(rng, periods, it))
    return persons, ivt_periods


def _delayed(rng: np.random.Generator, periods: Periods, careers: BoolArray) -> Periods:
    """The periods of the chosen careers, starting 2 to 6 months later (the time a file takes)."""
    chosen = periods.take(careers[periods.career])
    start = chosen.start + rng.integers(60, 180, len(chosen))
    keep = start <= chosen.end
    return Periods(chosen.career[keep], start[keep], chosen.end[keep])


def _care_allowance(rng: np.random.Generator, people: _Persons, window: tuple[int, int], rows: _Rows) -> None:
    """The Flemish care budget for the elderly: Flemish region, 65 and over, mostly the very old."""
    age = people.age_on(people.reference)
    flemish = people.region == 0
    elderly = flemish & (
        people.between(65, 200) | (~people.alive & (people.chunk.households.age_years >= 65))
    )
    weights = np.select([age >= 80, age >= 75], [3.0, 1.5], 1.0) * np.where(people.single, 1.3, 1.0)
    persons, running = _choose(rng, people, weights, elderly, flemish & people.between(65, 200), 0.05, 0.3)
    model = Careers(mean_duration=1500, mean_gap=300, renewal=0.1)
    periods = _lifetime_clip(draw_periods(rng, running, model, window), people, persons, 65)
    rows.add("THAB", persons, periods)


def _unemployment(rng: np.random.Generator, people: _Persons, window: tuple[int, int], rows: _Rows) -> None:
    """Full unemployment with benefit: spells of months, often repeated, until the 65th birthday."""
    age = people.age_on(people.reference)
    working = people.between(18, 65) | (~people.alive & (age >= 18) & (age < 65))
    weights = (
        np.select([age < 25, age < 50], [1.3, 1.0], 1.1)
        * people.by_region(0.55, 1.5, 2.0)
        * np.where(people.single_parent, 1.5, 1.0)
    )
    persons, running = _choose(rng, people, weights, working, people.between(18, 65), 0.04, 3.0)
    model = Careers(mean_duration=300, mean_gap=400, renewal=0.5)
    periods = draw_periods(rng, running, model, window)
    latest = np.minimum(people.last_day[persons], people.birthday(65, persons) - 1)
    periods = clip(periods, people.birthday(18, persons), latest)
    rows.add("WERKLOOS", persons, periods)


def _covid_measures(rng: np.random.Generator, people: _Persons, window: tuple[int, int], rows: _Rows) -> None:
    """Temporary unemployment (a baseline, and the spike from March 2020) and the Covid bridging right."""
    age = people.age_on(people.reference)
    working = people.between(18, 65) | (~people.alive & (age >= 18) & (age < 65))
    persons, running = _choose(rng, people, np.ones(len(age)), working, people.between(18, 65), 0.012, 4.0)
    periods = draw_periods(rng, running, Careers(mean_duration=45, mean_gap=200, renewal=0.4), window)
    latest = np.minimum(people.last_day[persons], people.birthday(65, persons) - 1)
    baseline = clip(periods, people.birthday(18, persons), latest)

    at_peak = people.between(18, 65, COVID_PEAK)
    free = at_peak.copy()
    free[persons] = False
    already = active_on(baseline, COVID_PEAK, len(persons)).sum()
    wave_size = max(0, round(0.15 * at_peak.sum()) - int(already))
    wave = weighted_sample(rng, free.astype(np.float64), wave_size)
    spells = _covid_spells(
        rng,
        len(wave),
        first=("2020-03-14", "2020-04-10", 75, "2020-12-31"),
        again=0.35,
        second=("2020-10-26", "2021-01-31", 110, "2021-12-31"),
    )
    rows.add("TIJD_WERKLOOS", np.concatenate([persons, wave]), _concat(baseline, spells, len(persons)))

    free[wave] = False
    bridging = weighted_sample(
        rng, np.where(free, np.where(age >= 25, 1.2, 1.0), 0.0), round(0.045 * at_peak.sum())
    )
    bridge = _covid_spells(
        rng,
        len(bridging),
        first=("2020-03-01", "2020-04-01", 70, "2020-08-31"),
        again=0.4,
        second=("2020-10-01", "2021-01-01", 200, "2022-03-31"),
    )
    rows.add("OVERBRUGGING", bridging, bridge)


def _covid_spells(
    rng: np.random.Generator,
    count: int,
    first: tuple[str, str, float, str],
    again: float,
    second: tuple[str, str, float, str],
) -> Periods:
    """A first spell for every career and, for some, a second one that starts after the first ended."""

    def spell(
        window: tuple[str, str, float, str], n: int, after: IntArray | None
    ) -> tuple[IntArray, IntArray]:
        low, high, mean, cap = window
        start = rng.integers(day_number(date.fromisoformat(low)), day_number(date.fromisoformat(high)) + 1, n)
        if after is not None:
            start = np.maximum(start, after + 2)
        end = np.minimum(
            start + 14 + rng.exponential(mean, n).astype(np.int64), day_number(date.fromisoformat(cap))
        )
        return start, np.maximum(end, start)

    start1, end1 = spell(first, count, None)
    twice = np.flatnonzero(rng.random(count) < again)
    start2, end2 = spell(second, len(twice), end1[twice])
    keep = start2 <= end2
    return Periods(
        np.concatenate([np.arange(count), twice[keep]]),
        np.concatenate([start1, start2[keep]]),
        np.concatenate([end1, end2[keep]]),
    )


def _increased_reimbursement(
    rng: np.random.Generator,
    people: _Persons,
    window: tuple[int, int],
    rows: _Rows,
    qualifying: list[tuple[IntArray, Periods]],
) -> None:
    """VT: granted on leefloon, equivalent aid, IGO or IVT; otherwise on low household income. One holder
    per household; every other member is a dependant with the holder's periods."""
    n = people.chunk.households.persons
    hh = people.chunk.households
    first = np.full(n, OPEN)
    last = np.full(n, -1)
    for persons, periods in qualifying:
        np.minimum.at(first, persons[periods.career], periods.start)
        np.maximum.at(last, persons[periods.career], periods.end)
    qualifies = (first < OPEN) & (rng.random(n) < 0.92)
    start = np.where(first < OPEN, first + rng.integers(15, 90, n), OPEN)
    end = np.where(last >= people.reference - 365, OPEN, last + 365)
    qualifies &= start <= np.minimum(end, people.last_day)

    households = len(hh.size)
    holder_start = np.full(households, OPEN)
    np.minimum.at(holder_start, hh.household[qualifies], start[qualifies])
    holder = np.full(households, -1)
    is_first = qualifies & (start == holder_start[hh.household])
    holder[hh.household[is_first]] = np.flatnonzero(
        is_first
    )  # one holder (the last such member) per household
    has_holder = holder >= 0
    q_persons = holder[has_holder]
    q_periods = Periods(np.arange(len(q_persons)), start[q_persons], end[q_persons])
    q_periods = clip(q_periods, people.chunk.birth_day[q_persons], people.last_day[q_persons])

    income_persons, income_periods = _low_income_households(
        rng, people, window, has_holder, q_periods, q_persons
    )
    persons = np.concatenate([q_persons, income_persons])
    periods = _concat(q_periods, income_periods, len(q_persons))
    rows.add("VT", persons, periods)
    _dependants(people, persons, periods, rows)


def _low_income_households(
    rng: np.random.Generator,
    people: _Persons,
    window: tuple[int, int],
    has_holder: BoolArray,
    q_periods: Periods,
    q_persons: IntArray,
) -> tuple[IntArray, Periods]:
    hh = people.chunk.households
    households = len(hh.size)
    head_row = np.cumsum(hh.size) - hh.size
    covered = np.zeros(households, dtype=bool)
    active_q = active_on(q_periods, people.reference, len(q_persons))
    covered[hh.household[q_persons[active_q]]] = True
    living = np.bincount(hh.household, weights=people.alive.astype(np.float64), minlength=households)
    wanted = 0.190 * people.alive.sum() - living[covered].sum()
    head_age = people.age_on(people.reference)[head_row]
    weights = (
        np.where((hh.kind == SINGLE) & (head_age >= 65), 2.0, 1.0)
        * np.where(hh.kind == PARENT, 2.5, 1.0)
        * np.where(hh.size >= 5, 1.3, 1.0)
        * people.by_region(0.75, 1.3, 1.8)[head_row]
    )
    eligible = ~has_holder & (living > 0)
    mean_size = float(np.average(living[eligible], weights=weights[eligible])) if eligible.any() else 1.0
    active = weighted_sample(rng, np.where(eligible, weights, 0.0), round(max(0.0, wanted) / mean_size))
    rest = eligible.copy()
    rest[active] = False
    former = weighted_sample(rng, np.where(rest, weights, 0.0), round(0.35 * len(active)))
    chosen = np.concatenate([active, former])
    running = np.r_[np.ones(len(active), dtype=bool), np.zeros(len(former), dtype=bool)]
    periods = draw_periods(rng, running, Careers(mean_duration=1500, mean_gap=365, renewal=0.25), window)
    persons = head_row[chosen]
    return persons, clip(periods, people.chunk.birth_day[persons], people.last_day[persons])


def _dependants(people: _Persons, holders: IntArray, periods: Periods, rows: _Rows) -> None:
    """Every other member of a holder's household gets VT_DEPENDANT with the holder's periods."""
    hh = people.chunk.households
    career_of_household = np.full(len(hh.size), -1)
    career_of_household[hh.household[holders]] = np.arange(len(holders))
    career = career_of_household[hh.household]
    members = np.flatnonzero((career >= 0) & ~np.isin(np.arange(hh.persons), holders))
    member_career = career[members]
    # Repeat each holder period once per member of its household.
    order = np.argsort(member_career, kind="stable")
    members, member_career = members[order], member_career[order]
    per_career = np.bincount(member_career, minlength=len(holders))
    first_member = np.cumsum(per_career) - per_career
    repeats = per_career[periods.career]
    period_index = np.repeat(np.arange(len(periods)), repeats)
    offset = np.arange(len(period_index)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    member_index = first_member[periods.career[period_index]] + offset
    expanded = Periods(member_index, periods.start[period_index], periods.end[period_index])
    clipped = clip(expanded, people.chunk.birth_day[members], people.last_day[members])
    rows.add("VT_DEPENDANT", members, clipped)
