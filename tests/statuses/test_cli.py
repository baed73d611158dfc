"""The statuses commands as a user runs them: through `python -m kruispunt`, and in-process for the rest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from kruispunt.bootstrap import bootstrap
from kruispunt.cli import app
from kruispunt.cli._common import app_state
from kruispunt.config import Settings
from kruispunt.identity import NumberGenerator, load_register
from tests.factories import household, write_register
from tests.statuses.helpers import write_statuses
from tests.test_cli import run


def test_load_show_and_rejection_through_the_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = household(NumberGenerator(21))
    jan, els, lien = (r["insz"] for r in rows)
    registered = bootstrap(Settings(home=home))  # the register is set up in-process: fewer start-ups
    load_register(registered.engine, write_register(tmp_path / "r.csv", rows), as_of=date(2020, 1, 1))
    registered.engine.dispose()
    feed = write_statuses(
        tmp_path / "nic.csv",
        [(jan, "VT", "2020-01-01", "", "NIC"), (els, "VT_DEPENDANT", "2020-01-01", "2020-12-31", "NIC")],
    )
    loaded = run(home, "statuses", "load", str(feed), "--source", "NIC")
    assert loaded.returncode == 0, loaded.stderr
    assert "2 periods recorded" in loaded.stdout and "2 started" in loaded.stdout

    shown = run(home, "statuses", "show", els, "--json")
    assert [(p["status"], p["end_date"]) for p in json.loads(shown.stdout)] == [
        ("VT_DEPENDANT", "2020-12-31")
    ]

    bad = write_statuses(tmp_path / "bad.csv", [(lien, "IGO", "2020-01-01", "", "NIC")])
    report = tmp_path / "report.csv"
    rejected = run(home, "statuses", "load", str(bad), "--source", "NIC", "--report", str(report))
    assert rejected.returncode == 1
    assert "nothing was written" in rejected.stderr and "line 2, field status" in rejected.stderr
    assert "does not deliver status IGO" in report.read_text(encoding="utf-8")


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """The CLI in-process (no interpreter start-up) on a fresh embedded database."""
    monkeypatch.setenv("KRUISPUNT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KRUISPUNT_DATABASE_URL", raising=False)
    app_state.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    app_state().engine.dispose()
    app_state.cache_clear()


def test_holders_export_and_known_at(invoke: Callable[..., Result], tmp_path: Path) -> None:
    rows = household(NumberGenerator(22))
    jan, els, _ = (r["insz"] for r in rows)
    assert (
        invoke(
            "register", "load", str(write_register(tmp_path / "r.csv", rows)), "--as-of", "2020-01-01"
        ).exit_code
        == 0
    )
    feed = write_statuses(
        tmp_path / "nic.csv",
        [(jan, "VT", "2020-01-01", "", "NIC"), (els, "VT_DEPENDANT", "2020-01-01", "2020-12-31", "NIC")],
    )
    assert invoke("statuses", "load", str(feed), "--source", "NIC").exit_code == 0
    assert "nothing changed" in invoke("statuses", "load", str(feed), "--source", "NIC").stdout
    out = tmp_path / "holders.parquet"
    held = invoke(
        "statuses",
        "holders",
        "VT",
        "--at",
        "2020-06-01",
        "--expand",
        "--municipality",
        "61031",
        "--output",
        str(out),
    )
    assert held.exit_code == 0, held.stdout
    assert "2 persons hold" in held.stdout
    assert sorted(pl.read_parquet(out)["insz"].to_list()) == sorted([jan, els])
    assert json.loads(invoke("statuses", "show", els, "--at", "2021-06-01", "--json").stdout) == []
    assert json.loads(invoke("statuses", "show", jan, "--known-at", "2019-01-01", "--json").stdout) == []
    export = tmp_path / "all.csv"
    assert invoke("statuses", "export", str(export)).exit_code == 0
    exported = pl.read_csv(export, schema_overrides={"insz": pl.String})
    assert exported.columns == ["person_id", "insz", "status", "start_date", "end_date", "source"]
    assert exported.height == 2


def test_clear_errors_for_unknown_things(invoke: Callable[..., Result], tmp_path: Path) -> None:
    feed = write_statuses(tmp_path / "s.csv", [])
    unknown_source = invoke("statuses", "load", str(feed), "--source", "NOPE")
    assert unknown_source.exit_code == 1 and "unknown source code 'NOPE'" in unknown_source.stderr
    stranger = invoke("statuses", "show", NumberGenerator(5).insz().number)
    assert stranger.exit_code == 1 and "not in the register" in stranger.stderr
    unknown_code = invoke("statuses", "holders", "NOPE", "--at", "2020-01-01")
    assert unknown_code.exit_code == 1 and "unknown status code" in unknown_code.stderr
    listed = invoke("statuses", "catalogue", "--json")
    assert {d["code"] for d in json.loads(listed.stdout)} >= {"VT", "VT_DEPENDANT", "LEEFLOON"}


def test_demo_step_loads_the_synthetic_file_and_is_idempotent(tmp_path: Path) -> None:
    from kruispunt.bootstrap import bootstrap
    from kruispunt.cli._common import console
    from kruispunt.cli.demo import DemoContext
    from kruispunt.cli.statuses import demo_statuses
    from kruispunt.config import Settings
    from tests.statuses.helpers import registered_household

    app = bootstrap(Settings(home=tmp_path / "home"))
    jan, els, _ = registered_household(app.engine, tmp_path)
    feed = write_statuses(
        tmp_path / "statuses.csv",
        [
            (jan, "VT", "2020-01-01", "", "NIC"),
            (jan, "IGO", "2021-01-01", "", "FPD"),
            (els, "VT_DEPENDANT", "2020-01-01", "", "NIC"),
        ],
    )
    context = DemoContext(app=app, out=tmp_path, facts={"statuses_file": feed})
    with console.capture() as first:
        demo_statuses(context)
    with console.capture() as second:
        demo_statuses(context)
    assert "3 periods recorded" in first.get() and "history of" in first.get() and "IGO" in first.get()
    assert "nothing changed" in second.get()
