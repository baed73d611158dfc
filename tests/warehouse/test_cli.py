"""``kruispunt dwh`` end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from kruispunt.bootstrap import bootstrap
from kruispunt.cli import app as cli_app
from kruispunt.cli._common import app_state
from kruispunt.config import Settings
from tests.warehouse.test_service import load_family


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KRUISPUNT_HOME": str(home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kruispunt", "dwh", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_build_table_extract_and_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = bootstrap(Settings(home=home))
    load_family(app.engine, tmp_path)
    app.engine.dispose()

    built = run(home, "build", "--quarters", "2024Q1:2024Q2")
    assert built.returncode == 0, built.stderr
    assert "built 2 quarter(s), 6 person-quarters" in built.stdout

    table = run(
        home,
        "table",
        "--rows",
        "municipality",
        "--cols",
        "position",
        "--quarter",
        "2024Q2",
        "--format",
        "csv",
    )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "municipality,UNEMPLOYED,PUPIL_STUDENT,WORKING_AGE_NOT_OBSERVED,total"
    assert lines[1] == "61031,x,x,x,x" and lines[2] == "total,x,x,x,x"  # three persons: nothing published

    common = ["--project", "family-study", "--requester", "test", "--quarters", "2024Q2", "--k", "3"]
    out = tmp_path / "extract"
    done = run(
        home, "extract", "--deliberation", "24/017", "--variables", "region,sex", "--out", str(out), *common
    )
    assert done.returncode == 0, done.stderr
    assert "3 rows, 3 persons" in done.stdout and "sex: *" in done.stdout
    dictionary = json.loads((out / "dictionary.json").read_text())
    assert dictionary["generalisation"] == {"geography": "region", "sex": "*"}


@pytest.fixture
def in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The same commands in this process (quicker) for the error paths, on a fresh home."""
    monkeypatch.setenv("KRUISPUNT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KRUISPUNT_DATABASE_URL", raising=False)
    app_state.cache_clear()
    yield CliRunner()
    app_state().engine.dispose()
    app_state.cache_clear()


def test_error_paths_and_exit_status(in_process: CliRunner, tmp_path: Path) -> None:
    app = bootstrap(Settings(home=tmp_path / "home"))
    load_family(app.engine, tmp_path)
    app.engine.dispose()

    def dwh(*args: str) -> Result:
        return in_process.invoke(cli_app, ["dwh", *args])

    not_built = dwh("table", "--rows", "sex", "--cols", "position", "--quarter", "2024Q2")
    assert not_built.exit_code == 2 and "is not built" in not_built.stderr
    assert dwh("build", "--quarters", "2024Q2").exit_code == 0
    outside = dwh("table", "--rows", "sex", "--cols", "position", "--quarter", "2019Q1")
    assert outside.exit_code == 2 and "2019Q1 is not in the warehouse" in outside.stderr
    wrong = dwh("table", "--rows", "colour", "--cols", "position", "--quarter", "2024Q2")
    assert wrong.exit_code == 1 and "unknown row dimension 'colour'" in wrong.stderr
    bad_filter = dwh("table", "--rows", "sex", "--cols", "position", "--quarter", "2024Q2", "--filter", "sex")
    assert bad_filter.exit_code == 1 and "DIMENSION=VALUE" in bad_filter.stderr
    common = ["--project", "p1", "--requester", "test", "--quarters", "2024Q2", "--variables", "region"]
    refused = dwh("extract", "--deliberation", "", "--out", str(tmp_path / "x"), *common)
    assert refused.exit_code == 1 and "deliberation" in refused.stderr and not (tmp_path / "x").exists()
    strict = dwh(
        "extract", "--deliberation", "24/1", "--out", str(tmp_path / "y"), "--no-generalise", *common
    )
    assert strict.exit_code == 1 and "fewer than 5 persons" in strict.stderr and not (tmp_path / "y").exists()
    log = dwh("extracts")
    assert log.exit_code == 0 and "refused" in log.stdout and "p1" in log.stdout


def test_demo_step_runs_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    from kruispunt.cli.demo import DemoContext
    from kruispunt.cli.warehouse import demo_warehouse

    app = bootstrap(Settings(home=tmp_path / "home"))
    load_family(app.engine, tmp_path)
    context = DemoContext(app=app, out=tmp_path, facts={"as_of": date(2024, 7, 1)})
    demo_warehouse(context)
    first = capsys.readouterr().out
    demo_warehouse(context)
    assert "built 2023Q3:2024Q2: 12 person-quarters" in first
    assert (
        first.split("person-quarters")[1].split("\n", 1)[1]
        == capsys.readouterr().out.split("person-quarters")[1].split("\n", 1)[1]
    )
    app.engine.dispose()
