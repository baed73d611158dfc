"""From an SSDN request to a hub call and back: the call metadata, and a hub refusal as an SSDN detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kruispunt.network.hub import CallMeta, Hub, Reply, Request
from kruispunt.network.soap.clients import SoapClient
from kruispunt.network.soap.ssdn import Detail, SsdnError, SsdnRequest

# The hub names fields after its JSON API; a SOAP caller knows them by their SSDN names.
_FIELDS = {
    "insz": "SSIN",
    "capacity": "Purpose",
    "end": "Period/EndDate",
    "start": "Period/StartDate",
    "X-Message-Id": "Message/Reference",
    "X-Case-Reference": "Message/Reference",
    "X-End-User": "AuthorizedUser/UserID",
    "Authorization": "AuthorizedUser",
}


@dataclass(frozen=True)
class Caller:
    """A request and the client it was recognised as (None: unknown OrgUnit/MatrixID or address)."""

    request: SsdnRequest
    client: SoapClient | None


def meta(caller: Caller) -> CallMeta:
    """The hub's call metadata: the message reference identifies the message and the file."""
    request = caller.request
    purpose = caller.client.purpose if caller.client else None
    return CallMeta(None, request.reference, request.user.user_id, request.reference, purpose)


def exchange(hub: Hub, caller: Caller, question: Request) -> dict[str, Any]:
    """Put ``question`` to the hub as the caller's client; its answer, or SsdnError when refused."""
    credential = caller.client.credential_id if caller.client else None
    reply = hub.exchange(meta(caller), question, credential_id=credential)
    return answer_of(reply)


def answer_of(reply: Reply) -> dict[str, Any]:
    body: dict[str, Any] = reply.json()
    error = body.get("error")
    if error is None:
        return body
    raise SsdnError(
        Detail(
            reason=error["reason"],
            diagnostic=error["message"],
            author=f"kruispunt/{error['source']}",
            field=_FIELDS.get(error.get("field") or "", error.get("field")),
        ),
        audit_seq=error.get("audit_seq"),
    )


def refuse_unknown(hub: Hub, caller: Caller, question: Request, why: str, reason: str) -> SsdnError:
    """Log the call of an unrecognised caller (through the hub, as a call without credential)."""
    logged = hub.exchange(meta(caller), question)
    seq = logged.json().get("error", {}).get("audit_seq")
    return SsdnError(Detail(reason, why, field="AuthorizedUser"), audit_seq=seq)
