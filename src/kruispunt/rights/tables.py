"""The grant ledger: append-only. A decision is never updated; a change is a withdrawal plus a new grant.

The state of a right for a beneficiary and period is the latest ledger row for (rule, person, period).
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Numeric,
    String,
    Table,
)

from kruispunt.store import ID, metadata

grant_run = Table(
    "right_grant_run",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("rule_id", String(80), nullable=False),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("scope_persons", BigInteger, nullable=True),
    Column("granted", BigInteger, nullable=False),
    Column("withdrawn", BigInteger, nullable=False),
    Column("last_event_seq", BigInteger, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    CheckConstraint("trigger in ('run', 'mutation')", name="trigger"),
)

grant_entry = Table(
    "right_grant",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, nullable=False),
    Column("rule_id", String(80), nullable=False),
    Column("action", String(8), nullable=False),
    Column("person_id", BigInteger, nullable=False),
    Column("insz", String(11), nullable=False),
    Column("household_id", String(40), nullable=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("ground", String(40), nullable=True),
    Column("amount", Numeric(12, 2), nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    CheckConstraint("action in ('grant', 'withdraw')", name="action"),
    Index("ix_right_grant_rule_person", "rule_id", "person_id", "period_start"),
    Index("ix_right_grant_run", "run_id"),
)
