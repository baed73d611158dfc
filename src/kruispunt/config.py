"""Settings, read once from the environment (prefix ``KRUISPUNT_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where kruispunt keeps its state and how it behaves.

    ``KRUISPUNT_HOME`` holds the embedded SQLite database and local files; ``KRUISPUNT_DATABASE_URL``
    switches to a server database (``postgresql+psycopg://user@host/db``).
    """

    model_config = SettingsConfigDict(env_prefix="KRUISPUNT_", extra="ignore")

    home: Path = Path(".kruispunt")
    database_url: str | None = None

    @property
    def effective_database_url(self) -> str:
        """The configured server URL, or the embedded SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'kruispunt.sqlite3').resolve()}"
