"""GSS buffer: bitemporal status periods and the log of status loads.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("statuses",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "status_load",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(5), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("rejected", sa.BigInteger, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        sa.Column("periods_added", sa.BigInteger, nullable=False),
        sa.Column("periods_superseded", sa.BigInteger, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "status_period",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("superseded_at", sa.DateTime, nullable=True),
        sa.Column("load_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_status_period_person", "status_period", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_status_period_person", table_name="status_period")
    op.drop_table("status_period")
    op.drop_table("status_load")
