"""Databases for benchmarks: a fresh SQLite home, or a throwaway PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kruispunt.config import Settings
from tests.pgcluster import PostgresCluster, find_postgres_binaries


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[Settings]:
    """Settings for a fresh ``sqlite`` home under ``workdir``, or a ``postgresql`` database of its own."""
    if kind == "sqlite":
        yield Settings(home=workdir / kind)
        return
    binaries = find_postgres_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server binaries found")
    with PostgresCluster.temporary(binaries) as cluster:
        yield Settings(home=workdir / kind, database_url=cluster.create_database("bench"))
