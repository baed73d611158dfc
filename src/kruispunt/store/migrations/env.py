"""Alembic environment: runs on the engine handed over by ``kruispunt.store.migrate``."""

from alembic import context

from kruispunt.store.metadata import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
