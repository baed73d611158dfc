"""GSS buffer: the columnar snapshot is stored without PostgreSQL's own compression.

The snapshot is already an LZ4-compressed Arrow IPC file; PostgreSQL would try to compress it again
(pglz) before moving it out of line, which took two thirds of the time of writing it (2.7 s of a 38 MB
snapshot, 0.9 s without). SQLite has no such step.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE status_snapshot ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE status_snapshot ALTER COLUMN data SET STORAGE EXTENDED")
