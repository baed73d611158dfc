"""Alembic, driven from code: ``upgrade(engine)`` brings any database to the latest schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration up to ``revision``; a no-op on an up-to-date database.

    Each room's migrations form their own branch off ``0001`` (branch label = room name), so rooms evolve
    their tables independently; ``heads`` applies all branches.
    """
    command.upgrade(_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The applied revision(s), comma-separated when several room branches are applied."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ", ".join(sorted(heads)) or None
