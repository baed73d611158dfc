"""Register tables. Periods are inclusive: ``valid_to`` is the last day, NULL while still running."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
)

from kruispunt.store import ID, metadata

person = Table(
    "person",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("last_name", String(200), nullable=False),
    Column("first_name", String(200), nullable=False),
    Column("birth_date", Date, nullable=True),
    Column("sex", String(1), nullable=True),
    Column("death_date", Date, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

person_number = Table(
    "person_number",
    metadata,
    Column("insz", String(11), primary_key=True),
    Column("person_id", ID, ForeignKey("person.id"), nullable=False),
    Column("kind", String(3), nullable=False),
    Column("assigned_at", DateTime, nullable=False),
    Column("replaced_at", DateTime, nullable=True),
    CheckConstraint("kind in ('nr', 'bis')", name="kind"),
    Index("ix_person_number_person", "person_id"),
)

address = Table(
    "address",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("person_id", ID, ForeignKey("person.id"), nullable=False),
    Column("municipality_nis", String(5), nullable=False),
    Column("postal_code", String(4), nullable=True),
    Column("street", String(200), nullable=True),
    Column("house_number", String(20), nullable=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Index("ix_address_person", "person_id", "valid_from"),
    Index("ix_address_municipality", "municipality_nis"),
)

household_membership = Table(
    "household_membership",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("household_id", String(40), nullable=False),
    Column("person_id", ID, ForeignKey("person.id"), nullable=False),
    Column("role", String(10), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    CheckConstraint("role in ('head', 'partner', 'child', 'other')", name="role"),
    Index("ix_household_membership_person", "person_id", "valid_from"),
    Index("ix_household_membership_household", "household_id"),
)

register_load = Table(
    "register_load",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
    Column("persons_added", BigInteger, nullable=False),
    Column("persons_changed", BigInteger, nullable=False),
)
