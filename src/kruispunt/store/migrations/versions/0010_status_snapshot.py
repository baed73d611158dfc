"""GSS buffer: a columnar snapshot of the current periods, exact as of a mutation sequence number.

Revision ID: 0010
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "status_snapshot",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("upto_seq", sa.BigInteger, nullable=False),
        sa.Column("periods", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("status_snapshot")
