"""The simulation over stored data: agreement with the rights room, variants, take-up, reports, outreach."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kruispunt import impact, network, rights
from kruispunt.feeds import FeedRejected
from kruispunt.identity import NumberGenerator, Sex, load_register
from kruispunt.statuses import load_status_feed
from tests.factories import person_row, write_register
from tests.rights.helpers import write_statuses

RULE = "waste-tax-exemption-huy"
DAY = date(2024, 6, 30)
OCMW_KBO = "0207000176"


def _huy(engine: Engine, folder: Path) -> dict[str, str]:
    """Four Huy households: IGO couple, VT child family, a lone VT holder, nobody; and one in Herstal."""
    gen = NumberGenerator(11)
    common = {"municipality_nis": "61031", "postal_code": "4500"}
    rows = [
        person_row(
            gen, birth=date(1950, 1, 1), sex_=Sex.MALE, household_id="A", household_role="head", **common
        ),
        person_row(gen, birth=date(1952, 1, 1), household_id="A", household_role="partner", **common),
        person_row(gen, birth=date(1980, 1, 1), household_id="B", household_role="head", **common),
        person_row(gen, birth=date(2012, 1, 1), household_id="B", household_role="child", **common),
        person_row(gen, birth=date(1990, 5, 5), household_id="C", household_role="head", **common),
        person_row(gen, birth=date(1985, 5, 5), household_id="D", household_role="head", **common),
        person_row(
            gen,
            birth=date(1970, 1, 1),
            household_id="E",
            household_role="head",
            municipality_nis="62051",
            postal_code="4040",
        ),
    ]
    load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2019, 1, 1))
    people = dict(
        zip(
            ["a_head", "a_partner", "b_head", "b_child", "c_alone", "d_none", "e_herstal"],
            [r["insz"] for r in rows],
            strict=True,
        )
    )
    statuses = [
        (people["a_partner"], "IGO", "2020-01-01", ""),
        (people["b_child"], "VT_DEPENDANT", "2020-01-01", ""),
        (people["c_alone"], "VT", "2021-01-01", ""),
        (people["e_herstal"], "IGO", "2020-01-01", ""),
    ]
    load_status_feed(engine, write_statuses(folder / "statuses.csv", statuses), source="*")
    return people


def test_figures_agree_with_rights_evaluate_and_break_down(engine: Engine, tmp_path: Path) -> None:
    _huy(engine, tmp_path)
    simulation = impact.simulate(engine, RULE, None, DAY)
    figures = simulation.as_dict()
    expected = rights.evaluate(engine, RULE, on=DAY, municipality="61031").summary()
    base = figures["baseline"]
    assert (base["beneficiaries"], base["cost"]) == (expected["beneficiaries"], expected["total_amount"])
    assert {r["ground"]: r["beneficiaries"] for r in base["by_ground"]} == expected["by_ground"]
    assert (base["beneficiaries"], base["persons"], base["cost"]) == (3, 5, "285.00")
    assert figures["municipality"] == {"nis": "61031", "name": figures["municipality"]["name"]}
    assert figures["reference_date"] == "2024-01-01"
    kinds = {r["household_type"]: r["beneficiaries"] for r in base["by_household_type"]}
    assert kinds == {"single person": 1, "couple without children": 1, "single parent": 1}
    ages = {r["age_band"]: r["persons"] for r in base["by_age_band"]}
    assert ages == {"0-17": 1, "25-44": 2, "65-79": 2}
    assert "by_municipality" not in base  # a municipal rule


def test_variants_are_compared_with_the_baseline(engine: Engine, tmp_path: Path) -> None:
    _huy(engine, tmp_path)
    variants = [
        impact.Variant.parse("dearer:amount=100"),
        impact.Variant.parse("no-vt:grounds=LEEFLOON+IGO+IVT"),
    ]
    figures = impact.simulate(engine, RULE, "61031", DAY, variants=variants).as_dict()
    dearer, no_vt = figures["variants"]
    assert (dearer["cost"], dearer["difference"]["cost"]) == ("300.00", "15.00")
    assert (no_vt["beneficiaries"], no_vt["difference"]) == (
        1,
        {"beneficiaries": -2, "persons": -3, "cost": "-190.00", "gained": 0, "lost": 2},
    )
    with pytest.raises(impact.VariantError, match="unknown key 'ceiling'"):
        impact.Variant.parse("x:ceiling=3").apply(rights.load_rule(RULE))
    with pytest.raises(impact.VariantError, match="unknown status GRAPA"):
        impact.Variant.parse("x:statuses.IGO=GRAPA").apply(rights.load_rule(RULE))
    with pytest.raises(impact.SimulationError, match="reaches nobody"):
        impact.simulate(engine, RULE, "62051", DAY)


def test_take_up_from_an_insz_list_and_from_the_accounting_file(engine: Engine, tmp_path: Path) -> None:
    people = _huy(engine, tmp_path)
    listed = tmp_path / "current.txt"
    listed.write_text(f"# applied by hand\n{people['a_head']}\n{people['d_none']}\n", encoding="utf-8")
    taken = impact.simulate(engine, RULE, None, DAY, current=listed).as_dict()["take_up"]
    assert (taken["entitled"], taken["entitled_receiving"], taken["non_take_up"]) == (3, 1, 2)
    assert (taken["non_take_up_rate"], taken["received_without_entitlement"]) == (0.6667, 1)
    assert (taken["cost_today"], taken["cost_automatic"], taken["cost_change"]) == (
        "190.00",
        "285.00",
        "95.00",
    )

    rights.grant(engine, RULE, on=DAY)
    exported = rights.export(engine, RULE, "csv", tmp_path / "accounting.csv")
    taken = impact.simulate(engine, RULE, None, DAY, current=exported.path).as_dict()["take_up"]
    assert (taken["kind"], taken["non_take_up"], taken["cost_change"]) == ("accounting CSV", 0, "0.00")
    assert taken["cost_today_estimated"] is False


def test_a_malformed_current_file_is_refused_with_line_and_field(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "current.txt"
    bad.write_text("12345678901\nnot-a-number\n", encoding="utf-8")
    with pytest.raises(FeedRejected) as refused:
        impact.read_current(bad)
    where = {(e.line, e.field) for e in refused.value.errors}
    assert where == {(1, "insz"), (2, "insz")}
    csv = tmp_path / "acc.csv"
    csv.write_text("insz;period_start;period_end;amount\r\n85073003328;2024-01-01;2024-13-31;95,00\r\n")
    with pytest.raises(FeedRejected, match="line 2, field period_end"):
        impact.read_current(csv)


def test_reports_are_self_contained_html_and_pdf(engine: Engine, tmp_path: Path) -> None:
    _huy(engine, tmp_path)
    simulation = impact.simulate(engine, RULE, None, DAY, variants=[impact.Variant.parse("v:amount=50")])
    page = impact.write_report(simulation, tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "<script" not in page and 'src="http' not in page
    assert "Règlement-taxe communal" in page and "2024-01-01" in page
    assert impact.write_report(simulation, tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_outreach_needs_a_deliberation_and_logs_each_person(engine: Engine, tmp_path: Path) -> None:
    people = _huy(engine, tmp_path)
    network.add_partner(engine, OCMW_KBO, 17, "CPAS de Huy")
    with pytest.raises(impact.OutreachRefused, match="no deliberation"):
        impact.outreach(engine, "61031", DAY, partner=OCMW_KBO)
    network.add_deliberation(
        engine,
        number="24/001",
        decided_on=date(2024, 1, 1),
        title="Proactive outreach",
        service="statuses",
        purpose="outreach",
        fields=["VT", "WERKLOOS"],
        capacities=[1],
        parties=[OCMW_KBO],
    )
    listing = impact.outreach(engine, "61031", DAY, partner=OCMW_KBO, end_user="social worker 7")
    assert listing.persons["insz"].to_list() == [people["c_alone"]]
    assert listing.as_dict()["by_indicator"] == {"VT_ALONE_WITHOUT_LEEFLOON": 1, "UNEMPLOYMENT_ENDED": 0}
    assert listing.skipped == ("BRIDGING_RIGHT_ENDED",)
    seen = network.who_consulted(engine, people["c_alone"])
    assert [(c.purpose, c.deliberation, c.outcome) for c in seen] == [("outreach", "24/001", "answered")]
    assert network.verify_audit(engine).intact


def test_outreach_finds_an_unemployment_that_ended_without_follow_up(tmp_path: Path) -> None:
    import polars as pl

    population = pl.DataFrame(
        {
            "person_id": [1, 2],
            "insz": ["a", "b"],
            "birth_date": [date(1980, 1, 1), date(1981, 1, 1)],
            "municipality_nis": ["61031", "61031"],
            "household_id": ["H1", "H2"],
            "household_role": ["head", "head"],
        }
    )
    periods = pl.DataFrame(
        {
            "person_id": [1, 2, 2],
            "insz": ["a", "b", "b"],
            "status": ["WERKLOOS", "WERKLOOS", "VT"],
            "start_date": [date(2022, 1, 1), date(2022, 1, 1), date(2024, 3, 1)],
            "end_date": [date(2024, 2, 29), date(2024, 2, 29), None],
        }
    )
    found = impact.outreach_candidates(population, periods, "61031", DAY, impact.INDICATORS)
    assert found.select("insz", "indicators").to_dicts() == [
        {"insz": "a", "indicators": ["UNEMPLOYMENT_ENDED"]},  # b's VT followed the unemployment
        {"insz": "b", "indicators": ["VT_ALONE_WITHOUT_LEEFLOON"]},
    ]
