"""The connector in process, on SQLite and PostgreSQL: the same flows as over HTTP, plus revocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from kruispunt import network
from kruispunt.network import soap
from kruispunt.network.soap.ssdn import envelope, schema
from tests.soap.conftest import World
from tests.soap.documents import Reply, by_ssin, manage_access, phonetic, ssdn

MA, IP = "OCMWCPASManageAccess", "OCMWCPASIdentifyPerson"


@pytest.fixture
def hub(world: World) -> Iterator[network.Hub]:
    made = network.Hub(world.engine)
    yield made
    made.close()


def call(hub: network.Hub, org_unit: str, matrix_id: int, reference: str, service: str, body: str) -> Reply:
    answer = soap.answer(hub, envelope(ssdn(org_unit, matrix_id, reference, service, body)), "127.0.0.1")
    assert answer.status == 200
    reply = Reply.parse(_xml_string(answer.body))
    assert schema().validate(reply.root), schema().error_log
    return reply


def _xml_string(body: bytes) -> str:
    from lxml import etree

    return etree.fromstring(body).findtext(
        ".//{http://ksz-bcss.fgov.be/connectors/WebServiceConnector}xmlString"
    )


def test_register_then_identify(world: World, hub: network.Hub) -> None:
    refused = call(hub, world.ocmw, 17, "c-1", IP, by_ssin(world.peeters))
    assert refused.reason() == "not_integrated"
    registered = call(hub, world.ocmw, 17, "c-2", MA, manage_access(world.peeters, "REGISTER", purpose=1))
    assert registered.code() == 0
    found = call(hub, world.ocmw, 17, "c-3", IP, by_ssin(world.peeters))
    assert (found.code(), found.all(".//i:Basic/i:FirstName")) == (0, ["An"])
    assert [i.capacity for i in network.list_integrations(world.engine, world.ocmw, world.peeters)] == [1]


def test_a_retry_is_answered_from_the_stored_reply(world: World, hub: network.Hub) -> None:
    body = manage_access(world.peeters, "REGISTER", purpose=1)
    first = call(hub, world.ocmw, 17, "same", MA, body)
    again = call(hub, world.ocmw, 17, "same", MA, body)
    assert first.ticket() == again.ticket()
    other = call(hub, world.ocmw, 17, "same", MA, manage_access(world.peeters, "REGISTER", purpose=2))
    assert other.reason() == "message_id_reused"


def test_phonetic_search_on_both_engines(world: World, hub: network.Hub) -> None:
    reply = call(hub, world.ocmw, 17, "p-1", IP, phonetic("Dubois", "Jean Pierre", "1975-02-00"))
    assert reply.all(".//i:Basic/i:SocialSecurityUser") == [world.dubois]
    assert reply.all(".//i:Basic/i:Address/i:PostalCode") == ["4500"]


def test_a_revoked_credential_stops_both_paths(world: World, hub: network.Hub) -> None:
    network.issue_token(world.engine, world.ocmw, rotate=True)  # revokes every credential of the OCMW
    assert call(hub, world.ocmw, 17, "r-1", IP, by_ssin(world.dubois)).reason() == "token_revoked"
    assert (
        call(hub, world.ocmw, 17, "r-2", IP, phonetic("Dubois", "", "1975-02-03")).reason() == "token_revoked"
    )
    soap.renew_client(world.engine, world.ocmw, 17)
    assert call(hub, world.ocmw, 17, "r-3", IP, by_ssin(world.dubois)).code() == 0


def test_business_checks_name_their_field(world: World, hub: network.Hub) -> None:
    wrong_sector = call(hub, world.ocmw, 17, "b-1", MA, manage_access(world.dubois, "LIST", sector=6))
    assert (wrong_sector.code(), wrong_sector.field()) == (10000, "ManageAccessRequest/Sector")
    no_purpose = call(hub, world.ocmw, 17, "b-2", MA, manage_access(world.dubois, "REGISTER", purpose=None))
    assert no_purpose.field() == "ManageAccessRequest/Purpose"
    no_proof = call(hub, world.ocmw, 17, "b-3", MA, manage_access(world.dubois, "REGISTER", proof=False))
    assert no_proof.field() == "ManageAccessRequest/ProofOfAuthentication"
    unknown_capacity = call(
        hub, world.ocmw, 17, "b-4", MA, manage_access(world.dubois, "REGISTER", purpose=99)
    )
    assert (unknown_capacity.reason(), unknown_capacity.field()) == ("capacity_unknown", "Purpose")
    impossible = call(hub, world.ocmw, 17, "b-5", IP, phonetic("Dubois", "", "1975-02-30"))
    assert impossible.field() == "PhoneticCriteria/BirthDate"
    unknown = call(hub, world.ocmw, 17, "b-6", "OCMWCPASOther", by_ssin(world.dubois))
    assert (unknown.reason(), unknown.field()) == ("unknown_service", "ServiceRequest/ServiceId")
    mismatched = call(hub, world.ocmw, 17, "b-7", MA, by_ssin(world.dubois))
    assert mismatched.field() == "ServiceRequest/IdentifyPersonRequest"


def test_an_unlisted_list_period_filters(world: World, hub: network.Hub) -> None:
    network.end_integration(world.engine, world.ocmw, world.dubois, 2, date(2021, 12, 31))
    later = call(
        hub, world.ocmw, 17, "l-1", MA, manage_access(world.dubois, "LIST", purpose=None, start="2022-01-01")
    )
    assert later.all(".//m:Registrations") == []
    earlier = call(
        hub, world.ocmw, 17, "l-2", MA, manage_access(world.dubois, "LIST", purpose=None, start="2021-06-01")
    )
    assert earlier.all(".//m:Registrations/m:Period/m:EndDate") == ["2021-12-31"]


def test_comments_in_the_documents_are_ignored(world: World, hub: network.Hub) -> None:
    document = ssdn(world.ocmw, 17, "k-1", IP, "<!-- the request -->" + by_ssin(world.dubois))
    content = envelope(document).replace(b"<soapenv:Body>", b"<soapenv:Body><!-- sendXML -->")
    answer = soap.answer(hub, content, "127.0.0.1")
    assert Reply.parse(_xml_string(answer.body)).code() == 0
