"""End-to-end through the installed ``kruispunt`` command, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kruispunt.identity import NumberGenerator
from tests.factories import household, write_register


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KRUISPUNT_HOME": str(home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kruispunt", *args], capture_output=True, text=True, env=env, check=False
    )


def test_id_check_json_contract(tmp_path: Path) -> None:
    result = run(tmp_path, "id", "check", "--json", "93.05.18-223.61", "BE 0566.988.259", "93051822362")
    assert result.returncode == 1
    answers = json.loads(result.stdout)
    assert [a["input"] for a in answers] == ["93.05.18-223.61", "BE 0566.988.259", "93051822362"]
    assert answers[0] | {"formatted": None} == {
        "input": "93.05.18-223.61",
        "valid": True,
        "kind": "nr",
        "birth_date": "1993-05-18",
        "sex": "M",
        "error": None,
        "formatted": None,
    }
    assert answers[1]["kind"] == "kbo" and answers[1]["birth_date"] is None and answers[1]["sex"] is None
    assert (
        answers[2]["valid"] is False and answers[2]["kind"] is None and "check digits" in answers[2]["error"]
    )


def test_id_check_exit_zero_when_all_valid_and_table_without_json(tmp_path: Path) -> None:
    result = run(tmp_path, "id", "check", "93051822361")
    assert result.returncode == 0 and "93.05.18-223.61" in result.stdout


def test_register_load_show_and_rejection(tmp_path: Path) -> None:
    rows = household(NumberGenerator(11))
    good = write_register(tmp_path / "register.csv", rows)
    loaded = run(tmp_path / "home", "register", "load", str(good), "--as-of", "2024-01-01")
    assert loaded.returncode == 0, loaded.stderr
    assert "3 persons added" in loaded.stdout
    again = run(tmp_path / "home", "register", "load", str(good), "--as-of", "2024-01-01")
    assert "nothing changed" in again.stdout
    shown = run(tmp_path / "home", "register", "show", rows[1]["insz"], "--json")
    assert json.loads(shown.stdout)["first_name"] == "Els"
    bad_rows = [dict(rows[0], birth_date="1975-13-01")]
    bad = run(
        tmp_path / "home",
        "register",
        "load",
        str(write_register(tmp_path / "bad.csv", bad_rows)),
        "--report",
        str(tmp_path / "report.csv"),
    )
    assert bad.returncode == 1
    assert "bad.csv, line 2, field birth_date" in bad.stderr and "nothing was written" in bad.stderr
    assert "birth_date" in (tmp_path / "report.csv").read_text()
