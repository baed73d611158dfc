"""Protected tables over a built quarter: what is published, and the errors a user gets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kruispunt import warehouse
from kruispunt.warehouse.crosstab import TableRequest, check_request, count_frame
from kruispunt.warehouse.suppression import recomputable


def test_table_matches_the_facts_and_publishes_nothing_small(built_home: Path) -> None:
    result = warehouse.table(built_home, rows=["municipality"], cols="position", quarter="2024Q4")
    data = json.loads(result.to_json())
    published = [c["value"] for c in data["cells"] if c["flag"] is None]
    assert all(v == 0 or v >= 10 for v in published)
    assert any(c["flag"] == "x" and c["value"] is None for c in data["cells"])
    # Published cells equal the true counts; the grand total is the population of the quarter.
    manifest = warehouse.read_manifest(built_home)
    assert (
        result.cell(len(result.row_keys), len(result.col_keys)) == manifest["quarters"]["2024Q4"]["persons"]
    )
    truth = count_frame(check_request(built_home, result.request), result.request)
    for record in truth.iter_rows(named=True):
        i = result.row_keys.index((record["municipality"],))
        j = result.col_keys.index(record["position"])
        assert result.cell(i, j) in (None, record["n"])
    assert recomputable(result.suppressed) == []
    assert not (result.suppressed.sum(axis=0) == 1).any() and not (result.suppressed.sum(axis=1) == 1).any()


def test_same_query_same_answer_and_rounding(built_home: Path) -> None:
    ask = {"rows": ["region", "age_band"], "cols": "has_vt", "quarter": "2024Q4"}
    first, second = warehouse.table(built_home, **ask), warehouse.table(built_home, **ask)
    assert first.to_csv() == second.to_csv()
    rounded = warehouse.table(built_home, **ask, rounding_base=5)
    assert (rounded.values[~rounded.suppressed] % 5 == 0).all()
    assert (np.abs(rounded.values - first.values) <= 2).all()


def test_filters_restrict_the_population(built_home: Path) -> None:
    everyone = warehouse.table(built_home, rows=["sex"], cols="has_leefloon", quarter="2024Q4")
    holders = warehouse.table(
        built_home, rows=["sex"], cols="has_leefloon", quarter="2024Q4", filters={"has_leefloon": ("yes",)}
    )
    assert holders.col_keys == ["yes"]
    assert holders.cell(len(holders.row_keys), 0) == everyone.cell(len(everyone.row_keys), 1)


def test_outputs_mark_suppression(built_home: Path) -> None:
    result = warehouse.table(
        built_home, rows=["municipality"], cols="age_band", quarter="2024Q3", threshold=25
    )
    csv_text = result.to_csv()
    assert csv_text.splitlines()[0].startswith("municipality,0-14,") and ",x" in csv_text
    assert csv_text.splitlines()[-1].startswith("total,")
    assert '<td class="suppressed">x</td>' in result.to_html()


@pytest.mark.parametrize(
    ("ask", "message"),
    [
        ({"rows": ["colour"], "cols": "sex", "quarter": "2024Q4"}, "unknown row dimension 'colour'"),
        ({"rows": ["sex"], "cols": "shoe_size", "quarter": "2024Q4"}, "unknown column dimension 'shoe_size'"),
        (
            {"rows": ["sex"], "cols": "position", "quarter": "2024Q4", "filters": {"income": ("low",)}},
            "unknown filter dimension 'income'",
        ),
        (
            {"rows": ["sex"], "cols": "position", "quarter": "2024Q4", "filters": {"region": ("99999",)}},
            "filter region: unknown value",
        ),
        ({"rows": ["sex"], "cols": "position", "quarter": "2024Q4", "measure": "sum"}, "unknown measure"),
        ({"rows": ["sex"], "cols": "sex", "quarter": "2024Q4"}, "only once"),
        ({"rows": ["sex"], "cols": "position", "quarter": "2024Q7"}, "not a quarter"),
    ],
)
def test_bad_requests_get_clear_errors(built_home: Path, ask: dict[str, object], message: str) -> None:
    with pytest.raises(warehouse.WarehouseError, match=message):
        warehouse.table(built_home, **ask)  # type: ignore[arg-type]


def test_a_quarter_outside_the_built_range_is_refused(built_home: Path, tmp_path: Path) -> None:
    with pytest.raises(
        warehouse.NotBuilt, match=r"2019Q1 is not in the warehouse \(built: 2024Q3 to 2024Q4\)"
    ):
        warehouse.table(built_home, rows=["sex"], cols="position", quarter="2019Q1")
    with pytest.raises(warehouse.NotBuilt, match="is not built"):
        warehouse.table(tmp_path, rows=["sex"], cols="position", quarter="2024Q4")


def test_standard_tables_cover_every_status(built_home: Path) -> None:
    tables = warehouse.standard_tables(built_home, "2024Q4")
    assert {"position", "age", "sex", "household", "status_leefloon", "status_overbrugging"} <= set(tables)
    assert all(recomputable(t.suppressed) == [] for t in tables.values())


def test_table_request_dataclass_is_public() -> None:
    assert TableRequest(("sex",), "position", "2024Q4").threshold == 10
