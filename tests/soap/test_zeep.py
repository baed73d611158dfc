"""Round trips with zeep against a running server: the SOAP face as OCMW software sees it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from lxml import etree
from sqlalchemy import select
from zeep import Client

from kruispunt import network
from kruispunt.network.soap.ssdn import schema
from kruispunt.network.tables import audit_record
from tests.soap.conftest import Served
from tests.soap.documents import NS, Reply, by_ssin, manage_access, phonetic, ssdn

MA, IP = "OCMWCPASManageAccess", "OCMWCPASIdentifyPerson"


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[Client]:
    made = Client(f"{served.url}?wsdl")
    yield made
    made.transport.session.close()


def send(client: Client, org_unit: str, matrix_id: int, service_id: str, body: str) -> tuple[Reply, str]:
    reference = f"ref-{uuid.uuid4().hex[:12]}"
    text = client.service.sendXML(ssdn(org_unit, matrix_id, reference, service_id, body))
    reply = Reply.parse(text)
    assert schema().validate(reply.root), schema().error_log  # every reply is a valid SSDNReply
    return reply, reference


def logged(served: Served, reference: str) -> list[tuple[str, str | None, str | None]]:
    with served.world.engine.connect() as conn:
        rows = conn.execute(
            select(audit_record.c.outcome, audit_record.c.reason, audit_record.c.insz)
            .where(audit_record.c.message_id == reference)
            .order_by(audit_record.c.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_wsdl_describes_send_xml(served: Served, client: Client) -> None:
    operations = client.wsdl.services["KSZBCSSWebServiceConnectorService"].ports
    binding = operations["KSZBCSSWebServiceConnectorPort"].binding
    assert "sendXML" in binding._operations
    assert binding._operations["sendXML"].soapaction.endswith("/WebServiceConnector/sendXML")


def test_register_list_and_unregister_an_integration(served: Served, client: Client) -> None:
    w = served.world
    reply, ref = send(client, w.ocmw, 17, MA, manage_access(w.peeters, "REGISTER", purpose=1))
    assert (reply.code(), reply.code("ReplyContext"), reply.ok()) == (0, 0, "YES")
    assert logged(served, ref) == [("answered", None, w.peeters)]
    assert reply.ticket() == f"KP-{_seq(served, ref)}"

    reply, ref = send(client, w.ocmw, 17, MA, manage_access(w.peeters, "LIST", purpose=None, proof=False))
    assert reply.code() == 0
    assert reply.all("s:ServiceReply/m:ManageAccessReply/m:Registrations/m:Purpose") == ["1"]
    assert reply.all(".//m:Registrations/m:Register") == ["PRIMARY"]
    assert reply.all(".//m:Registrations/m:OrgUnit") == [w.ocmw]
    assert reply.all(".//m:OriginalRequest/m:Action") == ["LIST"]
    assert logged(served, ref) == [("answered", None, w.peeters)]

    reply, _ = send(
        client, w.ocmw, 17, MA, manage_access(w.peeters, "LIST", purpose=None, register="SECONDARY")
    )
    assert reply.all(".//m:Registrations") == []

    reply, ref = send(
        client, w.ocmw, 17, MA, manage_access(w.peeters, "UNREGISTER", purpose=1, end="2024-03-31")
    )
    assert reply.code() == 0
    assert [i.valid_to for i in network.list_integrations(w.engine, w.ocmw, w.peeters)] == [
        __import__("datetime").date(2024, 3, 31)
    ]
    reply, ref = send(
        client, w.ocmw, 17, MA, manage_access(w.peeters, "UNREGISTER", purpose=1, end="2024-03-31")
    )
    assert (reply.code(), reply.ok(), reply.reason()) == (1, "WARNING", "nothing_to_unregister")
    assert reply.code("ReplyContext") == 0


def test_identify_a_person_by_ssin(served: Served, client: Client) -> None:
    w = served.world
    reply, ref = send(client, w.ocmw, 17, IP, by_ssin(w.dubois))
    assert reply.code() == 0
    assert reply.all(".//i:LimitedLegalData/i:Basic/i:SocialSecurityUser") == [w.dubois]
    assert reply.all(".//i:Basic/i:LastName") == ["Dubois"]
    assert reply.all(".//i:Basic/i:Gender") == ["1"]
    assert reply.all(".//i:Basic/i:Address/i:MunicipalityCode") == ["61031"]
    assert logged(served, ref) == [("answered", None, w.dubois)]
    assert any(c.case_reference == ref for c in network.who_consulted(w.engine, w.dubois))


def test_a_verification_that_disagrees_is_a_warning(served: Served, client: Client) -> None:
    w = served.world
    reply, _ = send(client, w.ocmw, 17, IP, by_ssin(w.dubois, verify_last_name="Dupont"))
    assert (reply.code(), reply.reason(), reply.field()) == (
        1,
        "verification_mismatch",
        "VerificationData/PersonData/LastName",
    )


def test_identify_a_person_phonetically(served: Served, client: Client) -> None:
    w = served.world
    reply, ref = send(client, w.ocmw, 17, IP, phonetic("DUBUA", "Jan Pierre", "1975-00-00"))
    assert reply.code() == 0
    assert reply.all(".//i:Basic/i:SocialSecurityUser") == [w.dubois]
    assert logged(served, ref) == [("answered", None, w.dubois)]

    reply, ref = send(client, w.ocmw, 17, IP, phonetic("Dubbois", "", "1975-02-03", tolerance=2))
    assert reply.all(".//i:Basic/i:SocialSecurityUser") == [w.dubois, w.duboys]
    assert [r[2] for r in logged(served, ref)] == [w.dubois, w.duboys]

    reply, _ = send(client, w.ocmw, 17, IP, phonetic("Dubbois", "", "1975-02-03", tolerance=2, gender=2))
    assert reply.all(".//i:Basic/i:SocialSecurityUser") == [w.duboys]

    reply, ref = send(client, w.ocmw, 17, IP, phonetic("Vandenbroucke", "", "1975-02-03", tolerance=1))
    assert (reply.code(), reply.all(".//i:LimitedLegalData")) == (0, [])
    assert logged(served, ref) == [("answered", None, None)]


def test_an_unknown_organisation_is_refused_and_logged(served: Served, client: Client) -> None:
    reply, ref = send(client, "0999999999", 17, IP, by_ssin(served.world.dubois))
    assert (reply.code("ReplyContext"), reply.code(), reply.ok("ReplyContext")) == (10000, 10000, "NO")
    assert (reply.reason(), reply.field()) == ("unknown_organisation", "AuthorizedUser")
    assert logged(served, ref) == [("refused", "token_missing", None)]


def test_a_client_outside_its_networks_is_refused(served: Served, client: Client) -> None:
    reply, ref = send(client, "OCMW-REMOTE", 17, IP, by_ssin(served.world.dubois))
    assert (reply.code(), reply.reason()) == (10000, "address_not_allowed")
    assert logged(served, ref) == [("refused", "token_missing", None)]


def test_without_a_deliberation_nothing_is_shown(served: Served, client: Client) -> None:
    w = served.world
    reply, ref = send(client, w.fund, 6, IP, by_ssin(w.dubois))
    assert (reply.code(), reply.reason()) == (10000, "no_deliberation")
    assert reply.all(".//i:LimitedLegalData") == []
    assert logged(served, ref) == [("refused", "no_deliberation", w.dubois)]

    reply, ref = send(client, w.fund, 6, IP, phonetic("Dubois", "", "1975-02-03"))
    assert (reply.code(), reply.reason()) == (10000, "no_deliberation")
    assert logged(served, ref) == [("refused", "no_deliberation", None)]


def test_a_person_not_integrated_is_refused(served: Served, client: Client) -> None:
    w = served.world
    reply, ref = send(client, w.ocmw, 17, IP, by_ssin(w.duboys))
    assert (reply.code(), reply.reason()) == (10000, "not_integrated")
    assert logged(served, ref) == [("refused", "not_integrated", w.duboys)]


def test_a_malformed_document_names_xml_string(served: Served, client: Client) -> None:
    reply = Reply.parse(client.service.sendXML("<SSDNRequest><RequestContext>"))
    assert (reply.code("ReplyContext"), reply.field(), reply.reason()) == (
        10000,
        "xmlString",
        "malformed_document",
    )
    assert reply.root.find("{*}ServiceReply") is None


def test_a_schema_invalid_document_names_the_field(served: Served, client: Client) -> None:
    w = served.world
    reply, _ = send(client, w.ocmw, 17, IP, by_ssin("123"))
    assert (reply.code("ReplyContext"), reply.reason()) == (10000, "schema_invalid")
    assert reply.field() == "SSDNRequest/ServiceRequest/IdentifyPersonRequest/SearchCriteria/SSIN"
    assert reply.value() == "123"
    assert "'[0-9]{11}'" in (reply.root.findtext(".//c:Diagnostic", namespaces=NS) or "")
    assert reply.root.findtext("s:ReplyContext/s:Message/s:Reference", namespaces=NS) is not None

    missing = ssdn(w.ocmw, 17, "r1", IP, by_ssin(w.dubois)).replace(
        "<Message><Reference>r1</Reference><TimeRequest>20240615T101112</TimeRequest></Message>", ""
    )
    reply = Reply.parse(client.service.sendXML(missing))
    assert reply.field() == "SSDNRequest/RequestContext/Message"


def test_an_invalid_ssin_check_digit_is_the_hubs_refusal(served: Served, client: Client) -> None:
    w = served.world
    wrong = w.dubois[:9] + f"{(int(w.dubois[9:]) + 1) % 100:02d}"
    reply, ref = send(client, w.ocmw, 17, IP, by_ssin(wrong))
    assert (reply.code(), reply.reason(), reply.field()) == (10000, "invalid_insz", "SSIN")
    assert logged(served, ref)[0][:2] == ("refused", "invalid_insz")


def test_a_broken_envelope_is_a_soap_fault(served: Served) -> None:
    answer = httpx.post(served.url, content=b"<not-soap/>", headers={"Content-Type": "text/xml"})
    assert answer.status_code == 500
    assert etree.fromstring(answer.content).findtext(".//faultstring").startswith("the document is not")
    answer = httpx.post(
        served.url, content=b"<x/>", headers={"SOAPAction": '"urn:other"', "Content-Type": "text/xml"}
    )
    assert answer.status_code == 500 and b"unknown SOAPAction" in answer.content


def test_the_audit_chain_stays_intact(served: Served) -> None:
    assert network.verify_audit(served.world.engine).intact


def _seq(served: Served, reference: str) -> int:
    with served.world.engine.connect() as conn:
        return int(
            conn.execute(
                select(audit_record.c.seq).where(audit_record.c.message_id == reference)
            ).scalar_one()
        )
