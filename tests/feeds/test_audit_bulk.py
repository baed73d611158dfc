"""Bulk audit records chain exactly as the hub's own: any text, any timestamp, verified by verify_audit."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Engine, select

from kruispunt import network
from kruispunt.network import audit, feeds
from kruispunt.network.feeds import audit_bulk
from kruispunt.network.tables import audit_record


def test_bulk_records_verify_like_single_ones(engine: Engine) -> None:
    with engine.begin() as conn:
        audit.append(
            conn, [audit.AuditEntry(datetime(2024, 1, 1, 9, 0, 0), "statuses", "answered", 200, "d", 5)]
        )
    frame = pl.DataFrame(
        {
            "recorded_at": [datetime(2024, 1, 1, 10, 0, 0), datetime(2024, 1, 1, 10, 0, 0, 1234)],
            "service": ["statuses", "statuses"],
            "outcome": ["answered", "refused"],
            "http_status": [200, 403],
            "request_digest": ["a" * 64, "b" * 64],
            "hub_us": [3, 4],
            "end_user": ['sw "42" \\ back', "Müller ✓"],
            "case_reference": ["same", "same"],
            "reason": [None, "not_integrated"],
            "person_id": [None, 7],
        }
    )
    with engine.begin() as conn:
        first, last = feeds.append_audit_frame(conn, frame)
    assert (first, last) == (2, 3)
    check = network.verify_audit(engine)
    assert check.intact and check.records == 3, check
    if engine.dialect.name == "sqlite":  # stored as SQLAlchemy stores a DateTime: microseconds, 6 digits
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT recorded_at FROM audit_record WHERE seq = 3").scalar()
        assert stored == "2024-01-01 10:00:00.001234"


def test_constants_and_single_records_chain_too(engine: Engine) -> None:
    """Constants given apart (quotes and all) and a one-record frame (every column constant) verify."""
    one = pl.DataFrame(
        {
            "recorded_at": [datetime(2024, 2, 1, 8, 0, 0)],
            "service": ["mutations"],
            "outcome": ["answered"],
            "http_status": [200],
            "request_digest": ["c" * 64],
            "hub_us": [0],
        }
    )
    many = pl.DataFrame({"message_id": ["m-1", "m-2", "m-3"], "person_id": [1, None, 3]})
    constants = {
        "recorded_at": datetime(2024, 2, 1, 8, 0, 0, 5),
        "service": "statuses",
        "outcome": "answered",
        "http_status": 200,
        "request_digest": "d" * 64,
        "hub_us": 1,
        "end_user": "O'Brien'); DROP TABLE audit_record; --",
    }
    with engine.begin() as conn:
        assert feeds.append_audit_frame(conn, one) == (1, 1)
        assert audit_bulk.append_prepared(conn, audit_bulk.prepare(many, constants)) == (2, 4)
    check = network.verify_audit(engine)
    assert check.intact and check.records == 4, check
    with engine.connect() as conn:
        users = conn.execute(select(audit_record.c.end_user).order_by(audit_record.c.seq)).scalars().all()
    assert users == [None] + [constants["end_user"]] * 3
