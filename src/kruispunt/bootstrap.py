"""Wire settings to an engine. Called by the CLI and the web app's lifespan, never at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from kruispunt.config import Settings
from kruispunt.store import create_engine_for, upgrade


@dataclass(frozen=True)
class App:
    """What every shell needs: the settings and a migrated database engine."""

    settings: Settings
    engine: Engine


def bootstrap(settings: Settings | None = None, *, migrate: bool = True) -> App:
    """Build the engine for ``settings`` and bring the schema up to date."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    return App(settings=settings, engine=engine)
