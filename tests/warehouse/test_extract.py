"""Research extracts: k-anonymity (checked with pycanon), project pseudonyms, dictionary, the log."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from pycanon import anonymity
from sqlalchemy import Engine

from kruispunt import warehouse
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings

QI = ["sex", "age_band", "municipality", "household_type"]


@pytest.fixture
def sqlite_engine(sqlite_settings: Settings) -> Iterator[Engine]:
    app = bootstrap(sqlite_settings)
    yield app.engine
    app.engine.dispose()


@pytest.fixture
def home(built_home: Path, tmp_path: Path) -> Path:
    """A private copy of the built warehouse, so each test has its own keys."""
    copy = tmp_path / "home"
    shutil.copytree(built_home / "warehouse", copy / "warehouse")
    shutil.copytree(built_home / "keys", copy / "keys")
    return copy


def ask(**changes: object) -> warehouse.ExtractRequest:
    base: dict[str, object] = {
        "deliberation": "20/248",
        "project": "covid-premium",
        "requester": "University of Liège, social policy unit",
        "variables": (*QI, "position", "has_leefloon"),
        "quarters": "2024Q3:2024Q4",
        "purpose": "take-up of the Covid premium",
    }
    return warehouse.ExtractRequest(**{**base, **changes})  # type: ignore[arg-type]


def test_extract_round_trips_with_its_dictionary_and_is_k_anonymous(
    engine: Engine, home: Path, tmp_path: Path
) -> None:
    report = warehouse.extract(engine, home, ask(), tmp_path / "out")
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert files == {"extract.parquet", "extract.csv", "dictionary.json"}
    parquet = pl.read_parquet(tmp_path / "out" / "extract.parquet")
    csv = pl.read_csv(tmp_path / "out" / "extract.csv", schema=parquet.schema)
    assert parquet.equals(csv) and parquet.height == report.rows
    dictionary = json.loads((tmp_path / "out" / "dictionary.json").read_text())
    assert [c["name"] for c in dictionary["columns"]] == parquet.columns
    assert {c["name"]: c["type"] for c in dictionary["columns"]} == {
        n: str(t) for n, t in parquet.schema.items()
    }
    assert dictionary["request"]["deliberation"] == "20/248" and dictionary["k"] == 5
    # Municipality was too fine for k = 5 on 30,000 persons; the extract says how far it went.
    assert report.levels["geography"] != "municipality"
    quasi = [c for c in parquet.columns if c not in ("person", "quarter", "position", "has_leefloon")]
    for quarter in ("2024Q3", "2024Q4"):
        one = parquet.filter(pl.col("quarter") == quarter).to_pandas()
        assert anonymity.k_anonymity(one, quasi) >= 5
    assert report.k_achieved >= 5
    assert parquet["person"].str.len_chars().unique().to_list() == [64]
    assert "pid" not in parquet.columns


def test_project_pseudonyms_link_within_a_project_only(engine: Engine, home: Path, tmp_path: Path) -> None:
    first = warehouse.extract(engine, home, ask(variables=("region",)), tmp_path / "a")
    again = warehouse.extract(engine, home, ask(variables=("region",)), tmp_path / "b")
    other = warehouse.extract(engine, home, ask(variables=("region",), project="other-study"), tmp_path / "c")
    a, b, c = (pl.read_parquet(r.directory / "extract.parquet") for r in (first, again, other))
    assert a["person"].sort().equals(b["person"].sort())
    assert not set(a["person"].to_list()) & set(c["person"].to_list())
    # Destroying the key ends the project: no further extract can be linked to the earlier ones.
    warehouse.destroy_project(engine, home, "covid-premium")
    assert not (home / "keys" / "projects" / "covid-premium.key").exists()
    with pytest.raises(warehouse.ExtractRefused, match="was destroyed"):
        warehouse.extract(engine, home, ask(variables=("region",)), tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_every_extract_is_logged_with_its_request(engine: Engine, home: Path, tmp_path: Path) -> None:
    warehouse.extract(engine, home, ask(variables=("region", "position")), tmp_path / "ok")
    with pytest.raises(warehouse.ExtractRefused, match="fewer than 5 persons"):
        warehouse.extract(engine, home, ask(generalise=False), tmp_path / "strict")
    assert not (tmp_path / "strict").exists()
    log = warehouse.extract_log(engine)
    assert log["status"].to_list() == ["refused", "written"]
    written = log.row(1, named=True)
    assert json.loads(written["request"])["variables"] == ["region", "position"]
    assert written["deliberation"] == "20/248" and written["k_achieved"] >= 5
    assert set(json.loads(written["files"])) == {"extract.parquet", "extract.csv", "dictionary.json"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deliberation": ""}, "needs the number of the deliberation"),
        ({"deliberation": "please"}, "is not a deliberation number"),
        ({"variables": ("insz",)}, "unknown variable"),
        ({"variables": ("municipality", "region")}, "one level of geography"),
        ({"quarters": "2019Q1"}, "2019Q1 are not in the warehouse"),
        ({"filters": {"colour": ("red",)}}, "unknown filter dimension"),
        ({"project": "Bad Name!"}, "project name"),
    ],
)
def test_invalid_requests_change_nothing(
    sqlite_engine: Engine, home: Path, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    engine = sqlite_engine
    with pytest.raises(warehouse.WarehouseError, match=message):
        warehouse.extract(engine, home, ask(**changes), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert warehouse.extract_log(engine).is_empty()
    assert not (home / "keys" / "projects").exists()
