"""Warehouse room: pseudonymised person-quarter facts, disclosure-controlled tables, research extracts.

Public API:

- :func:`build` derives the facts of a range of quarters from the register and the GSS statuses and
  writes them as Parquet under ``KRUISPUNT_HOME/warehouse/`` (:func:`build_from_sources` does the same
  from frames); :func:`built_quarters` lists what is there;
- :func:`table` answers a cross-tabulation with suppression and optional rounding
  (:class:`ProtectedTable`); :func:`standard_tables` gives the "global figures" by municipality;
- :func:`extract` writes a k-anonymous research extract with project pseudonyms and a data dictionary,
  logged with its request (:func:`extract_log`); :func:`destroy_project` ends a project's linkability;
- :func:`protect` is the disclosure-control rule on a bare matrix of counts.

Errors: :class:`WarehouseError` (bad request), :class:`NotBuilt`, :class:`ExtractRefused`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from kruispunt.warehouse import build as _build
from kruispunt.warehouse import crosstab as _crosstab
from kruispunt.warehouse.build import BuildReport, build_from_sources, built_quarters, read_manifest
from kruispunt.warehouse.crosstab import ProtectedTable, TableRequest, standard_tables
from kruispunt.warehouse.dimensions import dimensions, positions
from kruispunt.warehouse.errors import ExtractRefused, NotBuilt, WarehouseError
from kruispunt.warehouse.extract import (
    ExtractReport,
    ExtractRequest,
    destroy_project,
    extract,
    extract_log,
    extract_variables,
)
from kruispunt.warehouse.facts import Sources
from kruispunt.warehouse.quarters import Quarter, quarter_range
from kruispunt.warehouse.suppression import Protection, protect

DEFAULT_QUARTERS = "2019Q1:2024Q4"


def build(engine: Engine, home: Path, quarters: str = DEFAULT_QUARTERS) -> BuildReport:
    """Build (or rebuild) the quarters ``quarters`` (``2019Q1:2024Q4`` or ``2024Q4``) of the warehouse."""
    return _build.build(engine, home, quarter_range(quarters))


def table(
    home: Path,
    *,
    rows: tuple[str, ...] | list[str],
    cols: str,
    quarter: str,
    filters: dict[str, tuple[str, ...]] | None = None,
    measure: str = "count",
    threshold: int = 10,
    rounding_base: int | None = None,
) -> ProtectedTable:
    """A protected table: counts by ``rows`` x ``cols`` over one quarter, suppressed and maybe rounded."""
    request = TableRequest(
        rows=tuple(rows),
        cols=cols,
        quarter=quarter,
        filters=dict(filters or {}),
        measure=measure,
        threshold=threshold,
        rounding_base=rounding_base,
    )
    return _crosstab.table(home, request)


__all__ = [
    "DEFAULT_QUARTERS",
    "BuildReport",
    "ExtractRefused",
    "ExtractReport",
    "ExtractRequest",
    "NotBuilt",
    "ProtectedTable",
    "Protection",
    "Quarter",
    "Sources",
    "TableRequest",
    "WarehouseError",
    "build",
    "build_from_sources",
    "built_quarters",
    "destroy_project",
    "dimensions",
    "extract",
    "extract_log",
    "extract_variables",
    "positions",
    "protect",
    "quarter_range",
    "read_manifest",
    "standard_tables",
    "table",
]
