"""Synthetic Belgium looks like Belgium: age pyramid, households and social statuses against public figures.

Targets and tolerances live in ``kruispunt.synth.targets`` (and are explained in docs/synth.md); these
tests read the generated files as a user would and compare.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from kruispunt.identity import Insz
from kruispunt.synth import DEFAULT_AS_OF, HISTORY_START, PREVALENCES, Manifest
from kruispunt.synth.targets import (
    AGE_BAND_SHARES,
    AGE_BAND_TOLERANCE_PP,
    MEAN_SIZE_TARGET,
    MEAN_SIZE_TOLERANCE,
    ONE_PERSON_TARGET,
    ONE_PERSON_TOLERANCE,
    VT_AMONG_OTHERS_MAX,
    VT_AMONG_QUALIFYING_MIN,
    Prevalence,
)

YEAR = 365.2425


def age_on(day: date) -> pl.Expr:
    return (pl.lit(day) - pl.col("birth_date")).dt.total_days() / YEAR


def living(register: pl.DataFrame, day: date = DEFAULT_AS_OF) -> pl.DataFrame:
    return register.filter(pl.col("death_date").is_null() | (pl.col("death_date") > day))


def holders_on(statuses: pl.DataFrame, codes: list[str], day: date) -> pl.DataFrame:
    running = pl.col("end_date").is_null() | (pl.col("end_date") >= day)
    return (
        statuses.filter(pl.col("status").is_in(codes) & (pl.col("start_date") <= day) & running)
        .select("insz")
        .unique()
    )


def test_age_pyramid_matches_belgium(register: pl.DataFrame) -> None:
    alive = living(register).with_columns(
        (age_on(DEFAULT_AS_OF) // 5).clip(0, 20).cast(pl.Int64).alias("band")
    )
    shares = alive.group_by("band").len().sort("band")
    got = dict(zip(shares["band"].to_list(), (shares["len"] / alive.height).to_list(), strict=True))
    for band, target in enumerate(AGE_BAND_SHARES):
        assert abs(got.get(band, 0.0) - target) * 100 <= AGE_BAND_TOLERANCE_PP, (
            f"ages {5 * band}-{5 * band + 4}"
        )
    assert 0.18 <= alive.filter(age_on(DEFAULT_AS_OF) < 18).height / alive.height <= 0.22
    assert 0.18 <= alive.filter(age_on(DEFAULT_AS_OF) >= 65).height / alive.height <= 0.23


def test_household_sizes_match_belgium(register: pl.DataFrame) -> None:
    sizes = living(register).group_by("household_id").len()
    assert abs((sizes["len"] == 1).mean() - ONE_PERSON_TARGET) <= ONE_PERSON_TOLERANCE  # type: ignore[operator]
    assert abs(sizes["len"].mean() - MEAN_SIZE_TARGET) <= MEAN_SIZE_TOLERANCE  # type: ignore[operator]
    assert sizes["len"].max() <= 7


def test_households_have_one_head_plausible_partners_and_children(register: pl.DataFrame) -> None:
    heads = register.filter(pl.col("household_role") == "head")
    assert heads["household_id"].is_unique().all()
    assert register["household_id"].n_unique() == heads.height
    head_age = heads.select(
        "household_id", age_on(DEFAULT_AS_OF).alias("head_age"), pl.col("sex").alias("head_sex")
    )
    members = register.join(head_age, on="household_id").with_columns(age_on(DEFAULT_AS_OF).alias("age"))
    children = members.filter(pl.col("household_role") == "child")
    gap = children.group_by("household_id").agg(
        (pl.col("head_age").first() - pl.col("age").max()).alias("gap")
    )
    assert (gap["gap"] >= 15).mean() >= 0.99  # type: ignore[operator]
    assert 25 <= gap["gap"].median() <= 40  # type: ignore[operator]
    assert living(register).filter(age_on(DEFAULT_AS_OF) < 18)["household_role"].unique().to_list() == [
        "child"
    ]
    partners = members.filter(pl.col("household_role") == "partner")
    assert ((partners["age"] - partners["head_age"]).abs() <= 15).mean() >= 0.95  # type: ignore[operator]
    assert (partners["sex"] != partners["head_sex"]).mean() >= 0.95  # type: ignore[operator]
    adults = register.filter(pl.col("household_role") == "head")
    assert (adults.select(age_on(DEFAULT_AS_OF) >= 18).to_series()).mean() >= 0.99  # type: ignore[operator]


def test_numbers_are_unique_valid_and_mostly_national_register(
    register: pl.DataFrame, national: tuple[Path, Manifest]
) -> None:
    assert register["insz"].is_unique().all()
    sample = register.sample(3_000, seed=1)
    parsed = [Insz.parse(number) for number in sample["insz"]]
    bis = sum(number.kind.value == "bis" for number in parsed) / len(parsed)
    assert 0.005 <= bis <= 0.04
    for number, born, sex in zip(parsed, sample["birth_date"], sample["sex"], strict=True):
        assert number.birth_date is not None and number.birth_date.complete == born
        assert number.sex is None or number.sex.value == sex
    deaths = register.filter(pl.col("death_date").is_not_null())
    assert 0.005 <= deaths.height / register.height <= 0.015
    assert deaths.filter(pl.col("death_date") > DEFAULT_AS_OF).is_empty()
    assert national[1].counts["persons"] == register.height


@pytest.mark.parametrize("target", PREVALENCES, ids=lambda p: f"{p.status}-{p.group}-{p.on}")
def test_prevalence_close_to_public_figures(
    register: pl.DataFrame, statuses: pl.DataFrame, target: Prevalence
) -> None:
    alive = living(register, target.on)
    age = age_on(target.on)
    group = {
        "all": pl.lit(True),
        "18-64": (age >= 18) & (age < 65),
        "65+": age >= 65,
        "21+": age >= 21,
        "65+ flanders": (age >= 65)
        & pl.col("municipality_nis").str.slice(0, 1).is_in(["1", "3", "4", "7"])
        & ~pl.col("municipality_nis").str.starts_with("21"),
    }[target.group]
    base = alive.filter(group)
    held = base.join(holders_on(statuses, target.status.split("+"), target.on), on="insz").height
    assert abs(held / base.height - target.share) <= target.tolerance


def test_vt_far_more_frequent_among_leefloon_igo_and_ivt_holders(
    register: pl.DataFrame, statuses: pl.DataFrame
) -> None:
    alive = living(register).select("insz")
    qualifying = holders_on(statuses, ["LEEFLOON", "EQUIV_LEEFLOON", "IGO", "IVT"], DEFAULT_AS_OF)
    vt = holders_on(statuses, ["VT", "VT_DEPENDANT"], DEFAULT_AS_OF)
    among_qualifying = qualifying.join(alive, on="insz").join(vt, on="insz").height / qualifying.height
    others = alive.join(qualifying, on="insz", how="anti")
    among_others = others.join(vt, on="insz").height / others.height
    assert among_qualifying >= VT_AMONG_QUALIFYING_MIN
    assert among_others <= VT_AMONG_OTHERS_MAX


def test_igo_only_from_65_and_dependants_share_the_holders_household(
    register: pl.DataFrame, statuses: pl.DataFrame
) -> None:
    igo = statuses.filter(pl.col("status") == "IGO").join(register, on="insz")
    assert igo.filter(pl.col("start_date") < pl.col("birth_date").dt.offset_by("65y")).is_empty()
    households = register.select("insz", "household_id")
    vt = statuses.filter(pl.col("status") == "VT").join(households, on="insz")
    dependants = statuses.filter(pl.col("status") == "VT_DEPENDANT").join(households, on="insz")
    assert dependants.height > 0.3 * vt.height
    matched = dependants.join(vt, on="household_id", suffix="_holder")
    covered = matched.filter(
        (pl.col("start_date") >= pl.col("start_date_holder"))
        & (pl.col("end_date_holder").is_null() | (pl.col("end_date") <= pl.col("end_date_holder")))
    )
    assert (
        covered.select("insz", "start_date").unique().height
        == dependants.select("insz", "start_date").unique().height
    )


def test_periods_within_history_never_overlap_nor_touch(
    statuses: pl.DataFrame, register: pl.DataFrame
) -> None:
    assert statuses.filter(pl.col("start_date") < HISTORY_START).is_empty()
    assert statuses.filter(pl.col("end_date") < pl.col("start_date")).is_empty()
    assert statuses.filter(pl.col("start_date") > DEFAULT_AS_OF).is_empty()
    ordered = statuses.sort("insz", "status", "start_date").with_columns(
        pl.col("end_date").shift(1).over("insz", "status").alias("previous_end"),
        pl.col("start_date").shift(1).over("insz", "status").alias("previous_start"),
    )
    following = ordered.filter(pl.col("previous_start").is_not_null())
    assert following.filter(pl.col("previous_end").is_null()).is_empty()
    assert following.filter(pl.col("start_date") <= pl.col("previous_end") + pl.duration(days=1)).is_empty()
    died = statuses.join(register.filter(pl.col("death_date").is_not_null()), on="insz")
    assert died.filter(pl.col("end_date").is_null() | (pl.col("end_date") > pl.col("death_date"))).is_empty()


def test_covid_measures_spike_in_spring_2020(statuses: pl.DataFrame) -> None:
    spring = holders_on(statuses, ["TIJD_WERKLOOS"], date(2020, 4, 15)).height
    before = holders_on(statuses, ["TIJD_WERKLOOS"], date(2019, 10, 15)).height
    assert spring > 5 * before
    bridging = statuses.filter(pl.col("status") == "OVERBRUGGING")
    assert bridging["start_date"].min() >= date(2020, 3, 1)  # type: ignore[operator]
    assert bridging["end_date"].max() <= date(2022, 3, 31)  # type: ignore[operator]


def test_statuses_and_sources_are_those_of_the_catalogue(statuses: pl.DataFrame) -> None:
    catalogue = yaml.safe_load(Path("src/kruispunt/statuses/catalogue.yaml").read_text(encoding="utf-8"))
    allowed = {entry["code"]: set(entry["sources"]) for entry in catalogue["statuses"]}
    pairs = statuses.select("status", "source").unique().iter_rows()
    for status, source in pairs:
        assert source in allowed[status], (status, source)
    assert set(statuses["status"].unique()) == set(allowed)
