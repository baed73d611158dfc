"""Evaluate, explain, grant and export over stored data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, select

from kruispunt import identity, rights, statuses
from kruispunt.rights.tables import grant_entry
from kruispunt.statuses import load_status_feed
from tests.rights.helpers import build_town, write_statuses

TAX_YEAR = date(2024, 1, 1)
HUY = "waste-tax-exemption-huy"


def test_evaluate_household_exemption_from_stored_data(engine: Engine, tmp_path: Path) -> None:
    town = build_town(engine, tmp_path)
    evaluation = rights.evaluate(engine, HUY, on=TAX_YEAR)
    granted = evaluation.granted
    assert granted.select("insz", "household_id", "ground", "period_start", "period_end").rows() == [
        (town.huy_head, "HUY-1", "VT", date(2024, 1, 1), date(2024, 12, 31))
    ]
    assert evaluation.summary() | {"undetermined": 0} == {
        "rule": HUY,
        "beneficiary_entity": "household",
        "beneficiaries": 1,
        "decisions": 1,
        "undetermined": 0,
        "total_amount": "95.00",
        "by_ground": {"VT": 1},
    }
    herstal = rights.evaluate(engine, "waste-tax-exemption-herstal", on=TAX_YEAR)
    assert herstal.granted["insz"].to_list() == [town.herstal_head]
    only_huy = rights.evaluate(
        engine, "covid-premium-2020", start=date(2020, 1, 1), end=date(2021, 12, 31), municipality="61031"
    )
    assert only_huy.granted.is_empty()


def test_explaining_one_person_reads_only_their_household(engine: Engine, tmp_path: Path) -> None:
    town = build_town(engine, tmp_path)
    head = identity.find_person(engine, town.huy_head, TAX_YEAR)
    assert head is not None
    household = identity.population(engine, TAX_YEAR, household_keys=True, around=head.person_id)
    assert sorted(household["insz"].to_list()) == sorted([town.huy_head, town.huy_child])
    alone = identity.find_person(engine, town.herstal_head, TAX_YEAR)
    assert alone is not None
    on_their_own = identity.population(engine, TAX_YEAR, around=alone.person_id)
    assert on_their_own["insz"].to_list() == [town.herstal_head]
    everyone = statuses.periods_frame(engine)
    ids = household["person_id"].to_list()
    assert_frame_equal(
        statuses.periods_frame(engine, person_ids=ids),
        everyone.filter(pl.col("person_id").is_in(ids)),
        check_row_order=False,
    )
    assert statuses.periods_frame(engine, person_ids=[]).is_empty()


def test_explain_gives_statuses_parameters_and_references(engine: Engine, tmp_path: Path) -> None:
    town = build_town(engine, tmp_path)
    explanation = rights.explain(engine, HUY, town.huy_head, TAX_YEAR).as_dict()
    assert explanation["decision"] == "granted" and explanation["ground"] == "VT"
    assert explanation["amount"] == "95.00"
    assert [(p["holder"], p["status"]) for p in explanation["status_periods"]] == [
        (town.huy_child, "VT_DEPENDANT")
    ]
    assert explanation["parameters"][0]["reference"].startswith("Illustrative")
    assert "Règlement-taxe" in explanation["legal_basis"]["reference"]
    assert explanation["receiver"] == town.huy_head
    child = rights.explain(engine, HUY, town.huy_child, TAX_YEAR).as_dict()
    assert (child["decision"], child["receiver"]) == ("granted", town.huy_head)
    nobody = rights.explain(engine, HUY, town.huy_other, TAX_YEAR).as_dict()
    assert nobody["decision"] == "not_granted" and nobody["reasons"] == ["NO_GROUND"]
    elsewhere = rights.explain(engine, HUY, town.herstal_head, TAX_YEAR).as_dict()
    assert elsewhere["decision"] == "not_granted" and elsewhere["reasons"] == ["OUTSIDE_AREA"]


def _ledger_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(grant_entry)).scalar_one())


def test_grant_is_idempotent_and_writes_only_deltas(engine: Engine, tmp_path: Path) -> None:
    town = build_town(engine, tmp_path)
    first = rights.grant(engine, "covid-premium-2020", start=date(2020, 7, 1), end=date(2021, 12, 31))
    assert (first.granted, first.withdrawn) == (18, 0)
    again = rights.grant(engine, "covid-premium-2020", start=date(2020, 7, 1), end=date(2021, 12, 31))
    assert (again.granted, again.withdrawn, again.unchanged) == (0, 0, 18)
    assert _ledger_rows(engine) == 18
    # the IGO period turns out to have ended in March 2021: nine months are withdrawn, nothing else moves
    corrected = write_statuses(
        tmp_path / "correction.csv", [(town.herstal_head, "IGO", "2020-03-01", "2021-03-10")]
    )
    load_status_feed(engine, corrected, source="FPD")
    delta = rights.grant(engine, "covid-premium-2020", start=date(2020, 7, 1), end=date(2021, 12, 31))
    assert (delta.granted, delta.withdrawn) == (0, 9)
    assert delta.deltas["period_start"].min() == date(2021, 4, 1)
    active = rights.active_grants(engine, "covid-premium-2020")
    assert active.height == 9 and active["amount"].sum() == Decimal("450.00")
    assert _ledger_rows(engine) == 27


def test_mutation_consumer_regrants_only_touched_persons(engine: Engine, tmp_path: Path) -> None:
    town = build_town(engine, tmp_path)
    rights.grant(engine, HUY, on=TAX_YEAR)
    assert rights.consume_mutations(engine)[0].granted == 0
    added = write_statuses(tmp_path / "more.csv", [(town.huy_other, "LEEFLOON", "2023-06-01", "")])
    load_status_feed(engine, added, source="POD_MI")
    reports = rights.consume_mutations(engine)
    assert [(r.rule_id, r.granted, r.withdrawn) for r in reports] == [(HUY, 1, 0)]
    assert rights.consume_mutations(engine) == []
    assert set(rights.active_grants(engine, HUY)["household_id"]) == {"HUY-1", "HUY-2"}


def test_export_formats_carry_names_totals_and_checksum(engine: Engine, tmp_path: Path) -> None:
    town = build_town(engine, tmp_path)
    with pytest.raises(rights.NothingToExport):
        rights.export(engine, HUY, "csv", tmp_path / "none.csv")
    rights.grant(engine, HUY, on=TAX_YEAR)
    csv_report = rights.export(engine, HUY, "csv", tmp_path / "huy.csv")
    text = (tmp_path / "huy.csv").read_bytes().decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].split(";")[:3] == ["insz", "last_name", "first_name"]
    assert lines[1].startswith(
        f"{town.huy_head};Peeters;Marc;Grand-Place;1;4500;Hoei / Huy;HUY-1;2024-01-01;2024-12-31;VT;95,00;"
    )
    assert lines[2] == "TOTAL;1;95,00"
    assert lines[3] == f"SHA256;{csv_report.sha256}"
    fixed = rights.export(engine, HUY, "fixed", tmp_path / "huy.txt")
    records = (tmp_path / "huy.txt").read_bytes().decode("utf-8").split("\r\n")[:-1]
    assert [len(r) for r in records] == [rights.FIXED_WIDTH] * 3
    assert records[1].startswith("D" + town.huy_head + "Peeters")
    assert records[2].startswith("T000000001" + "9500".rjust(15, "0") + fixed.sha256)
    rights.export(engine, HUY, "json", tmp_path / "huy.json")
    document = json.loads((tmp_path / "huy.json").read_text(encoding="utf-8"))
    assert document["totals"] == {"records": 1, "amount": "95.00"}
    assert (
        document["records"][0]["municipality"] == "Hoei / Huy" and document["records"][0]["amount"] == "95.00"
    )


def test_evaluate_frames_agrees_with_stored_evaluation(engine: Engine, tmp_path: Path) -> None:
    build_town(engine, tmp_path)
    rule = rights.load_rule(HUY)
    population = rights.read_population(engine, [TAX_YEAR])
    periods = rights.read_periods(engine, rule)
    direct = rights.evaluate_frames(rule, population, periods, on=TAX_YEAR)
    stored = rights.evaluate(engine, HUY, on=TAX_YEAR).decisions
    assert direct.drop("reasons").equals(stored.drop("reasons"))
    assert direct.filter(pl.col("decision") == "granted").height == 1


def test_population_hands_over_integer_household_keys(engine: Engine, tmp_path: Path) -> None:
    build_town(engine, tmp_path)
    population = rights.read_population(engine, [TAX_YEAR])
    pairs = population.select("household_id", "household_key").unique()
    assert pairs["household_key"].null_count() == pairs["household_id"].null_count()
    keyed = pairs.drop_nulls()
    assert keyed["household_key"].n_unique() == keyed["household_id"].n_unique() == keyed.height
    # the engine gives the same decisions with the keys, and without them (ranking the string ids)
    rule = rights.load_rule(HUY)
    periods = rights.read_periods(engine, rule)
    with_keys = rights.evaluate_frames(rule, population, periods, on=TAX_YEAR)
    assert with_keys.equals(
        rights.evaluate_frames(rule, population.drop("household_key"), periods, on=TAX_YEAR)
    )
