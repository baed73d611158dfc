"""OCMWCPASIdentifyPerson (20050930): a person by INSZ, or a phonetic search on name and birth date.

By INSZ it is the hub's identity service: deliberation, integration, audit. A phonetic search finds people
the caller has not integrated yet (that is what it is for), so it is a listing: the deliberation of the
identity service for the client's purpose is required, the credential must be unrevoked, and every person
disclosed gets an audit record (``network.log_listing``), written before the answer leaves.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import polars as pl
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from kruispunt import identity
from kruispunt.network import log_listing
from kruispunt.network.deliberations import Deliberation, covering
from kruispunt.network.hub import MESSAGE_ID_PATTERN, TEXT_PATTERN, Hub, IdentityQuery
from kruispunt.network.reasons import Reason, Refused
from kruispunt.network.services import IDENTITY
from kruispunt.network.soap import phonetic
from kruispunt.network.soap.calls import Caller, exchange, meta
from kruispunt.network.soap.ssdn import Detail, Outcome, SsdnError
from kruispunt.network.tables import partner_credential

SERVICE_ID = "OCMWCPASIdentifyPerson"
VERSION = "20050930"
NS = "http://www.ksz-bcss.fgov.be/XSD/SSDN/OCMW_CPAS/IdentifyPerson"
REQUEST = f"{{{NS}}}IdentifyPersonRequest"
_I = {"i": NS}
_GENDER = {"M": "1", "F": "2"}


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, _I)
    return found.text.strip() if found is not None and found.text else None


def question(body: etree._Element) -> IdentityQuery:
    """What an unrecognised caller asked (for the audit record of the refusal)."""
    return IdentityQuery(_text(body, "i:SearchCriteria/i:SSIN") or "")


def identify_person(hub: Hub, caller: Caller) -> Outcome:
    body = caller.request.body
    ssin = _text(body, "i:SearchCriteria/i:SSIN")
    if ssin is not None:
        answer = exchange(hub, caller, IdentityQuery(ssin))
        person = answer["person"]
        return Outcome(_reply([person]), _verify(body, person), answer.get("audit_seq"))
    criteria = body.find("i:SearchCriteria/i:PhoneticCriteria", _I)
    assert criteria is not None  # the schema requires SSIN or PhoneticCriteria
    return _search(hub, caller, criteria)


# --- phonetic search ---


def _criteria(element: etree._Element) -> phonetic.Criteria:
    gender, tolerance, maximum = (_text(element, f"i:{n}") for n in ("Gender", "Tolerance", "Maximum"))
    return phonetic.Criteria(
        last_name=_text(element, "i:LastName") or "",
        first_name=" ".join(filter(None, (_text(element, "i:FirstName"), _text(element, "i:MiddleName")))),
        birth_date=_text(element, "i:BirthDate") or "",
        gender=int(gender) if gender else None,
        tolerance=int(tolerance) if tolerance else 0,
        maximum=int(maximum) if maximum else phonetic.MAX_RESULTS,
    )


def _search(hub: Hub, caller: Caller, element: etree._Element) -> Outcome:
    try:
        criteria = _criteria(element)
        phonetic.birth_window(criteria.birth_date, criteria.tolerance)
    except ValueError:
        raise SsdnError(
            Detail("invalid_request", "BirthDate is not a possible date", field="PhoneticCriteria/BirthDate")
        ) from None
    log: dict[str, Any] = _log_fields(caller)
    try:
        found = _authorise_search(hub, caller)
    except Refused as refusal:
        seq = _log(hub, log, persons=[], outcome="refused", reason=refusal.reason)
        raise SsdnError(
            Detail(refusal.reason.value, refusal.message, author="kruispunt/hub"), audit_seq=seq
        ) from None
    matches = phonetic.search(hub.engine, criteria)
    persons = _shown(hub, matches, found)
    seq = _log(
        hub,
        log,
        persons=list(zip(matches["person_id"].to_list(), matches["insz"].to_list(), strict=True)),
        deliberation=found.number,
    )
    return Outcome(_reply(persons), (), seq)


def _log_fields(caller: Caller) -> dict[str, Any]:
    call = meta(caller)
    assert caller.client is not None
    digest = hashlib.sha256(etree.tostring(caller.request.body, method="c14n")).hexdigest()
    return {
        "requester": caller.client.partner_kbo,
        "service": IDENTITY,
        "purpose": caller.client.purpose,
        "end_user": call.end_user,
        "case_reference": call.case_reference,
        "message_id": call.message_id,
        "request_digest": digest,
    }


def _log(hub: Hub, log: dict[str, Any], **more: Any) -> int:
    """Chain the listing's audit records; nothing is answered when they cannot be written."""
    try:
        return log_listing(hub.engine, **log, **more)[0]
    except SQLAlchemyError:
        raise SsdnError(
            Detail(
                Reason.AUDIT_UNAVAILABLE.value,
                "the search could not be logged and was therefore not carried out; retry later",
            )
        ) from None


def _authorise_search(hub: Hub, caller: Caller) -> Deliberation:
    """The same gate as the hub's: valid metadata, an unrevoked credential, a deliberation in force."""
    client = caller.client
    assert client is not None
    call = meta(caller)
    if not MESSAGE_ID_PATTERN.match(call.message_id or ""):
        raise Refused(Reason.INVALID_HEADER, "Message/Reference must be 1-100 of A-Z a-z 0-9 . _ : / @ -")
    if not TEXT_PATTERN.match(call.end_user or ""):
        raise Refused(Reason.INVALID_HEADER, "AuthorizedUser/UserID must be 1-100 printable ASCII characters")
    with hub.engine.connect() as conn:
        revoked = conn.execute(
            select(partner_credential.c.revoked_at).where(partner_credential.c.id == client.credential_id)
        ).scalar_one_or_none()
        if revoked is not None:
            raise Refused(Reason.TOKEN_REVOKED, f"this client's credential was revoked on {revoked:%Y-%m-%d}")
        return covering(conn, client.partner_id, IDENTITY, client.purpose, date.today())


def _shown(hub: Hub, matches: pl.DataFrame, found: Deliberation) -> list[dict[str, Any]]:
    """The matches as the identity service would show them: only the fields the deliberation allows."""
    allowed = {"insz", *found.fields}
    persons: list[dict[str, Any]] = []
    for row in matches.iter_rows(named=True):
        person = {k: v for k, v in row.items() if k in allowed}
        if "address" in allowed:
            record = identity.find_person(hub.engine, row["insz"], date.today())
            address = record.address if record is not None else None
            person["address"] = None if address is None else address.__dict__
        persons.append(person)
    return persons


# --- the reply ---


def _verify(body: etree._Element, person: dict[str, Any]) -> tuple[Detail, ...]:
    """VerificationData/PersonData compared with what the register says: a warning per difference."""
    given = body.find("i:VerificationData/i:PersonData", _I)
    if given is None:
        return ()
    details = []
    for name, key in (("LastName", "last_name"), ("FirstName", "first_name"), ("BirthDate", "birth_date")):
        value = _text(given, f"i:{name}")
        known = person.get(key)
        if value is None or known is None:
            continue
        if phonetic.fold(value) != phonetic.fold(str(known)):
            details.append(
                Detail(
                    "verification_mismatch",
                    f"{name} differs from the register",
                    "WARNING",
                    field=f"VerificationData/PersonData/{name}",
                    value=value,
                )
            )
    return tuple(details)


def _reply(persons: list[dict[str, Any]]) -> etree._Element:
    reply = etree.Element(f"{{{NS}}}IdentifyPersonReply", nsmap={"ipr": NS})
    results = etree.SubElement(reply, f"{{{NS}}}SearchResults")
    for person in persons:
        results.append(_legal_data(person))
    return reply


def _add(parent: etree._Element, name: str, value: object) -> None:
    if value is not None and value != "":
        etree.SubElement(parent, f"{{{NS}}}{name}").text = str(value)


def _legal_data(person: dict[str, Any]) -> etree._Element:
    data = etree.Element(f"{{{NS}}}LimitedLegalData", origin="RN_RR" if _is_nr(person["insz"]) else "BIS")
    basic = etree.SubElement(data, f"{{{NS}}}Basic")
    _add(basic, "SocialSecurityUser", person["insz"])
    _add(basic, "LastName", person.get("last_name"))
    _add(basic, "FirstName", person.get("first_name"))
    _add(basic, "BirthDate", person.get("birth_date"))
    _add(basic, "Gender", _GENDER.get(person.get("sex") or "", None if "sex" not in person else "0"))
    address = person.get("address")
    if address:
        element = etree.SubElement(basic, f"{{{NS}}}Address")
        _add(element, "Street", address.get("street"))
        _add(element, "HouseNumber", address.get("house_number"))
        _add(element, "PostalCode", address.get("postal_code"))
        _add(element, "MunicipalityCode", address["municipality_nis"])
        _add(element, "CountryCode", "150")  # Belgium, in the national register's country codes
    extended = etree.SubElement(data, f"{{{NS}}}Extended")
    _add(extended, "DeceaseDate", person.get("death_date"))
    return data


def _is_nr(insz: str) -> bool:
    return identity.Insz.parse(insz).kind == identity.NumberKind.NATIONAL_REGISTER
