"""From households to register rows: dates, identity numbers, names and addresses, one chunk at a time.

A chunk is a run of whole municipalities; households never cross chunks. Identity numbers stay unique across
chunks because :class:`SerialBook` remembers how many serials each (birth date, sex, kind) has used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import yaml

from kruispunt.identity import HOUSEHOLD_ROLES, insz_values, municipality
from kruispunt.synth.households import CHILD, HEAD, FloatArray, Households, IntArray
from kruispunt.synth.targets import BIS_SEX_KNOWN_SHARE, BIS_SHARE

_EPOCH_1900 = -25_567  # 1900-01-01 in days since 1970-01-01
_DAYS_PER_YEAR = 365.2425
_GERMAN_SPEAKING = frozenset(
    {"63001", "63012", "63013", "63023", "63040", "63048", "63061", "63067", "63087"}
)
LANGUAGES = ("nl", "fr", "de", "brussels")
REGIONS = ("02000", "03000", "04000")  # Flemish, Walloon, Brussels-Capital


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - date(1970, 1, 1)).days


SLOTS = 6 * 80_000  # (birth day since 1900-01-01, number kind, sex) for births up to about 2119
SlotCounts = npt.NDArray[np.int32]  # serials per slot (at most 499 each)


def serial_slots(birth_day: IntArray, male: npt.NDArray[np.bool_], bis_offset: IntArray) -> IntArray:
    """The (birth date, number kind, sex) slot of each person; serials are counted per slot."""
    kind = np.select([bis_offset == 20, bis_offset == 40], [1, 2], 0)
    slots: IntArray = (birth_day - _EPOCH_1900) * 6 + kind * 2 + male.astype(np.int64)
    return slots


def slot_counts(slots: IntArray) -> SlotCounts:
    """How many serials a chunk uses per slot (to offset the chunks after it)."""
    return np.bincount(slots, minlength=SLOTS).astype(np.int32)


def numbers_text(
    birth_day: IntArray, male: npt.NDArray[np.bool_], bis_offset: IntArray, first_pair: IntArray
) -> pl.Series:
    """INSZ numbers as text, serials counting up from ``first_pair`` (the serials earlier chunks used)."""
    numbers = insz_values(birth_day.astype("datetime64[D]"), male, bis_offset, first_serial_pair=first_pair)
    # A 12th leading digit keeps the zeros that the integer dropped: much faster than padding the text.
    return pl.Series("insz", numbers + 10**11).cast(pl.String).str.slice(1)


def read_yaml(text: str) -> Any:
    """Parse YAML with libyaml when PyYAML has it: ten times faster than the pure-Python parser."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def name_lists() -> dict[str, Any]:
    """The names and street lists of ``data/names.yaml``."""
    text = (
        resources.files("kruispunt.synth").joinpath("data").joinpath("names.yaml").read_text(encoding="utf-8")
    )
    loaded: dict[str, Any] = read_yaml(text)
    return loaded


@dataclass(frozen=True)
class Chunk:
    """The numeric facts of a chunk's persons, kept for the status generator."""

    households: Households
    municipality_of_household: IntArray  # index into ``municipalities``
    municipalities: tuple[str, ...]
    birth_day: IntArray
    death_day: IntArray  # -1 while alive
    age_days: IntArray  # age on the reference day (or at death), in days
    bis_offset: IntArray  # 0 for a national register number, 20 or 40 for a BIS number
    insz: pl.Series | None = None

    @property
    def bis(self) -> npt.NDArray[np.bool_]:
        return self.bis_offset > 0

    @property
    def slots(self) -> IntArray:
        return serial_slots(self.birth_day, self.households.male, self.bis_offset)

    def numbered(self, first_pair_of_slot: SlotCounts) -> Chunk:
        """This chunk with its INSZ numbers, given the serials earlier chunks used per slot."""
        first_pair = first_pair_of_slot[self.slots].astype(np.int64)
        insz = numbers_text(self.birth_day, self.households.male, self.bis_offset, first_pair)
        return replace(self, insz=insz)

    def insz_text(self) -> pl.Series:
        if self.insz is None:
            raise RuntimeError("the chunk has no numbers yet; call numbered() first")
        return self.insz

    @property
    def region_of_person(self) -> IntArray:
        """0 Flemish, 1 Walloon, 2 Brussels, per person."""
        regions = np.array([REGIONS.index(municipality(nis).region_nis) for nis in self.municipalities])
        return regions[self.municipality_of_household[self.households.household]]


def municipality_of_households(households: Households, counts: Sequence[int]) -> IntArray:
    """Assign households to municipalities so that each gets about its number of persons."""
    first_person = np.cumsum(households.size) - households.size
    bounds = np.cumsum(np.asarray(counts, dtype=np.int64))
    return np.minimum(np.searchsorted(bounds, first_person, side="right"), len(counts) - 1)


def make_chunk(
    rng: np.random.Generator,
    households: Households,
    municipalities: Sequence[str],
    counts: Sequence[int],
    as_of: date,
) -> Chunk:
    """Dates, number kinds and municipalities for the persons of ``households`` (numbers come later)."""
    n = households.persons
    reference = day_number(as_of)
    death_day = np.where(households.dead, reference - rng.integers(1, 366, n), -1)
    lived_until = np.where(households.dead, death_day, reference)
    age_days = np.floor(households.age_years * _DAYS_PER_YEAR).astype(np.int64)
    bis = rng.random(n) < BIS_SHARE
    return Chunk(
        households=households,
        municipality_of_household=municipality_of_households(households, counts),
        municipalities=tuple(municipalities),
        birth_day=lived_until - 1 - age_days,
        death_day=death_day,
        age_days=age_days,
        bis_offset=np.where(bis, np.where(rng.random(n) < BIS_SEX_KNOWN_SHARE, 40, 20), 0),
    )


@cache
def _zipf_table(kind: str) -> tuple[pl.Series, tuple[int, ...], tuple[FloatArray, ...]]:
    """The names of ``kind`` (family names, first names, streets) of every list, one after the other, with
    each list's offset and cumulative weights (rank^-0.6): built once per process, not once per chunk."""
    lists = name_lists()[kind]
    groups = (
        [lists[code][sex] for code in LANGUAGES for sex in ("F", "M")]
        if kind == "first_names"
        else [lists[code] for code in LANGUAGES]
    )
    sizes = [len(names) for names in groups]
    offsets = tuple(int(offset) for offset in np.cumsum(sizes) - sizes)
    cdfs = []
    for size in sizes:
        weights = np.arange(1, size + 1) ** -0.6
        cdfs.append(np.cumsum(weights) / weights.sum())
    flat = pl.Series([name for names in groups for name in names], dtype=pl.String)
    return flat, offsets, tuple(cdfs)


def _zipf_pick(rng: np.random.Generator, group: IntArray, kind: str) -> pl.Series:
    """For each entry, a name from list ``group`` of ``kind``, the first ones likelier (weight rank^-0.6)."""
    flat, offsets, cdfs = _zipf_table(kind)
    picked = np.zeros(len(group), dtype=np.int64)
    u = rng.random(len(group))
    for code, (offset, cdf) in enumerate(zip(offsets, cdfs, strict=True)):
        mask = group == code
        picked[mask] = offset + np.minimum(np.searchsorted(cdf, u[mask]), len(cdf) - 1)
    return flat.gather(picked)


def _language_of_municipalities(municipalities: Sequence[str]) -> IntArray:
    def language(nis: str) -> int:
        if nis in _GERMAN_SPEAKING:
            return LANGUAGES.index("de")
        region = municipality(nis).region_nis
        return LANGUAGES.index({"02000": "nl", "03000": "fr"}.get(region, "brussels"))

    return np.array([language(nis) for nis in municipalities], dtype=np.int64)


def _postal_codes(
    rng: np.random.Generator, municipality_index: IntArray, municipalities: Sequence[str]
) -> pl.Series:
    codes = [municipality(nis).postal_codes for nis in municipalities]
    flat = [code for group in codes for code in group]
    sizes = np.array([len(group) for group in codes], dtype=np.int64)
    offsets = np.cumsum(sizes) - sizes
    n = sizes[municipality_index]
    picked = offsets[municipality_index] + np.floor(rng.random(len(municipality_index)) * n).astype(np.int64)
    return pl.Series(flat, dtype=pl.String).gather(picked)


def register_frame(rng: np.random.Generator, chunk: Chunk) -> pl.DataFrame:
    """The chunk's rows of the register feed, every column text, in household order."""
    hh = chunk.households
    household = hh.household
    h_language = _language_of_municipalities(chunk.municipalities)[chunk.municipality_of_household]
    language = h_language[household]
    own_last = _zipf_pick(rng, language, "family_names")
    head_row = np.cumsum(hh.size) - hh.size
    inherits = (hh.role == CHILD) | (hh.role == HEAD)
    last_index = np.where(inherits, head_row[household], np.arange(hh.persons))
    sex_language = language * 2 + hh.male.astype(np.int64)
    first = _zipf_pick(rng, sex_language, "first_names")
    street = _zipf_pick(rng, h_language, "streets")
    house_number = rng.integers(1, 180, len(hh.size))
    postal = _postal_codes(rng, chunk.municipality_of_household, chunk.municipalities)
    sequence = _sequence_within(chunk.municipality_of_household)
    nis = pl.Series(chunk.municipalities, dtype=pl.String).gather(chunk.municipality_of_household)
    households = pl.DataFrame(
        {
            "household_id": nis + "-" + pl.Series(sequence).cast(pl.String).str.zfill(6),
            "municipality_nis": nis,
            "postal_code": postal,
            "street": street,
            "house_number": pl.Series(house_number).cast(pl.String),
            "moved_in": _moved_in(rng, chunk, head_row),
        }
    )
    persons = pl.DataFrame(
        {
            "insz": chunk.insz_text(),
            "last_name": own_last.gather(last_index),
            "first_name": first,
            "birth_day": chunk.birth_day,
            "sex": np.where(hh.male, "M", "F"),
            "death_day": chunk.death_day,
            "household": household,
            "household_role": pl.Series(HOUSEHOLD_ROLES, dtype=pl.String).gather(hh.role),
        }
    )
    joined = persons.with_columns(households.select(pl.all().gather(pl.Series(household))))
    return _as_text(joined)


def _sequence_within(groups: IntArray) -> IntArray:
    """1, 2, 3, ... within each run of equal values of the non-decreasing ``groups``."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    lengths = np.diff(np.r_[starts, len(groups)])
    sequence: IntArray = np.arange(len(groups)) - np.repeat(starts, lengths) + 1
    return sequence


def _moved_in(rng: np.random.Generator, chunk: Chunk, head_row: IntArray) -> IntArray:
    """The day each household moved into its address: up to 40 years ago, not before the head turned 18."""
    head_age_years = chunk.age_days[head_row] / _DAYS_PER_YEAR
    span = np.clip(head_age_years - 18.0, 0.25, 40.0)
    years_ago = span * rng.random(len(head_row)) ** 1.6
    last_day = chunk.birth_day[head_row] + 1 + chunk.age_days[head_row]  # reference day, or day of death
    return (last_day - np.floor(years_ago * _DAYS_PER_YEAR)).astype(np.int64)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    def day(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")

    return (
        frame.select(
            "insz",
            "last_name",
            "first_name",
            day("birth_day").alias("birth_date"),
            "sex",
            pl.when(pl.col("death_day") >= 0).then(day("death_day")).otherwise(None).alias("death_date"),
            "household_id",
            "household_role",
            "municipality_nis",
            "postal_code",
            "street",
            "house_number",
            pl.max_horizontal("moved_in", "birth_day").alias("address_day"),
        )
        .with_columns(day("address_day").alias("address_from"))
        .drop("address_day")
    )
