"""Research extracts: person-level, pseudonymised per project, k-anonymous, logged with their request.

A request names the deliberation that authorises it, the project, the variables, the population (filters)
and the period. Quasi-identifiers (age, geography, sex, household type) are generalised along fixed
hierarchies until every equivalence class (same quarter and same quasi-identifier values) holds at least
k persons; when that cannot be reached, or the request forbids further generalisation, the extract is
refused before anything is written. Equivalence classes are counted with Polars (one group-by per
candidate step, linear in the rows); the tests check the written extracts with pycanon as well.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, insert, select, update

from kruispunt.warehouse.build import partition_dir, read_manifest
from kruispunt.warehouse.crosstab import check_filters
from kruispunt.warehouse.dimensions import (
    AGE_BAND5_EDGES,
    AGE_BAND_EDGES,
    AGE_BROAD_EDGES,
    band_expr,
    flag_column,
    positions,
    status_codes,
)
from kruispunt.warehouse.duck import query
from kruispunt.warehouse.errors import ExtractRefused, NotBuilt, WarehouseError
from kruispunt.warehouse.keys import check_project_name, key_id, project_key, project_pseudonyms
from kruispunt.warehouse.quarters import quarter_range
from kruispunt.warehouse.tables import dwh_extract, dwh_project

GENERALISED = "*"
# Quasi-identifier families: the levels from finest to coarsest; the request picks the starting level.
HIERARCHIES: dict[str, tuple[str, ...]] = {
    "geography": ("municipality", "arrondissement", "province", "region", GENERALISED),
    "age": ("age", "age_band5", "age_band", "age_broad", GENERALISED),
    "household_type": ("household_type", GENERALISED),
    "sex": ("sex", GENERALISED),
}
_DELIBERATION = re.compile(r"^(?:[A-Z]+/)*\d{2}/\d{1,4}(?:/[A-Za-z0-9]{1,6})?$")  # as the network room


def extract_variables() -> tuple[str, ...]:
    """Variables an extract may ask for (the quarter and the project pseudonym always come along)."""
    levels = [level for chain in HIERARCHIES.values() for level in chain if level != GENERALISED]
    return (*levels, "position", *(flag_column(s) for s in status_codes()))


@dataclass(frozen=True)
class ExtractRequest:
    deliberation: str
    project: str
    requester: str
    variables: tuple[str, ...]
    quarters: str
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    purpose: str = ""
    k: int = 5
    generalise: bool = True


@dataclass(frozen=True)
class ExtractReport:
    extract_id: int
    directory: Path
    rows: int
    persons: int
    k_achieved: int
    levels: dict[str, str]
    files: dict[str, str]


def _family(variable: str) -> str | None:
    return next((name for name, chain in HIERARCHIES.items() if variable in chain), None)


def validate(home: Path, request: ExtractRequest) -> dict[str, str]:
    """Check the request whole; the starting level of each quasi-identifier family asked for."""
    if not request.deliberation or not request.deliberation.strip():
        raise ExtractRefused("an extract needs the number of the deliberation that authorises it")
    if not _DELIBERATION.match(request.deliberation.strip()):
        raise ExtractRefused(
            f"deliberation {request.deliberation!r} is not a deliberation number "
            "(e.g. 20/248 or IVC/KSZG/20/248)"
        )
    check_project_name(request.project)
    if not request.requester.strip():
        raise WarehouseError("an extract needs the name of the requester")
    if request.k < 2:
        raise WarehouseError("k must be at least 2")
    allowed = extract_variables()
    unknown = [v for v in request.variables if v not in allowed]
    if unknown or not request.variables:
        raise WarehouseError(
            f"unknown variable(s) {', '.join(unknown) or '(none)'}; variables are: {', '.join(allowed)}"
        )
    levels: dict[str, str] = {}
    for variable in request.variables:
        family = _family(variable)
        if family in levels:
            raise WarehouseError(
                f"ask for one level of {family} only ({levels[family]} and {variable} given)"
            )
        if family:
            levels[family] = variable
    check_filters(request.filters)
    built = set(read_manifest(home)["quarters"])
    missing = [str(q) for q in quarter_range(request.quarters) if str(q) not in built]
    if missing:
        raise NotBuilt(f"quarter(s) {', '.join(missing)} are not in the warehouse; build them first")
    return levels


def _read(home: Path, request: ExtractRequest) -> pl.DataFrame:
    paths = [str(partition_dir(home, q) / "facts.parquet") for q in quarter_range(request.quarters)]
    clauses: list[str] = []
    params: list[Any] = []
    for dimension, values in request.filters.items():
        clauses.append(f'"{dimension}" IN ({", ".join("?" for _ in values)})')
        params.extend((v == "yes") if dimension.startswith("has_") else v for v in values)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT * FROM read_parquet(?, hive_partitioning = true){where}"  # noqa: S608 (validated names)
    return query(sql, [paths, *params]).with_columns(pl.col("quarter").cast(pl.String))


def _level_expr(level: str) -> pl.Expr:
    if level == GENERALISED:
        return pl.lit(GENERALISED)
    if level == "age":
        return pl.col("age").cast(pl.String).fill_null("unknown")
    if level == "age_broad":
        return band_expr(pl.col("age"), AGE_BROAD_EDGES)
    if level == "age_band5":
        return band_expr(pl.col("age"), AGE_BAND5_EDGES)
    if level == "age_band":
        return band_expr(pl.col("age"), AGE_BAND_EDGES)
    return pl.col(level)


def _violations(frame: pl.DataFrame, levels: dict[str, str], k: int) -> tuple[int, int]:
    """(rows in classes smaller than k, smallest class size) at ``levels``."""
    keys = [pl.col("quarter")] + [_level_expr(level).alias(f"_{family}") for family, level in levels.items()]
    sizes = frame.group_by(keys).agg(pl.len().alias("n"))["n"]
    smallest = sizes.min()
    return int(sizes.filter(sizes < k).sum()), int(smallest) if isinstance(smallest, int) else 0


def anonymise(
    frame: pl.DataFrame, start: dict[str, str], k: int, generalise: bool
) -> tuple[dict[str, str], int]:
    """Generalise greedily (the step that leaves fewest rows in small classes) until k-anonymous.

    Returns the levels reached and the smallest class size; raises ExtractRefused when k is out of reach
    or when ``generalise`` is false and the levels asked for are not k-anonymous.
    """
    if frame.is_empty():
        raise ExtractRefused("no person matches the population and period asked for")
    levels = dict(start)
    small, smallest = _violations(frame, levels, k)
    while small:
        if not generalise:
            raise ExtractRefused(
                f"{small} rows fall in classes of fewer than {k} persons at the levels asked for"
            )
        steps = []
        for order, (family, level) in enumerate(levels.items()):
            chain = HIERARCHIES[family]
            if level == GENERALISED:
                continue
            trial = {**levels, family: chain[chain.index(level) + 1]}
            steps.append((_violations(frame, trial, k)[0], order, trial))
        if not steps:
            raise ExtractRefused(f"fewer than {k} persons in the population of some quarter; k cannot be met")
        _, _, levels = min(steps, key=lambda s: (s[0], s[1]))
        small, smallest = _violations(frame, levels, k)
    return levels, smallest


def _dictionary(request: ExtractRequest, levels: dict[str, str], frame: pl.DataFrame) -> list[dict[str, Any]]:
    position_labels = {p.code: p.labels["en"] for p in positions()}
    described = {
        "person": "project pseudonym: HMAC-SHA256 of the warehouse pseudonym under this project's key",
        "quarter": "calendar quarter; the facts describe the situation on its last day",
        "position": "socio-economic position on the reference day (see docs/warehouse.md for the order)",
    }
    entries = []
    for column in frame.columns:
        family = _family(column) or next((f for f, lv in levels.items() if lv == column), None)
        entry: dict[str, Any] = {"name": column, "type": str(frame.schema[column])}
        if column in described:
            entry["description"] = described[column]
        elif column.startswith("has_"):
            entry["description"] = f"holds GSS status {column[4:].upper()} on the reference day"
        elif family:
            entry["description"] = f"{family}, generalised to level {column}"
            entry["requested_level"] = next((v for v in request.variables if _family(v) == family), None)
        if column == "position":
            entry["values"] = position_labels
        elif column not in ("person",) and frame[column].n_unique() <= 50:
            entry["values"] = sorted(str(v) for v in frame[column].unique().to_list())
        entries.append(entry)
    return entries


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _project_key(engine: Engine, home: Path, project: str) -> bytes:
    with engine.begin() as conn:
        row = conn.execute(select(dwh_project).where(dwh_project.c.project == project)).first()
        if row is not None and row.destroyed_at is not None:
            raise ExtractRefused(
                f"the key of project {project!r} was destroyed on {row.destroyed_at:%Y-%m-%d}; "
                "its pseudonyms can no longer be linked: open a new project"
            )
        key = project_key(home, project, create=row is None)
        if key is None:
            raise WarehouseError(
                f"the key file of project {project!r} is missing; the project cannot continue"
            )
        if row is None:
            conn.execute(insert(dwh_project).values(project=project, created_at=_now(), key_id=key_id(key)))
    return key


def _log(engine: Engine, request: ExtractRequest, **values: Any) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            insert(dwh_extract).values(
                requested_at=_now(),
                deliberation=request.deliberation.strip(),
                project=request.project,
                requester=request.requester,
                request=json.dumps(asdict(request), default=list),
                k_requested=request.k,
                **values,
            )
        )
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0])


def extract(engine: Engine, home: Path, request: ExtractRequest, out: Path) -> ExtractReport:
    """Write a k-anonymous extract to the new folder ``out``, or refuse; either way it is logged.

    An invalid request (no deliberation, unknown variable, quarter not built) raises before anything is
    logged or written.
    """
    start = validate(home, request)
    if out.exists() and any(out.iterdir()):
        raise WarehouseError(f"{out} already holds files; give a new folder for the extract")
    frame = _read(home, request)
    try:
        levels, smallest = anonymise(frame, start, request.k, request.generalise)
        key = _project_key(engine, home, request.project)
    except ExtractRefused as refused:
        refused.extract_id = _log(engine, request, status="refused", reason=str(refused), rows=frame.height)
        raise
    published = _publish(frame, request, levels, key)
    staging = out.with_name(f".{out.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        files = _write(staging, request, levels, smallest, published)
        extract_id = _log(
            engine,
            request,
            status="written",
            rows=published.height,
            persons=published["person"].n_unique(),
            k_achieved=smallest,
            generalisation=json.dumps(levels),
            directory=str(out),
            files=json.dumps(files),
        )
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExtractReport(
        extract_id, out, published.height, published["person"].n_unique(), smallest, levels, files
    )


def _publish(
    frame: pl.DataFrame, request: ExtractRequest, levels: dict[str, str], key: bytes
) -> pl.DataFrame:
    pids = frame["pid"].unique().sort()
    mapping = pl.DataFrame({"pid": pids, "person": project_pseudonyms(pids, key)})
    columns: list[pl.Expr] = [pl.col("person"), pl.col("quarter")]
    for variable in request.variables:
        family = _family(variable)
        if family is None:
            columns.append(pl.col(variable))
        else:
            level = levels[family]
            name = family if level == GENERALISED else level
            columns.append(_level_expr(level).alias(name))
    # Rows in a random-looking but key-determined order: the row order reveals nothing of the register.
    return frame.join(mapping, on="pid").select(columns).sort("quarter", "person")


def _write(
    folder: Path, request: ExtractRequest, levels: dict[str, str], smallest: int, published: pl.DataFrame
) -> dict[str, str]:
    folder.mkdir(parents=True)
    published.write_parquet(folder / "extract.parquet")
    published.write_csv(folder / "extract.csv")
    dictionary = {
        "request": {**asdict(request), "filters": {k: list(v) for k, v in request.filters.items()}},
        "k": request.k,
        "smallest_class": smallest,
        "generalisation": levels,
        "rows": published.height,
        "columns": _dictionary(request, levels, published),
    }
    (folder / "dictionary.json").write_text(json.dumps(dictionary, indent=2, ensure_ascii=False), "utf-8")
    return {p.name: _sha256(p) for p in sorted(folder.iterdir())}


def destroy_project(engine: Engine, home: Path, project: str) -> bool:
    """Destroy the project's key and record it: its pseudonyms can never be computed again."""
    from kruispunt.warehouse.keys import destroy_project_key

    check_project_name(project)
    with engine.begin() as conn:
        row = conn.execute(select(dwh_project).where(dwh_project.c.project == project)).first()
        if row is None:
            raise WarehouseError(f"no research project {project!r}")
        destroyed = destroy_project_key(home, project)
        if row.destroyed_at is None:
            conn.execute(
                update(dwh_project).where(dwh_project.c.project == project).values(destroyed_at=_now())
            )
    return destroyed


def extract_log(engine: Engine) -> pl.DataFrame:
    """Every extract request with its outcome, newest first."""
    from kruispunt.store import read_frame

    return read_frame(engine, select(dwh_extract).order_by(dwh_extract.c.id.desc()))
