"""Small status files for the statuses tests, on top of a registered household."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select

from kruispunt.identity import NumberGenerator, load_register
from kruispunt.statuses import STATUS_COLUMNS, mutation_events
from kruispunt.store import metadata
from tests.factories import household, write_register


def registered_household(engine: Engine, tmp_path: Path, seed: int = 1) -> list[str]:
    """Register a couple with a child in Huy (61031); returns their INSZ numbers."""
    rows = household(NumberGenerator(seed))
    load_register(engine, write_register(tmp_path / f"register{seed}.csv", rows), as_of=date(2020, 1, 1))
    return [r["insz"] for r in rows]


def write_statuses(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """Rows as (insz, status, start_date, end_date, source)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(STATUS_COLUMNS)
        writer.writerows(rows)
    return path


def count(engine: Engine, table: str, *where: object) -> int:
    with engine.connect() as conn:
        statement = select(func.count()).select_from(metadata.tables[table])
        for condition in where:
            statement = statement.where(condition)  # type: ignore[arg-type]
        return int(conn.execute(statement).scalar_one())


def events(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    """(kind, subject, insz) of every status event, in sequence order."""
    with engine.connect() as conn:
        stream = mutation_events(conn, 0).subquery()
        rows = conn.execute(
            select(stream.c.kind, stream.c.subject, stream.c.insz)
            .where(stream.c.kind.like("status.%"))
            .order_by(stream.c.seq)
        ).all()
    return [(r.kind, r.subject, r.insz) for r in rows]
