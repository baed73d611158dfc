"""Who is calling a feed or batch endpoint: the same credential and metadata checks as the hub's exchange.

Refusals are audited like the hub's own, so a rejected feed read or batch upload leaves a trace.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from kruispunt.network import audit
from kruispunt.network.deliberations import PURPOSE_PATTERN
from kruispunt.network.hub import MESSAGE_ID_PATTERN, TEXT_PATTERN, CallMeta
from kruispunt.network.partners import CREDENTIAL_COLUMNS, Credential, credential_matches, now, token_hash
from kruispunt.network.reasons import Reason, Refused
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


def _credential(engine: Engine, token: str | None) -> Credential:
    if not token:
        raise Refused(Reason.TOKEN_MISSING, "send 'Authorization: Bearer <token>'", field="Authorization")
    statement = (
        select(
            *CREDENTIAL_COLUMNS,
        )
        .join(partner, partner.c.id == partner_credential.c.partner_id)
        .where(partner_credential.c.token_hash == token_hash(token))
    )
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    if row is None or not credential_matches(row.token_hash, token):
        raise Refused(Reason.TOKEN_INVALID, "the bearer token is not known", field="Authorization")
    found = Credential(row.id, row.partner_id, row.kbo, row.sector, row.revoked_at is not None)
    if found.revoked:
        raise Refused(Reason.TOKEN_REVOKED, f"this token was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    return found


def _check(header: str, value: str | None, pattern: Any, rule: str, required: bool) -> None:
    if not value:
        if required:
            raise Refused(Reason.MISSING_HEADER, f"every call carries the {header} header", field=header)
        return
    if not pattern.match(value):
        raise Refused(Reason.INVALID_HEADER, f"{header} must be {rule}", field=header)


def check_metadata(meta: CallMeta, *, full: bool) -> None:
    """The message id always; end user, case reference and purpose too when ``full`` (person data)."""
    _check("X-Message-Id", meta.message_id, MESSAGE_ID_PATTERN, "1-100 of A-Z a-z 0-9 . _ : / @ -", True)
    _check("X-End-User", meta.end_user, TEXT_PATTERN, "1-100 printable ASCII characters", full)
    _check("X-Case-Reference", meta.case_reference, TEXT_PATTERN, "1-100 printable ASCII characters", full)
    _check("X-Purpose", meta.purpose, PURPOSE_PATTERN, "a purpose code: a-z 0-9 . _ -, at most 60", full)


def authenticate(engine: Engine, meta: CallMeta, service: str, *, full: bool = False) -> Caller:
    """The calling partner; a refusal is written to the audit log before it is raised."""
    found: Credential | None = None
    try:
        found = _credential(engine, meta.token)
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
