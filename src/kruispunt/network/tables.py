"""Tables of the exchange hub: partners, credentials, deliberations, the reference directory, the audit log.

Periods are inclusive (``valid_to`` is the last day, NULL while running). The audit log is append-only and
hash-chained: ``audit_head`` holds the chain's last sequence number and hash (the row writers lock to keep
one chain across workers) and the anchor left by retention purges.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from kruispunt.store import ID, metadata

partner = Table(
    "partner",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("kbo", String(10), nullable=False, unique=True),
    Column("sector", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

partner_credential = Table(
    "partner_credential",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Index("ix_partner_credential_partner", "partner_id"),
)

deliberation = Table(
    "deliberation",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("decided_on", Date, nullable=False),
    Column("title", String(300), nullable=False),
    Column("service", String(40), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("fields", Text, nullable=False),
    Column("capacities", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_deliberation_service", "service", "purpose"),
)

deliberation_party = Table(
    "deliberation_party",
    metadata,
    Column("deliberation_id", ID, ForeignKey("deliberation.id"), primary_key=True),
    Column("partner_id", ID, ForeignKey("partner.id"), primary_key=True),
    Index("ix_deliberation_party_partner", "partner_id"),
)

integration = Table(
    "integration",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("person_id", ID, ForeignKey("person.id"), nullable=False),
    Column("insz", String(11), nullable=False),
    Column("sector", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("registered_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period"),
    Index("ix_integration_partner_person", "partner_id", "person_id"),
    Index("ix_integration_person", "person_id"),
)

provider_route = Table(
    "provider_route",
    metadata,
    Column("service", String(40), primary_key=True),
    Column("base_url", String(500), nullable=False),
    Column("timeout_ms", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

audit_record = Table(
    "audit_record",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("partner_id", BigInteger, nullable=True),
    Column("requester", String(10), nullable=True),
    Column("message_id", String(100), nullable=True),
    Column("service", String(40), nullable=False),
    Column("insz", String(11), nullable=True),
    Column("person_id", BigInteger, nullable=True),
    Column("end_user", String(100), nullable=True),
    Column("case_reference", String(100), nullable=True),
    Column("purpose", String(60), nullable=True),
    Column("deliberation", String(20), nullable=True),
    Column("capacity", Integer, nullable=True),
    Column("outcome", String(10), nullable=False),
    Column("reason", String(40), nullable=True),
    Column("http_status", Integer, nullable=False),
    Column("provider", String(500), nullable=True),
    Column("hub_us", BigInteger, nullable=False),
    Column("provider_us", BigInteger, nullable=True),
    Column("request_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_record_person", "person_id"),
    Index("ix_audit_record_insz", "insz"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("anchor_seq", BigInteger, nullable=False),
    Column("anchor_hash", String(64), nullable=False),
)

exchange_reply = Table(
    "exchange_reply",
    metadata,
    Column("partner_id", ID, ForeignKey("partner.id"), primary_key=True),
    Column("message_id", String(100), primary_key=True),
    Column("request_digest", String(64), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("audit_seq", BigInteger, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_exchange_reply_recorded", "recorded_at"),
)

# One row (id 1): bumped by triggers (migration 0009) in every transaction that changes a deliberation, its
# parties or a provider route, so a hub knows its cached policy is stale from the statement it reads anyway.
hub_policy = Table(
    "hub_policy",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)
