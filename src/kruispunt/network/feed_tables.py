"""Tables of mutation feeds, webhooks, municipal subscriptions and batch jobs (migration 0007).

A partner's feed is a list of entries with stable, increasing ids (``feed_entry.id``): the pull cursor and
the receiver's deduplication key. ``feed_dispatch`` holds how far the mutation outbox has been fanned out;
``feed_cursor`` what each partner acknowledged; ``webhook`` how far each push endpoint got. A batch job
keeps its parsed input and every finished chunk's result in the database, so a job survives a restart.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from kruispunt.store import ID, metadata

feed_subscription = Table(
    "feed_subscription",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("partner_id", "kind", "purpose", name="uq_feed_subscription"),
)

municipal_subscription = Table(
    "municipal_subscription",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("municipality_nis", String(5), nullable=False),
    Column("statuses", Text, nullable=False),
    Column("regulation", String(300), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("deliberation", String(20), nullable=False),
    Column("reference_date", Date, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Index("ix_municipal_subscription_partner", "partner_id"),
)

feed_entry = Table(
    "feed_entry",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("person_id", BigInteger, nullable=True),
    Column("insz", String(11), nullable=True),
    Column("subject", String(40), nullable=True),
    Column("effective_from", Date, nullable=True),
    Column("effective_to", Date, nullable=True),
    Column("detail", Text, nullable=True),
    Column("capacity", Integer, nullable=True),
    Column("deliberation", String(20), nullable=False),
    Column("basis", String(40), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("partner_id", "event_seq", name="uq_feed_entry_event"),
    Index("ix_feed_entry_partner", "partner_id", "id"),
)

feed_cursor = Table(
    "feed_cursor",
    metadata,
    Column("partner_id", ID, ForeignKey("partner.id"), primary_key=True),
    Column("acked_id", BigInteger, nullable=False),
    Column("acked_at", DateTime, nullable=False),
)

feed_dispatch = Table(
    "feed_dispatch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_event_seq", BigInteger, nullable=False),
    Column("dispatched_at", DateTime, nullable=True),
)

webhook = Table(
    "webhook",
    metadata,
    Column("partner_id", ID, ForeignKey("partner.id"), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(64), nullable=False),
    Column("pushed_id", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("first_entry", BigInteger, nullable=False),
    Column("last_entry", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", DateTime, nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("outcome", String(12), nullable=False),
    Column("error", String(300), nullable=True),
    Index("ix_webhook_delivery_partner", "partner_id", "id"),
)

webhook_dead_letter = Table(
    "webhook_dead_letter",
    metadata,
    Column("partner_id", ID, ForeignKey("partner.id"), primary_key=True),
    Column("entry_id", BigInteger, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(300), nullable=True),
    Column("dead_at", DateTime, nullable=False),
)

batch_job = Table(
    "batch_job",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("message_id", String(100), nullable=False),
    Column("service", String(40), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("end_user", String(100), nullable=False),
    Column("case_reference", String(100), nullable=False),
    Column("deliberation", String(20), nullable=False),
    Column("at", Date, nullable=False),
    Column("state", String(12), nullable=False),
    Column("parts", Integer, nullable=False),
    Column("input", LargeBinary, nullable=True),
    Column("lines_total", Integer, nullable=False),
    Column("chunk_lines", Integer, nullable=False),
    Column("chunks_total", Integer, nullable=False),
    Column("chunks_done", Integer, nullable=False),
    Column("lines_done", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("error", String(500), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("heartbeat_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    UniqueConstraint("partner_id", "message_id", name="uq_batch_job_message"),
    Index("ix_batch_job_state", "state"),
)

batch_part = Table(
    "batch_part",
    metadata,
    Column("job_id", ID, ForeignKey("batch_job.id"), primary_key=True),
    Column("part_no", Integer, primary_key=True, autoincrement=False),
    Column("body", LargeBinary, nullable=False),
    Column("digest", String(64), nullable=False),
)

batch_chunk = Table(
    "batch_chunk",
    metadata,
    Column("job_id", ID, ForeignKey("batch_job.id"), primary_key=True),
    Column("chunk_no", Integer, primary_key=True, autoincrement=False),
    Column("lines", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("result", LargeBinary, nullable=False),
    Column("rejects", LargeBinary, nullable=False),
    Column("audit_first", BigInteger, nullable=True),
    Column("audit_last", BigInteger, nullable=True),
    Column("done_at", DateTime, nullable=False),
)
