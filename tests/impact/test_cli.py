"""End to end through ``python -m kruispunt simulate ...``, as a municipal officer and an OCMW run it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from kruispunt.identity import NumberGenerator, Sex
from tests.factories import person_row, write_register
from tests.rights.helpers import write_statuses
from tests.rights.test_cli import run

RULE = "waste-tax-exemption-saint-georges-sur-meuse"


def _load(home: Path, folder: Path) -> list[str]:
    gen = NumberGenerator(21)
    common = {"municipality_nis": "64065", "postal_code": "4470"}
    rows = [
        person_row(gen, birth=date(1944, 4, 4), sex_=Sex.MALE, household_id="S1", **common),
        person_row(gen, birth=date(1990, 4, 4), household_id="S2", **common),
        person_row(gen, birth=date(1991, 4, 4), household_id="S3", **common),
    ]
    assert (
        run(
            home, "register", "load", str(write_register(folder / "r.csv", rows)), "--as-of", "2020-01-01"
        ).returncode
        == 0
    )
    feed = write_statuses(
        folder / "s.csv",
        [(rows[0]["insz"], "IGO", "2019-01-01", ""), (rows[1]["insz"], "VT", "2019-01-01", "")],
    )
    assert run(home, "statuses", "load", str(feed), "--source", "*").returncode == 0
    return [r["insz"] for r in rows]


def test_simulate_agrees_with_rights_evaluate_and_writes_reports(tmp_path: Path) -> None:
    home = tmp_path / "home"
    numbers = _load(home, tmp_path)
    current = tmp_path / "current.txt"
    current.write_text(numbers[0] + "\n", encoding="utf-8")
    report = tmp_path / "report.html"
    simulated = run(
        home,
        "simulate",
        RULE,
        "--date",
        "2024-01-01",
        "--variant",
        "no-vt:grounds=LEEFLOON+IGO+IVT",
        "--current",
        str(current),
        "--report",
        str(report),
        "--minutes-per-file",
        "45",
        "--json",
    )
    assert simulated.returncode == 0, simulated.stderr
    figures = json.loads(simulated.stdout)
    evaluated = json.loads(run(home, "rights", "evaluate", RULE, "--date", "2024-01-01", "--json").stdout)
    assert (figures["baseline"]["beneficiaries"], figures["baseline"]["cost"]) == (
        evaluated["beneficiaries"],
        evaluated["total_amount"],
    )
    assert {r["ground"]: r["beneficiaries"] for r in figures["baseline"]["by_ground"]} == evaluated[
        "by_ground"
    ]
    assert figures["variants"][0]["difference"]["beneficiaries"] == -1
    assert (figures["take_up"]["non_take_up"], figures["take_up"]["non_take_up_rate"]) == (1, 0.5)
    assert figures["staff_time"] == {
        "basis": "current file",
        "manual_files": 1,
        "minutes_per_file": 45.0,
        "hours_per_fte": 1748.0,
        "hours": 0.8,
        "fte": 0.0,
    }
    assert "<svg" in report.read_text(encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    assert run(home, "simulate", RULE, "--date", "2024-01-01", "--report", str(pdf)).returncode == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_simulate_reports_bad_input_clearly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "current.txt"
    bad.write_text("12345678901\n", encoding="utf-8")
    result = run(home, "simulate", RULE, "--date", "2024-01-01", "--current", str(bad))
    assert result.returncode == 1 and "line 1, field insz" in result.stderr
    unknown = run(home, "simulate", "no-such-rule", "--date", "2024-01-01")
    assert unknown.returncode == 1 and "no rule 'no-such-rule'" in unknown.stderr
    variant = run(home, "simulate", RULE, "--date", "2024-01-01", "--variant", "broken")
    assert variant.returncode == 1 and "NAME:key=value" in variant.stderr


def test_outreach_is_refused_without_an_authorisation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _load(home, tmp_path)
    refused = run(
        home,
        "simulate",
        "outreach",
        "--municipality",
        "64065",
        "--date",
        "2024-01-01",
        "--partner",
        "0207000176",
    )
    assert refused.returncode == 1 and "refused" in refused.stderr
