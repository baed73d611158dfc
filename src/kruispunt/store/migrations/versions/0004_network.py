"""Exchange hub: partners, credentials, deliberations, reference directory, provider routes, audit log.

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("network",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kbo", sa.String(10), nullable=False, unique=True),
        sa.Column("sector", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "partner_credential",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_partner_credential_partner", "partner_credential", ["partner_id"])
    op.create_table(
        "deliberation",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("capacities", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_deliberation_service", "deliberation", ["service", "purpose"])
    op.create_table(
        "deliberation_party",
        sa.Column("deliberation_id", ID, sa.ForeignKey("deliberation.id"), primary_key=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), primary_key=True),
    )
    op.create_index("ix_deliberation_party_partner", "deliberation_party", ["partner_id"])
    op.create_table(
        "integration",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("person_id", ID, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("insz", sa.String(11), nullable=False),
        sa.Column("sector", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("registered_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period"),
    )
    op.create_index("ix_integration_partner_person", "integration", ["partner_id", "person_id"])
    op.create_index("ix_integration_person", "integration", ["person_id"])
    op.create_table(
        "provider_route",
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("timeout_ms", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("partner_id", sa.BigInteger, nullable=True),
        sa.Column("requester", sa.String(10), nullable=True),
        sa.Column("message_id", sa.String(100), nullable=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("insz", sa.String(11), nullable=True),
        sa.Column("person_id", sa.BigInteger, nullable=True),
        sa.Column("end_user", sa.String(100), nullable=True),
        sa.Column("case_reference", sa.String(100), nullable=True),
        sa.Column("purpose", sa.String(60), nullable=True),
        sa.Column("deliberation", sa.String(20), nullable=True),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(500), nullable=True),
        sa.Column("hub_us", sa.BigInteger, nullable=False),
        sa.Column("provider_us", sa.BigInteger, nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_record_person", "audit_record", ["person_id"])
    op.create_index("ix_audit_record_insz", "audit_record", ["insz"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger, nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS, "anchor_seq": 0, "anchor_hash": GENESIS}])
    op.create_table(
        "exchange_reply",
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), primary_key=True),
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_exchange_reply_recorded", "exchange_reply", ["recorded_at"])


def downgrade() -> None:
    for table in (
        "exchange_reply",
        "audit_head",
        "audit_record",
        "provider_route",
        "integration",
        "deliberation_party",
        "deliberation",
        "partner_credential",
        "partner",
    ):
        op.drop_table(table)
