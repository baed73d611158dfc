"""Derived rights: the append-only grant ledger and its runs.

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("rights",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "right_grant_run",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.String(80), nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("scope_persons", sa.BigInteger, nullable=True),
        sa.Column("granted", sa.BigInteger, nullable=False),
        sa.Column("withdrawn", sa.BigInteger, nullable=False),
        sa.Column("last_event_seq", sa.BigInteger, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("trigger in ('run', 'mutation')", name="trigger"),
    )
    op.create_table(
        "right_grant",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.BigInteger, nullable=False),
        sa.Column("rule_id", sa.String(80), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column("insz", sa.String(11), nullable=False),
        sa.Column("household_id", sa.String(40), nullable=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("ground", sa.String(40), nullable=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("action in ('grant', 'withdraw')", name="action"),
    )
    op.create_index("ix_right_grant_rule_person", "right_grant", ["rule_id", "person_id", "period_start"])
    op.create_index("ix_right_grant_run", "right_grant", ["run_id"])


def downgrade() -> None:
    op.drop_table("right_grant")
    op.drop_table("right_grant_run")
