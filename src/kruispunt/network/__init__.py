"""Network room: the exchange hub of the crossroads bank.

Public API (what the CLI, the web app, other rooms and the tests use):

- partners and credentials: :func:`add_partner`, :func:`find_partner`, :func:`list_partners`,
  :func:`issue_token`, :func:`revoke_tokens`, :class:`Partner`, :class:`IssuedToken`;
- deliberations: :func:`add_deliberation`, :func:`list_deliberations`, :class:`Deliberation`;
- reference directory: :func:`register_integration`, :func:`end_integration`, :func:`list_integrations`,
  :func:`capacities`, :class:`Integration`; knowledge directory: :func:`set_route`, :func:`remove_route`,
  :func:`list_routes`, :class:`Route`;
- the exchange: :class:`Hub` (``Hub(engine).exchange(CallMeta, request)``; ``Hub.exchange_as(partner_kbo,
  CallMeta, request)`` for an in-process caller), :func:`consult` (the same, for a shell that has
  authenticated its own user, e.g. the web pages), :class:`CallMeta`, the request
  types :class:`StatusQuery`, :class:`IdentityQuery`, :class:`DirectoryQuery`,
  :class:`DirectoryRegistration`, :class:`DirectoryEnding`, and :class:`Reply`; :data:`router` (FastAPI);
- audit: :func:`verify_audit`, :func:`who_consulted`, :func:`purge_audit`, :func:`audit_head`,
  :func:`log_listing` (disclosures made outside the exchange API, such as the OCMW outreach list),
  :class:`Verification`, :class:`Consultation`;
- errors: :class:`Reason` (refusal codes), :class:`NetworkError`; settings: :class:`HubSettings`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Engine

from kruispunt import identity
from kruispunt.network import audit as _audit
from kruispunt.network.audit import Consultation, Purge, Verification
from kruispunt.network.deliberations import Deliberation, add_deliberation, list_deliberations
from kruispunt.network.directory import (
    Integration,
    Route,
    capacities,
    end_integration,
    list_integrations,
    list_routes,
    register_integration,
    remove_route,
    set_route,
)
from kruispunt.network.hub import (
    CallMeta,
    DirectoryEnding,
    DirectoryQuery,
    DirectoryRegistration,
    Hub,
    IdentityQuery,
    Reply,
    StatusQuery,
)
from kruispunt.network.partners import (
    IssuedToken,
    Partner,
    add_partner,
    find_partner,
    get_partner,
    issue_token,
    list_partners,
    now,
    revoke_tokens,
)
from kruispunt.network.reasons import NetworkError, Reason, Refused, Source
from kruispunt.network.routes import router
from kruispunt.network.services import IDENTITY_FIELDS, SERVICES
from kruispunt.network.settings import HubSettings


def consult(
    engine: Engine,
    partner_kbo: str,
    request: StatusQuery | IdentityQuery | DirectoryQuery,
    *,
    end_user: str,
    case_reference: str,
    purpose: str,
    message_id: str | None = None,
    hub: Hub | None = None,
) -> Reply:
    """Consult the hub in-process for partner ``partner_kbo``, for a caller that authenticated its own user.

    Runs exactly the checks of an HTTP call except the bearer token (call metadata, deliberation, integration
    of the person, idempotent retry on ``message_id``), and writes the same audit record; a refusal is a
    :class:`Reply` with its reason, never an exception. ``message_id`` defaults to a fresh unique id.
    ``hub``: the process's running hub (the server's); without it a hub is started for this call only.
    """
    meta = CallMeta(None, message_id or f"inproc-{uuid.uuid4().hex}", end_user, case_reference, purpose)
    if hub is not None:
        return hub.exchange_as(partner_kbo, meta, request)
    own = Hub(engine)
    try:
        return own.exchange_as(partner_kbo, meta, request)
    finally:
        own.close()


def verify_audit(engine: Engine) -> Verification:
    """Walk the audit chain from its anchor; intact, or the first broken record and why."""
    return _audit.verify(engine)


def who_consulted(engine: Engine, insz: str) -> list[Consultation]:
    """A citizen's report: every exchange about the person with number ``insz`` (any of their numbers)."""
    number = identity.Insz.parse(insz).number
    record = identity.find_person(engine, number, date.today())
    return _audit.who_consulted(engine, record.person_id if record else None, number)


def purge_audit(engine: Engine, retention_days: int) -> Purge:
    """Apply the retention period: drop the chain's prefix older than ``retention_days``."""
    return _audit.purge(engine, retention_days)


def audit_head(engine: Engine) -> tuple[int, str]:
    """The last sequence number and hash of the audit chain."""
    return _audit.head(engine)


def log_listing(
    engine: Engine,
    *,
    requester: str,
    service: str,
    purpose: str,
    persons: Sequence[tuple[int | None, str]],
    deliberation: str | None = None,
    outcome: str = "answered",
    reason: Reason | None = None,
    end_user: str | None = None,
    case_reference: str | None = None,
    message_id: str | None = None,
    request_digest: str = _audit.GENESIS,
    hub_us: int = 0,
) -> list[int]:
    """Chain a disclosure made outside the exchange API (a bulk listing, e.g. the OCMW outreach list).

    One record per person disclosed (``persons``: person_id, INSZ), so ``who_consulted`` shows it to the
    citizen; a refused listing is one record without a person. All records are written in one transaction:
    when the log cannot be written, the caller must not hand the listing out.
    """
    with engine.begin() as conn:
        found = get_partner(conn, requester)
        common = {
            "recorded_at": now(),
            "service": service,
            "outcome": outcome,
            "http_status": reason.http_status if reason else 200,
            "request_digest": request_digest,
            "hub_us": hub_us,
            "partner_id": found.id,
            "requester": found.kbo,
            "message_id": message_id,
            "end_user": end_user and end_user[:100],
            "case_reference": case_reference and case_reference[:100],
            "purpose": purpose[:60],
            "deliberation": deliberation,
            "reason": reason.value if reason else None,
        }
        rows: list[tuple[int | None, str | None]] = [(p, i) for p, i in persons] or [(None, None)]
        entries = [_audit.AuditEntry(**common, person_id=p, insz=i) for p, i in rows]  # type: ignore[arg-type]
        return _audit.append(conn, entries)


__all__ = [
    "IDENTITY_FIELDS",
    "SERVICES",
    "CallMeta",
    "Consultation",
    "Deliberation",
    "DirectoryEnding",
    "DirectoryQuery",
    "DirectoryRegistration",
    "Hub",
    "HubSettings",
    "IdentityQuery",
    "Integration",
    "IssuedToken",
    "NetworkError",
    "Partner",
    "Purge",
    "Reason",
    "Refused",
    "Reply",
    "Route",
    "Source",
    "StatusQuery",
    "Verification",
    "add_deliberation",
    "add_partner",
    "audit_head",
    "capacities",
    "consult",
    "end_integration",
    "find_partner",
    "issue_token",
    "list_deliberations",
    "list_integrations",
    "list_partners",
    "list_routes",
    "log_listing",
    "purge_audit",
    "register_integration",
    "remove_route",
    "revoke_tokens",
    "router",
    "set_route",
    "verify_audit",
    "who_consulted",
]
