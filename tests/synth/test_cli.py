"""``kruispunt synth`` end to end, as a user runs it: files, manifest, defects caught by the loaders."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kruispunt import identity
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.feeds import FeedRejected
from kruispunt.identity import REGISTER_COLUMNS
from kruispunt.synth import STATUS_COLUMNS, SynthError, generate


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KRUISPUNT_HOME": str(home)}
    env.pop("KRUISPUNT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kruispunt", *args], capture_output=True, text=True, env=env, check=False
    )


def test_synth_writes_csv_feeds_and_a_manifest_that_describes_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        tmp_path, "synth", "--municipalities", "64065", "--seed", "3", "--format", "csv", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "persons in" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["municipalities"] == ["64065"] and manifest["format"] == "csv"
    assert 6_500 <= manifest["persons"] <= 7_500  # Saint-Georges-sur-Meuse, about 7,000 inhabitants
    for name, columns in (("register.csv", REGISTER_COLUMNS), ("statuses.csv", STATUS_COLUMNS)):
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest["files"][name]["sha256"]
        rows = list(csv.reader(data.decode().splitlines()))
        assert tuple(rows[0]) == columns
        assert len(rows) - 1 == manifest["files"][name]["rows"]
    loaded = run(tmp_path / "home", "register", "load", str(out / "register.csv"), "--as-of", "2025-01-01")
    assert loaded.returncode == 0, loaded.stderr
    assert f"{manifest['persons']} persons added" in loaded.stdout


def test_defects_are_caught_by_the_loaders_with_file_line_and_field(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    out = tmp_path / "damaged"
    generate(None, 4, ["64065"], "csv", out, defects=0.01)
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["defects.register.bad_check_digits"] > 0
    assert counts["defects.statuses.unknown_status_code"] > 0
    assert counts["defects.statuses.overlapping_period"] > 0
    app = bootstrap(sqlite_settings)
    try:
        with pytest.raises(FeedRejected) as rejected:
            identity.load_register(app.engine, out / "register.csv")
        assert len(rejected.value.errors) >= counts["defects.register.bad_check_digits"]
        first = rejected.value.errors[0]
        assert first.file.endswith("register.csv") and first.line is not None and first.field == "insz"
        assert identity.register_counts(app.engine)["persons"] == 0  # a rejected file changes nothing
    finally:
        app.engine.dispose()


def test_clear_errors_for_impossible_arguments(tmp_path: Path) -> None:
    unknown = run(tmp_path, "synth", "--municipalities", "99999", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 1 and "99999" in unknown.stderr
    with pytest.raises(SynthError, match="--persons"):
        generate(None, 1, out=tmp_path / "y")
    with pytest.raises(SynthError, match="parquet or csv"):
        generate(10, 1, fmt="xlsx", out=tmp_path / "z")  # type: ignore[arg-type]
    with pytest.raises(SynthError, match="rate between 0 and 1"):
        generate(10, 1, out=tmp_path / "z", defects=2.0)
    assert not (tmp_path / "y").exists() and not (tmp_path / "z").exists()
