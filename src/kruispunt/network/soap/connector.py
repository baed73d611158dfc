"""The web service connector: one SOAP body in, one SOAP body out, never a stack trace.

Order of work: the envelope (a SOAP Fault when unusable), the SSDN document (parsed, validated against
the schemas), the caller (OrgUnit and MatrixID of a known client, from an allowed network), the service
(ServiceId and Version), then the service itself, which calls the hub. Every refusal from the caller check
on is written to the audit log; documents that cannot be read are not exchanges and are not logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from kruispunt.network import metrics
from kruispunt.network.hub import Hub, Request
from kruispunt.network.soap import identify_person, manage_access
from kruispunt.network.soap.calls import Caller, refuse_unknown
from kruispunt.network.soap.clients import find_client
from kruispunt.network.soap.ssdn import (
    Detail,
    EnvelopeError,
    Outcome,
    SsdnError,
    SsdnRequest,
    build_reply,
    envelope,
    fault,
    parse_request,
    read_envelope,
)

log = logging.getLogger("kruispunt.soap")


@dataclass(frozen=True)
class Service:
    request: str  # the qualified name of its request element
    handle: Callable[[Hub, Caller], Outcome]
    question: Callable[[etree._Element], Request]


SERVICES: dict[tuple[str, str], Service] = {
    (manage_access.SERVICE_ID, manage_access.VERSION): Service(
        manage_access.REQUEST, manage_access.manage_access, manage_access.question
    ),
    (identify_person.SERVICE_ID, identify_person.VERSION): Service(
        identify_person.REQUEST, identify_person.identify_person, identify_person.question
    ),
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def answer(hub: Hub, content: bytes, address: str | None) -> Answer:
    """Answer one SOAP request from ``address``: HTTP 200 with an SSDNReply, or 500 with a SOAP Fault."""
    received = _now()
    try:
        text = read_envelope(content)
    except EnvelopeError as error:
        return Answer(500, fault(str(error)))
    request: SsdnRequest | None = None
    reference: str | None = None
    try:
        request = parse_request(text)
        outcome = _serve(hub, request, address)
    except SsdnError as error:
        outcome = Outcome(None, (error.detail,), error.audit_seq)
        reference = error.reference
    except Exception:
        log.exception("SOAP connector failure")
        detail = Detail("hub_error", "the hub failed; the exchange was not carried out")
        outcome = Outcome(None, (detail,), None)
    fatal = next((d for d in outcome.details if d.severity == "FATAL"), None)
    if fatal is not None and outcome.audit_seq is None:  # the hub counts the refusals it logs
        metrics.REFUSALS.labels(fatal.reason, fatal.author.rsplit("/", 1)[-1]).inc()
    ticket = f"KP-{outcome.audit_seq}" if outcome.audit_seq is not None else f"KP-{uuid.uuid4().hex[:16]}"
    reply = build_reply(
        request, outcome, received=received, responded=_now(), ticket=ticket, reference=reference
    )
    return Answer(200, envelope(reply))


def _serve(hub: Hub, request: SsdnRequest, address: str | None) -> Outcome:
    service = SERVICES.get((request.service_id, request.version))
    if service is None:
        known = ", ".join(f"{s} {v}" for s, v in SERVICES)
        raise SsdnError(
            Detail(
                "unknown_service",
                f"service {request.service_id} version {request.version} is not offered here ({known})",
                field="ServiceRequest/ServiceId",
                value=request.service_id,
            )
        )
    if request.body.tag != service.request:
        raise SsdnError(
            Detail(
                "schema_invalid",
                f"{request.service_id} expects {etree.QName(service.request).localname}",
                field=f"ServiceRequest/{etree.QName(request.body).localname}",
            )
        )
    caller = _caller(hub, request, address, service)
    return service.handle(hub, caller)


def _caller(hub: Hub, request: SsdnRequest, address: str | None, service: Service) -> Caller:
    user = request.user
    client = find_client(hub.engine, user.org_unit, user.matrix_id)
    if client is None:
        why = f"OrgUnit {user.org_unit} with MatrixID {user.matrix_id} is not a client of this hub"
        raise refuse_unknown(
            hub, Caller(request, None), service.question(request.body), why, "unknown_organisation"
        )
    if not client.allows(address):
        why = f"OrgUnit {user.org_unit} may not call from {address or 'an unknown address'}"
        raise refuse_unknown(
            hub, Caller(request, None), service.question(request.body), why, "address_not_allowed"
        )
    return Caller(request, client)
