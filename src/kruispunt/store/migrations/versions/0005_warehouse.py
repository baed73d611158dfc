"""Warehouse: research projects (key metadata) and the research extract log.

Revision ID: 0005
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("warehouse",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "dwh_project",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("destroyed_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "dwh_extract",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("deliberation", sa.String(40), nullable=False),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("rows", sa.BigInteger, nullable=True),
        sa.Column("persons", sa.BigInteger, nullable=True),
        sa.Column("k_requested", sa.Integer, nullable=False),
        sa.Column("k_achieved", sa.Integer, nullable=True),
        sa.Column("generalisation", sa.Text, nullable=True),
        sa.Column("directory", sa.Text, nullable=True),
        sa.Column("files", sa.Text, nullable=True),
        sa.CheckConstraint("status in ('written', 'refused')", name="status"),
    )
    op.create_index("ix_dwh_extract_project", "dwh_extract", ["project", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_dwh_extract_project", table_name="dwh_extract")
    op.drop_table("dwh_extract")
    op.drop_table("dwh_project")
