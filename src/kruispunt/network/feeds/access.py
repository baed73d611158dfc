"""Who is calling a feed or batch endpoint: the same credential and metadata checks as the hub's exchange.

Refusals are audited like the hub's own, so a rejected feed read or batch upload leaves a trace.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from kruispunt.network import audit
from kruispunt.network.hub import CallMeta, check_metadata
from kruispunt.network.partners import (
    CREDENTIAL_COLUMNS,
    Credential,
    check_not_revoked,
    check_token,
    now,
    required_token,
    token_hash,
)
from kruispunt.network.reasons import Refused
from kruispunt.network.tables import partner, partner_credential


@dataclass(frozen=True)
class Caller:
    """An authenticated partner and the metadata of its call."""

    partner_id: int
    kbo: str
    sector: int
    meta: CallMeta


def digest(*parts: Any) -> str:
    """SHA-256 of the JSON form of ``parts``: the audit log's request digest."""
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


def _credential(engine: Engine, token: str | None) -> tuple[Credential, datetime | None]:
    """The credential behind the call's token and when it was revoked (the same checks as the hub's)."""
    token = required_token(token)
    statement = (
        select(*CREDENTIAL_COLUMNS)
        .join(partner, partner.c.id == partner_credential.c.partner_id)
        .where(partner_credential.c.token_hash == token_hash(token))
    )
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    check_token(None if row is None else row.token_hash, token)
    assert row is not None
    return Credential(row.id, row.partner_id, row.kbo, row.sector, row.revoked_at is not None), row.revoked_at


def authenticate(engine: Engine, meta: CallMeta, service: str, *, full: bool = False) -> Caller:
    """The calling partner; a refusal is written to the audit log before it is raised."""
    found: Credential | None = None
    try:
        found, revoked_at = _credential(engine, meta.token)
        check_not_revoked(revoked_at)  # refused as the hub refuses it: on the partner's name in the log
        check_metadata(meta, full=full)
    except Refused as refusal:
        log_refusal(engine, meta, service, refusal, found)
        raise
    return Caller(found.partner_id, found.kbo, found.sector, meta)


def log_refusal(
    engine: Engine, meta: CallMeta, service: str, refusal: Refused, found: Credential | None = None
) -> int:
    """Chain one refused call onto the audit log; returns its sequence number."""
    entry = audit.AuditEntry(
        recorded_at=now(),
        service=service,
        outcome="refused",
        http_status=refusal.reason.http_status,
        request_digest=digest(service, meta.message_id, meta.end_user, meta.case_reference, meta.purpose),
        hub_us=0,
        partner_id=found.partner_id if found else None,
        requester=found.kbo if found else None,
        message_id=(meta.message_id or None) and meta.message_id[:100],
        end_user=(meta.end_user or None) and meta.end_user[:100],
        case_reference=(meta.case_reference or None) and meta.case_reference[:100],
        purpose=(meta.purpose or None) and meta.purpose[:60],
        reason=refusal.reason.value,
        provider="hub",
    )
    with engine.begin() as conn:
        return audit.append(conn, [entry])[0]


def as_partner(engine: Engine, kbo: str, meta: CallMeta) -> Caller:
    """The administrative path (CLI, demo): act for partner ``kbo`` without a token; metadata checked."""
    from kruispunt.network.partners import get_partner

    with engine.connect() as conn:
        found = get_partner(conn, kbo)
    check_metadata(meta, full=meta.purpose is not None)
    return Caller(found.id, found.kbo, found.sector, meta)
