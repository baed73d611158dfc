"""SOAP connector: SSDN clients (OrgUnit, MatrixID) mapped to partners, with allowed networks.

Revision ID: 0008
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = ("soap",)
depends_on = ("0004",)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "soap_client",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("org_unit", sa.String(20), nullable=False),
        sa.Column("matrix_id", sa.Integer, nullable=False),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("credential_id", ID, sa.ForeignKey("partner_credential.id"), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("networks", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("org_unit", "matrix_id", name="uq_soap_client"),
    )


def downgrade() -> None:
    op.drop_table("soap_client")
