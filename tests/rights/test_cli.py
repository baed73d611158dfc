"""End-to-end through ``python -m kruispunt rights ...``, as a municipal officer runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner, Result

from kruispunt.bootstrap import bootstrap
from kruispunt.cli import app
from kruispunt.cli._common import app_state
from kruispunt.config import Settings
from kruispunt.identity import NumberGenerator, Sex, load_register
from kruispunt.rights.loader import rules_directory
from kruispunt.statuses import load_status_feed
from tests.factories import person_row, write_register
from tests.rights.helpers import write_statuses


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KRUISPUNT_HOME": str(home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kruispunt", *args], capture_output=True, text=True, env=env, check=False
    )


def test_evaluate_explain_grant_export_through_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gen = NumberGenerator(9)
    rows = [
        person_row(
            gen,
            birth=date(1944, 4, 4),
            sex_=Sex.MALE,
            first_name="Émile",
            household_id="H9",
            municipality_nis="64065",
            postal_code="4470",
        ),
    ]
    insz = rows[0]["insz"]
    app = bootstrap(Settings(home=home))
    load_register(app.engine, write_register(tmp_path / "r.csv", rows), as_of=date(2020, 1, 1))
    load_status_feed(
        app.engine, write_statuses(tmp_path / "s.csv", [(insz, "IGO", "2019-01-01", "")]), source="FPD"
    )
    app.engine.dispose()

    rule = "waste-tax-exemption-saint-georges-sur-meuse"
    out = tmp_path / "decisions.csv"
    evaluated = run(home, "rights", "evaluate", rule, "--date", "2024-01-01", "--out", str(out), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout) | {"undetermined": 0} == {
        "rule": rule,
        "beneficiary_entity": "household",
        "beneficiaries": 1,
        "decisions": 1,
        "undetermined": 0,
        "total_amount": "80.00",
        "by_ground": {"IGO": 1},
    }
    written = pl.read_csv(out, schema_overrides={"insz": pl.String})
    assert written.columns == [
        "insz",
        "household_id",
        "period_start",
        "period_end",
        "ground",
        "amount",
        "rule",
    ]
    assert written.row(0) == (insz, "H9", "2024-01-01", "2024-12-31", "IGO", 80.0, rule)

    # grant and explain in-process (each subprocess pays the whole CLI's start-up); export as a user runs it
    with in_process(home) as invoke:
        first = json.loads(invoke("rights", "grant", rule, "--date", "2024-01-01", "--json").stdout)
        explained = json.loads(
            invoke("rights", "explain", rule, insz, "--date", "2024-01-01", "--json").stdout
        )
    assert first["granted"] == 1 and explained["decision"] == "granted"

    exported = run(home, "rights", "export", rule, "--format", "csv", "--out", str(tmp_path / "acc.csv"))
    assert exported.returncode == 0, exported.stderr
    text = (tmp_path / "acc.csv").read_bytes().decode("utf-8-sig")
    assert "Émile" in text and ";80,00;" in text and "TOTAL;1;80,00" in text

    # the same commands in-process, for the readable (non-JSON) outputs
    with in_process(home) as invoke:
        assert (
            "nothing changed (1 grants stand)"
            in invoke("rights", "grant", rule, "--date", "2024-01-01").stdout
        )
        assert (
            "ground IGO, amount € 80.00"
            in invoke("rights", "explain", rule, insz, "--date", "2024-01-01").stdout
        )
        bad = invoke("rights", "evaluate", rule, "--from", "2024-01-01")
        assert bad.exit_code == 1 and "--from D --to D" in bad.stderr


@contextmanager
def in_process(home: Path) -> Iterator[Callable[..., Result]]:
    """Invoke the CLI app in this process against ``home`` (the cached app state reset around it)."""
    old = os.environ.get("KRUISPUNT_HOME")
    os.environ["KRUISPUNT_HOME"] = str(home)
    app_state.cache_clear()
    runner = CliRunner()
    try:
        yield lambda *args: runner.invoke(app, list(args))
    finally:
        app_state().engine.dispose()
        app_state.cache_clear()
        if old is None:
            os.environ.pop("KRUISPUNT_HOME")
        else:
            os.environ["KRUISPUNT_HOME"] = old


def test_rights_test_and_check_report_problems_with_lines(tmp_path: Path) -> None:
    passed = run(tmp_path, "rights", "test")
    assert passed.returncode == 0 and "0 failed" in passed.stdout
    broken = tmp_path / "rules"
    broken.mkdir()
    source = rules_directory() / "covid-premium-2020.yaml"
    shutil.copy(source, broken / source.name)
    text = source.read_text(encoding="utf-8").replace("statuses: [IGO]", "statuses: [IGO, GRAPA]")
    (broken / source.name).write_text(text, encoding="utf-8")
    line = text[: text.index("[IGO, GRAPA]")].count("\n") + 1
    os.environ["KRUISPUNT_RULES"] = str(broken)
    try:
        with in_process(tmp_path) as invoke:
            checked = invoke("rights", "check", str(broken))
            listed = invoke("rights", "list", "--json")
    finally:
        os.environ.pop("KRUISPUNT_RULES")
    assert checked.exit_code == 1
    assert f"covid-premium-2020.yaml:{line}: grounds.0.statuses.1: unknown status 'GRAPA'" in checked.stderr
    assert listed.exit_code == 1 and "GRAPA" in listed.stderr
