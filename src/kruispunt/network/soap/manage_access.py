"""OCMWCPASManageAccess (20050930): REGISTER, UNREGISTER and LIST the caller's integrations of a person.

Each action is one call of the hub's directory service: registration, ending, query. ``Purpose`` is the
capacity (hoedanigheid) code of the caller's sector; ``Sector`` must be the caller's own.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from lxml import etree

from kruispunt import identity
from kruispunt.network.hub import DirectoryEnding, DirectoryQuery, DirectoryRegistration, Hub
from kruispunt.network.soap.calls import Caller, exchange
from kruispunt.network.soap.ssdn import Detail, Outcome, invalid

SERVICE_ID = "OCMWCPASManageAccess"
VERSION = "20050930"
NS = "http://www.ksz-bcss.fgov.be/XSD/SSDN/OCMW_CPAS/ManageAccess"
REQUEST = f"{{{NS}}}ManageAccessRequest"
_M = {"m": NS}


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, _M)
    return found.text.strip() if found is not None and found.text else None


def _day(element: etree._Element, path: str) -> date | None:
    text = _text(element, path)
    return date.fromisoformat(text[:10]) if text else None


def question(body: etree._Element) -> DirectoryQuery:
    """What an unrecognised caller asked (for the audit record of the refusal)."""
    return DirectoryQuery(_text(body, "m:SSIN"))


def manage_access(hub: Hub, caller: Caller) -> Outcome:
    body = caller.request.body
    assert caller.client is not None
    sector = int(_text(body, "m:Sector") or 0)
    if sector != caller.client.sector:
        raise invalid(
            "sector_mismatch",
            f"{caller.client.partner_name} is of sector {caller.client.sector}, not {sector}",
            "ManageAccessRequest/Sector",
            str(sector),
        )
    action = _text(body, "m:Action")
    if action == "LIST":
        return _list(hub, caller, body)
    purpose = _text(body, "m:Purpose")
    if purpose is None:
        raise invalid(
            "purpose_missing", f"{action} needs a Purpose (capacity code)", "ManageAccessRequest/Purpose"
        )
    ssin = _text(body, "m:SSIN") or ""
    start = _day(body, "m:Period/m:StartDate")
    end = _day(body, "m:Period/m:EndDate")
    assert start is not None  # the schema requires it
    if action == "REGISTER":
        if body.find("m:ProofOfAuthentication", _M) is None:
            raise invalid(
                "proof_missing",
                "REGISTER needs a ProofOfAuthentication (SIS card, identity card or person data)",
                "ManageAccessRequest/ProofOfAuthentication",
            )
        answer = exchange(hub, caller, DirectoryRegistration(ssin, int(purpose), start, end))
        return _reply(body, [], answer, ())
    last_day = end if end is not None else start - timedelta(days=1)
    answer = exchange(hub, caller, DirectoryEnding(ssin, int(purpose), last_day))
    nothing = (
        (
            Detail(
                "nothing_to_unregister",
                "no open integration in this capacity to end",
                "WARNING",
                field="SSIN",
            ),
        )
        if answer.get("changed") == 0
        else ()
    )
    return _reply(body, [], answer, nothing)


def _list(hub: Hub, caller: Caller, body: etree._Element) -> Outcome:
    answer = exchange(hub, caller, DirectoryQuery(_text(body, "m:SSIN")))
    purpose = _text(body, "m:Purpose")
    start = _day(body, "m:Period/m:StartDate") or date.min
    end = _day(body, "m:Period/m:EndDate") or date.max
    wanted = _text(body, "m:QueryRegister") or "ALL"
    found = [
        i
        for i in answer["integrations"]
        if (purpose is None or i["capacity"] == int(purpose))
        and wanted in ("ALL", _register(i["insz"]))
        and date.fromisoformat(i["valid_from"]) <= end
        and (i["valid_to"] is None or date.fromisoformat(i["valid_to"]) >= start)
    ]
    assert caller.client is not None
    return _reply(body, [_registration(i, caller.client.org_unit) for i in found], answer, ())


def _register(insz: str) -> str:
    """PRIMARY: the national register; SECONDARY: the BIS register."""
    kind = identity.Insz.parse(insz).kind
    return "PRIMARY" if kind == identity.NumberKind.NATIONAL_REGISTER else "SECONDARY"


def _registration(item: dict[str, Any], org_unit: str) -> etree._Element:
    m = f"{{{NS}}}"
    element = etree.Element(f"{m}Registrations")
    etree.SubElement(element, f"{m}Purpose").text = str(item["capacity"])
    period = etree.SubElement(element, f"{m}Period")
    etree.SubElement(period, f"{m}StartDate").text = item["valid_from"]
    if item["valid_to"] is not None:
        etree.SubElement(period, f"{m}EndDate").text = item["valid_to"]
    etree.SubElement(element, f"{m}OrgUnit").text = org_unit
    etree.SubElement(element, f"{m}Register").text = _register(item["insz"])
    return element


def _reply(
    body: etree._Element,
    registrations: list[etree._Element],
    answer: dict[str, Any],
    details: tuple[Detail, ...],
) -> Outcome:
    reply = etree.Element(f"{{{NS}}}ManageAccessReply", nsmap={"mar": NS})
    original = etree.fromstring(etree.tostring(body))
    original.tag = f"{{{NS}}}OriginalRequest"
    reply.append(original)
    reply.extend(registrations)
    return Outcome(reply, details, answer.get("audit_seq"))
