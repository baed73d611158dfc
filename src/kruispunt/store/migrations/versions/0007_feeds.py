"""Mutation feeds and batch exchange: subscriptions, feed entries and cursors, webhooks, batch jobs.

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = ("feeds",)
depends_on = ("0004",)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "feed_subscription",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("partner_id", "kind", "purpose", name="uq_feed_subscription"),
    )
    op.create_table(
        "municipal_subscription",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("municipality_nis", sa.String(5), nullable=False),
        sa.Column("statuses", sa.Text, nullable=False),
        sa.Column("regulation", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("deliberation", sa.String(20), nullable=False),
        sa.Column("reference_date", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_municipal_subscription_partner", "municipal_subscription", ["partner_id"])
    op.create_table(
        "feed_entry",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("event_seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("person_id", sa.BigInteger, nullable=True),
        sa.Column("insz", sa.String(11), nullable=True),
        sa.Column("subject", sa.String(40), nullable=True),
        sa.Column("effective_from", sa.Date, nullable=True),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("deliberation", sa.String(20), nullable=False),
        sa.Column("basis", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("partner_id", "event_seq", name="uq_feed_entry_event"),
    )
    op.create_index("ix_feed_entry_partner", "feed_entry", ["partner_id", "id"])
    op.create_table(
        "feed_cursor",
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), primary_key=True),
        sa.Column("acked_id", sa.BigInteger, nullable=False),
        sa.Column("acked_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "feed_dispatch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_event_seq", sa.BigInteger, nullable=False),
        sa.Column("dispatched_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "webhook",
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("pushed_id", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("first_entry", sa.BigInteger, nullable=False),
        sa.Column("last_entry", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("attempted_at", sa.DateTime, nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
    )
    op.create_index("ix_webhook_delivery_partner", "webhook_delivery", ["partner_id", "id"])
    op.create_table(
        "webhook_dead_letter",
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), primary_key=True),
        sa.Column("entry_id", sa.BigInteger, primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("dead_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "batch_job",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("partner_id", ID, sa.ForeignKey("partner.id"), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("end_user", sa.String(100), nullable=False),
        sa.Column("case_reference", sa.String(100), nullable=False),
        sa.Column("deliberation", sa.String(20), nullable=False),
        sa.Column("at", sa.Date, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("input", sa.LargeBinary, nullable=True),
        sa.Column("lines_total", sa.Integer, nullable=False),
        sa.Column("chunk_lines", sa.Integer, nullable=False),
        sa.Column("chunks_total", sa.Integer, nullable=False),
        sa.Column("chunks_done", sa.Integer, nullable=False),
        sa.Column("lines_done", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("partner_id", "message_id", name="uq_batch_job_message"),
    )
    op.create_index("ix_batch_job_state", "batch_job", ["state"])
    op.create_table(
        "batch_part",
        sa.Column("job_id", ID, sa.ForeignKey("batch_job.id"), primary_key=True),
        sa.Column("part_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "batch_chunk",
        sa.Column("job_id", ID, sa.ForeignKey("batch_job.id"), primary_key=True),
        sa.Column("chunk_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("result", sa.LargeBinary, nullable=False),
        sa.Column("rejects", sa.LargeBinary, nullable=False),
        sa.Column("audit_first", sa.BigInteger, nullable=True),
        sa.Column("audit_last", sa.BigInteger, nullable=True),
        sa.Column("done_at", sa.DateTime, nullable=False),
    )
    op.bulk_insert(
        sa.table("feed_dispatch", sa.column("id", sa.Integer), sa.column("last_event_seq", sa.BigInteger)),
        [{"id": 1, "last_event_seq": 0}],
    )


def downgrade() -> None:
    for name in (
        "batch_chunk",
        "batch_part",
        "batch_job",
        "webhook_dead_letter",
        "webhook_delivery",
        "webhook",
        "feed_dispatch",
        "feed_cursor",
        "feed_entry",
        "municipal_subscription",
        "feed_subscription",
    ):
        op.drop_table(name)
