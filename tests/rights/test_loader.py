"""Rule files load only when completely valid; every problem is told with its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kruispunt import rights
from kruispunt.rights.loader import rules_directory
from kruispunt.statuses import catalogue

HUY = rules_directory() / "waste-tax-exemption-huy.yaml"


def _copy(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(rules_directory() / name, folder / name)
    return folder


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` in the file and return the line (1-based) where it stood."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _problems(folder: Path) -> list[rights.RuleProblem]:
    with pytest.raises(rights.RuleError) as raised:
        rights.load_catalogue(folder)
    return raised.value.problems


def test_shipped_catalogue_loads_and_its_yaml_tests_pass() -> None:
    assert set(rights.load_catalogue()) == {
        "covid-premium-2020",
        "social-energy-tariff",
        "waste-tax-exemption-herstal",
        "waste-tax-exemption-huy",
        "waste-tax-exemption-saint-georges-sur-meuse",
    }
    failures = [o for o in rights.run_rule_tests() if not o.passed]
    assert failures == []


def test_unknown_status_names_file_and_line(tmp_path: Path) -> None:
    folder = _copy(tmp_path, HUY.name)
    line = _edit(folder / HUY.name, "statuses: [IGO]", "statuses: [IGOO]")
    [problem] = _problems(folder)
    assert (Path(problem.file).name, problem.line, problem.field) == (HUY.name, line, "grounds.1.statuses.0")
    assert "unknown status 'IGOO'" in problem.reason


def test_impossible_dates_are_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path, HUY.name)
    line = _edit(
        folder / HUY.name, "  from: 2020-01-01\nperiod", "  from: 2020-01-01\n  to: 2019-12-31\nperiod"
    )
    [problem] = _problems(folder)
    assert (problem.line, problem.field) == (
        line + 1,
        "validity.to",
    ) and "impossible validity" in problem.reason
    folder = _copy(tmp_path, HUY.name)
    line = _edit(folder / HUY.name, "- from: 2020-01-01", "- from: 2020-02-30")
    [problem] = _problems(folder)
    assert (problem.line, problem.field) == (line, "parameters.exempted_tax.values.0.from")


def test_unknown_key_and_unknown_parameter(tmp_path: Path) -> None:
    folder = _copy(tmp_path, HUY.name)
    _edit(folder / HUY.name, "  parameter: exempted_tax", "  parameter: exempted")
    line = _edit(folder / HUY.name, "note:", "notes:")
    problems = _problems(folder)
    assert any(p.line == line and p.field == "notes" for p in problems)
    folder = _copy(tmp_path, HUY.name)
    line = _edit(folder / HUY.name, "  parameter: exempted_tax", "  parameter: exempted")
    [problem] = _problems(folder)
    assert (problem.line, problem.reason) == (line, "unknown parameter 'exempted'")


def test_cycle_between_rules_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path, HUY.name, "waste-tax-exemption-herstal.yaml")
    for name, other in (
        (HUY.name, "waste-tax-exemption-herstal"),
        ("waste-tax-exemption-herstal.yaml", "waste-tax-exemption-huy"),
    ):
        _edit(folder / name, "amount:\n  parameter", f"exclusions:\n  - right: {other}\namount:\n  parameter")
    [problem] = _problems(folder)
    assert "cycle between rights" in problem.reason and problem.field == "exclusions"


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    folder = _copy(tmp_path, HUY.name)
    line = _edit(folder / HUY.name, "period:\n", "period: [\n")
    [problem] = _problems(folder)
    assert problem.line >= line and "not valid YAML" in problem.reason


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.text(alphabet="ABCDEGILNOTUV_", min_size=1, max_size=8))
def test_a_status_loads_exactly_when_the_catalogue_knows_it(tmp_path: Path, code: str) -> None:
    folder = _copy(tmp_path, HUY.name)
    (folder / HUY.name).write_text(
        HUY.read_text(encoding="utf-8").replace("statuses: [IGO]", f'statuses: ["{code}"]'), encoding="utf-8"
    )
    known = code in catalogue().statuses
    if known:
        assert rights.load_catalogue(folder)["waste-tax-exemption-huy"].grounds[1].statuses == [code]
    else:
        assert "unknown status" in _problems(folder)[0].reason


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(month=st.integers(1, 13), day=st.integers(1, 32))
def test_a_reference_day_loads_exactly_when_it_exists_every_year(
    tmp_path: Path, month: int, day: int
) -> None:
    folder = _copy(tmp_path, HUY.name)
    reference = f"{month:02d}-{day:02d}"
    (folder / HUY.name).write_text(
        HUY.read_text(encoding="utf-8").replace('reference: "01-01"', f'reference: "{reference}"'),
        encoding="utf-8",
    )
    import calendar

    exists = month <= 12 and day <= calendar.monthrange(2023, month)[1]
    if exists:
        assert rights.load_catalogue(folder)["waste-tax-exemption-huy"].period.reference == reference
    else:
        assert _problems(folder)[0].field == "period.reference"


def test_override_makes_a_validated_variant_without_touching_the_file() -> None:
    rule = rights.load_rule("covid-premium-2020")
    variant = rule.override(parameters={"monthly_premium": 75}, ground_statuses={"LEEFLOON": ["LEEFLOON"]})
    assert variant.parameters["monthly_premium"].values[0].value == 75
    assert variant.grounds[2].statuses == ["LEEFLOON"]
    assert rule.parameters["monthly_premium"].values[0].value == 50
    with pytest.raises(KeyError):
        rule.override(parameters={"nope": 1})
