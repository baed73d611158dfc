"""Disclosure-controlled tables over one quarter of the warehouse, counted by DuckDB.

A table crosses one or two row dimensions (two are flattened into one row per combination, without
subtotals) with one column dimension, counts persons, and publishes the cells with their margins after
primary and secondary suppression (see :mod:`kruispunt.warehouse.suppression`) and optional rounding.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from kruispunt import identity
from kruispunt.warehouse.build import partition_dir, read_manifest
from kruispunt.warehouse.dimensions import (
    AGE_BAND5_EDGES,
    AGE_BAND_EDGES,
    GEOGRAPHY,
    HOUSEHOLD_TYPES,
    UNKNOWN,
    band_labels,
    check_dimension,
    positions,
)
from kruispunt.warehouse.duck import query
from kruispunt.warehouse.errors import NotBuilt, WarehouseError
from kruispunt.warehouse.quarters import Quarter
from kruispunt.warehouse.suppression import Matrix, protect

SUPPRESSED = "x"
TOTAL = "total"
MEASURES = ("count",)


@dataclass(frozen=True)
class TableRequest:
    rows: tuple[str, ...]
    cols: str
    quarter: str
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    measure: str = "count"
    threshold: int = 10
    rounding_base: int | None = None


@dataclass(frozen=True)
class ProtectedTable:
    """A published table: keys, values with margins (last row and column), and which are suppressed."""

    request: TableRequest
    row_keys: list[tuple[str, ...]]
    col_keys: list[str]
    values: Matrix
    suppressed: np.ndarray[Any, np.dtype[np.bool_]]

    def cell(self, row: int, col: int) -> int | None:
        """The published value, None when suppressed."""
        return None if self.suppressed[row, col] else int(self.values[row, col])

    def to_csv(self) -> str:
        """Wide CSV: row dimensions, one column per column key, then the total; ``x`` marks suppression."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*self.request.rows, *self.col_keys, TOTAL])
        for index, key in enumerate([*self.row_keys, (TOTAL,) * len(self.request.rows)]):
            shown = [
                SUPPRESSED if (v := self.cell(index, j)) is None else v for j in range(len(self.col_keys) + 1)
            ]
            writer.writerow([*key, *shown])
        return buffer.getvalue()

    def to_json(self) -> str:
        """The table with its request and rules; suppressed cells have value null and flag ``x``."""
        rows = [*self.row_keys, (TOTAL,) * len(self.request.rows)]
        cells = [
            {
                "row": dict(zip(self.request.rows, key, strict=True)),
                self.request.cols: col,
                "value": self.cell(i, j),
                "flag": SUPPRESSED if self.suppressed[i, j] else None,
            }
            for i, key in enumerate(rows)
            for j, col in enumerate([*self.col_keys, TOTAL])
        ]
        return json.dumps(
            {
                "quarter": self.request.quarter,
                "rows": list(self.request.rows),
                "cols": self.request.cols,
                "measure": self.request.measure,
                "filters": {k: list(v) for k, v in self.request.filters.items()},
                "threshold": self.request.threshold,
                "rounding_base": self.request.rounding_base,
                "cells": cells,
            },
            ensure_ascii=False,
        )

    def to_html(self) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in [*self.request.rows, *self.col_keys, TOTAL])
        body = []
        for index, key in enumerate([*self.row_keys, (TOTAL,) * len(self.request.rows)]):
            cells = "".join(f"<th>{escape(k)}</th>" for k in key)
            for j in range(len(self.col_keys) + 1):
                value = self.cell(index, j)
                cells += '<td class="suppressed">x</td>' if value is None else f"<td>{value}</td>"
            body.append(f"<tr>{cells}</tr>")
        caption = escape(
            f"{self.request.measure} by {', '.join(self.request.rows)} and {self.request.cols}, "
            f"{self.request.quarter}; x = suppressed (fewer than {self.request.threshold} or "
            "to protect such a cell)"
        )
        rows = "".join(body)
        return (
            f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        )


def _domain(dimension: str) -> list[str] | None:
    """The fixed, ordered values of a dimension; None for geography (checked against the register)."""
    if dimension == "sex":
        return ["M", "F", UNKNOWN]
    if dimension == "age_band":
        return band_labels(AGE_BAND_EDGES)
    if dimension == "age_band5":
        return band_labels(AGE_BAND5_EDGES)
    if dimension == "household_type":
        return list(HOUSEHOLD_TYPES)
    if dimension == "position":
        return [p.code for p in positions()]
    if dimension.startswith("has_"):
        return ["no", "yes"]
    return None


def _geography_codes(dimension: str) -> set[str]:
    frame = identity.municipalities_frame()
    column = {
        "municipality": pl.col("municipality_nis"),
        "arrondissement": pl.col("arrondissement_nis"),
        "province": pl.coalesce("province_nis", "region_nis"),
        "region": pl.col("region_nis"),
    }[dimension]
    return {*frame.select(column).to_series().to_list(), UNKNOWN}


def check_filters(filters: dict[str, tuple[str, ...]]) -> None:
    """Every filter names a dimension and only values that dimension can take."""
    for dimension, values in filters.items():
        check_dimension(dimension, role="filter dimension")
        allowed = set(_domain(dimension) or _geography_codes(dimension))
        wrong = [v for v in values if v not in allowed]
        if wrong:
            shown = ", ".join(sorted(allowed)) if len(allowed) <= 30 else "NIS codes of the register"
            raise WarehouseError(f"filter {dimension}: unknown value(s) {', '.join(wrong)}; expected {shown}")


def check_request(home: Path, request: TableRequest) -> Path:
    """Validate a table request against the dimensions and the built quarters; the partition to read."""
    for name in request.rows:
        check_dimension(name, role="row dimension")
    check_dimension(request.cols, role="column dimension")
    if not 1 <= len(request.rows) <= 2:
        raise WarehouseError("give one or two row dimensions")
    if request.cols in request.rows or len(set(request.rows)) != len(request.rows):
        raise WarehouseError("a dimension may appear only once in a table")
    if request.measure not in MEASURES:
        raise WarehouseError(f"unknown measure {request.measure!r}; measures are: {', '.join(MEASURES)}")
    if request.threshold < 1 or (request.rounding_base is not None and request.rounding_base < 2):
        raise WarehouseError("the threshold must be at least 1 and the rounding base at least 2")
    check_filters(request.filters)
    quarter = str(Quarter.parse(request.quarter))
    built = list(read_manifest(home)["quarters"])
    if quarter not in built:
        span = f"{built[0]} to {built[-1]}" if built else "none"
        raise NotBuilt(f"quarter {quarter} is not in the warehouse (built: {span}); build it first")
    return partition_dir(home, quarter) / "facts.parquet"


def _select(dimension: str) -> str:
    if dimension.startswith("has_"):
        return f"CASE WHEN \"{dimension}\" THEN 'yes' ELSE 'no' END AS \"{dimension}\""
    return f'"{dimension}"'


def _where(filters: dict[str, tuple[str, ...]]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for dimension, values in filters.items():
        marks = ", ".join("?" for _ in values)
        if dimension.startswith("has_"):
            clauses.append(f'"{dimension}" IN ({marks})')
            params.extend(v == "yes" for v in values)
        else:
            clauses.append(f'"{dimension}" IN ({marks})')
            params.extend(values)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def count_frame(path: Path, request: TableRequest) -> pl.DataFrame:
    """Counts per combination present (dimension names validated before they reach the SQL)."""
    dims = [*request.rows, request.cols]
    where, params = _where(request.filters)
    sql = (
        f"SELECT {', '.join(_select(d) for d in dims)}, count(*) AS n "  # noqa: S608 (validated names)
        f"FROM read_parquet(?) {where} GROUP BY ALL"
    )
    return query(sql, [str(path), *params])


def _ordered(dimension: str, present: list[str]) -> list[str]:
    domain = _domain(dimension)
    if domain is None:
        return sorted(present, key=lambda v: (v == UNKNOWN, v))
    return [v for v in domain if v in set(present)] + sorted(set(present) - set(domain))


def table(home: Path, request: TableRequest) -> ProtectedTable:
    """The protected table for ``request``; WarehouseError or NotBuilt for a request it cannot answer."""
    path = check_request(home, request)
    counts = count_frame(path, request)
    col_keys = _ordered(request.cols, counts[request.cols].unique().to_list()) if counts.height else []
    row_keys: list[tuple[str, ...]]
    if len(request.rows) == 1:
        row_keys = [(v,) for v in _ordered(request.rows[0], counts[request.rows[0]].unique().to_list())]
    else:
        first = _ordered(request.rows[0], counts[request.rows[0]].unique().to_list())
        second = _ordered(request.rows[1], counts[request.rows[1]].unique().to_list())
        row_keys = [(a, b) for a in first for b in second]
    cells = np.zeros((len(row_keys), len(col_keys)), dtype=np.int64)
    row_index = {key: i for i, key in enumerate(row_keys)}
    col_index = {key: j for j, key in enumerate(col_keys)}
    for record in counts.iter_rows(named=True):
        key = tuple(record[d] for d in request.rows)
        cells[row_index[key], col_index[record[request.cols]]] = record["n"]
    result = protect(cells, threshold=request.threshold, rounding_base=request.rounding_base)
    return ProtectedTable(request, row_keys, col_keys, result.values, result.suppressed)


STANDARD_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "position": (("municipality",), "position"),
    "age": (("municipality",), "age_band"),
    "sex": (("municipality",), "sex"),
    "household": (("municipality",), "household_type"),
}


def standard_tables(
    home: Path, quarter: str, *, threshold: int = 10, rounding_base: int | None = None
) -> dict[str, ProtectedTable]:
    """The "global figures" by municipality: position, age band, sex and household type, and each status."""
    from kruispunt.warehouse.dimensions import flag_column, status_codes

    specs = dict(STANDARD_TABLES)
    specs.update({f"status_{s.lower()}": (("municipality",), flag_column(s)) for s in status_codes()})
    return {
        name: table(home, TableRequest(rows, cols, quarter, threshold=threshold, rounding_base=rounding_base))
        for name, (rows, cols) in specs.items()
    }


__all__ = ["GEOGRAPHY", "ProtectedTable", "TableRequest", "standard_tables", "table"]
