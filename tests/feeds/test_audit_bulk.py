"""Bulk audit records chain exactly as the hub's own: any text, any timestamp, verified by verify_audit."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Engine

from kruispunt import network
from kruispunt.network import audit, feeds


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
