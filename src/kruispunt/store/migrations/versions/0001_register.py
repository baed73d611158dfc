"""Person register, identity numbers and the mutation outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "mutation_event",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("person_id", sa.BigInteger, nullable=True),
        sa.Column("insz", sa.String(11), nullable=True),
        sa.Column("subject", sa.String(40), nullable=True),
        sa.Column("effective_from", sa.Date, nullable=True),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_mutation_event_person", "mutation_event", ["person_id"])
    op.create_table(
        "person",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=True),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("death_date", sa.Date, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "person_number",
        sa.Column("insz", sa.String(11), primary_key=True),
        sa.Column("person_id", ID, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("kind", sa.String(3), nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
        sa.Column("replaced_at", sa.DateTime, nullable=True),
        sa.CheckConstraint("kind in ('nr', 'bis')", name="kind"),
    )
    op.create_index("ix_person_number_person", "person_number", ["person_id"])
    op.create_table(
        "address",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("person_id", ID, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("municipality_nis", sa.String(5), nullable=False),
        sa.Column("postal_code", sa.String(4), nullable=True),
        sa.Column("street", sa.String(200), nullable=True),
        sa.Column("house_number", sa.String(20), nullable=True),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
    )
    op.create_index("ix_address_person", "address", ["person_id", "valid_from"])
    op.create_index("ix_address_municipality", "address", ["municipality_nis"])
    op.create_table(
        "household_membership",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("household_id", sa.String(40), nullable=False),
        sa.Column("person_id", ID, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.CheckConstraint("role in ('head', 'partner', 'child', 'other')", name="role"),
    )
    op.create_index("ix_household_membership_person", "household_membership", ["person_id", "valid_from"])
    op.create_index("ix_household_membership_household", "household_membership", ["household_id"])
    op.create_table(
        "register_load",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        sa.Column("persons_added", sa.BigInteger, nullable=False),
        sa.Column("persons_changed", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "register_load",
        "household_membership",
        "address",
        "person_number",
        "person",
        "mutation_event",
    ):
        op.drop_table(table)
