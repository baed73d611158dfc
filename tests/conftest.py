"""Shared fixtures: a migrated database on SQLite and on a throwaway PostgreSQL cluster.

Tests that take the ``engine`` fixture run on both engines. The PostgreSQL cluster is started once per
test session with ``initdb`` and ``pg_ctl`` on a temporary socket directory (as the ``postgres`` user when
the tests run as root, since PostgreSQL refuses root) and stopped at the end; each test gets a fresh
database. Where no server binaries exist, the PostgreSQL variants skip and say why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from tests.pgcluster import PostgresCluster, find_postgres_binaries

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    binaries = find_postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql")
    with PostgresCluster.temporary(binaries) as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kruispunt.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{next(_counter)}")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    app = bootstrap(settings)
    yield app.engine
    app.engine.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")
