"""The warehouse's database tables: research projects (key metadata, never the key) and the extract log."""

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Integer, String, Table, Text

from kruispunt.store import ID, metadata

dwh_project = Table(
    "dwh_project",
    metadata,
    Column("project", String(63), primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("destroyed_at", DateTime, nullable=True),
)

dwh_extract = Table(
    "dwh_extract",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("requested_at", DateTime, nullable=False),
    Column("deliberation", String(40), nullable=False),
    Column("project", String(63), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("request", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", Text, nullable=True),
    Column("rows", BigInteger, nullable=True),
    Column("persons", BigInteger, nullable=True),
    Column("k_requested", Integer, nullable=False),
    Column("k_achieved", Integer, nullable=True),
    Column("generalisation", Text, nullable=True),
    Column("directory", Text, nullable=True),
    Column("files", Text, nullable=True),
    CheckConstraint("status in ('written', 'refused')", name="status"),
    Index("ix_dwh_extract_project", "project", "requested_at"),
)
