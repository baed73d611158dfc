"""``kruispunt dwh`` end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kruispunt.bootstrap import bootstrap
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

    outside = run(home, "table", "--rows", "sex", "--cols", "position", "--quarter", "2019Q1")
    assert outside.returncode == 2 and "2019Q1 is not in the warehouse" in outside.stderr

    common = ["--project", "family-study", "--requester", "test", "--quarters", "2024Q2", "--k", "3"]
    refused = run(
        home, "extract", "--deliberation", "", "--variables", "region", "--out", str(tmp_path / "x"), *common
    )
    assert refused.returncode == 1 and "deliberation" in refused.stderr and not (tmp_path / "x").exists()

    out = tmp_path / "extract"
    done = run(
        home, "extract", "--deliberation", "24/017", "--variables", "region,sex", "--out", str(out), *common
    )
    assert done.returncode == 0, done.stderr
    assert "3 rows, 3 persons" in done.stdout and "sex: *" in done.stdout
    dictionary = json.loads((out / "dictionary.json").read_text())
    assert dictionary["generalisation"] == {"geography": "region", "sex": "*"}
