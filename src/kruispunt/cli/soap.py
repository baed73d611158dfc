"""CLI of the SOAP connector: ``kruispunt soap client add|list|remove|renew``, and the demo step."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated

import typer
from lxml import etree
from rich.table import Table

from kruispunt import identity, network
from kruispunt.cli._common import app_state, console, fail
from kruispunt.cli.demo import DemoContext
from kruispunt.network import NetworkError, soap

soap_app = typer.Typer(help="The KSZ-compatible SOAP connector (docs/soap.md).", no_args_is_help=True)
client_app = typer.Typer(
    help="SSDN clients: an AuthorizedUser's OrgUnit and MatrixID mapped to a partner.", no_args_is_help=True
)
soap_app.add_typer(client_app, name="client")

MatrixId = Annotated[int, typer.Option("--matrix-id", help="The AuthorizedUser's MatrixID (sector).")]


@client_app.command("add")
def client_add(
    org_unit: Annotated[str, typer.Argument(help="The AuthorizedUser's OrgUnit (usually the KBO number).")],
    matrix_id: MatrixId,
    partner: Annotated[str, typer.Option(help="KBO number of the partner the client speaks for.")],
    purpose: Annotated[str, typer.Option(help="Purpose code of the client's deliberation (identity).")],
    allow: Annotated[list[str], typer.Option(help="An allowed network (CIDR or address); repeat for more.")],
) -> None:
    """Let an SSDN client call the connector for a partner, from the given networks."""
    try:
        added = soap.add_client(
            app_state().engine,
            org_unit=org_unit,
            matrix_id=matrix_id,
            partner_kbo=partner,
            purpose=purpose,
            networks=allow,
        )
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(
        f"SOAP client {added.org_unit}/{added.matrix_id} speaks for {added.partner_kbo} "
        f"({added.partner_name}) from {', '.join(added.networks)}",
        highlight=False,
    )


@client_app.command("list")
def client_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """Every SOAP client with its partner, purpose and networks."""
    clients = soap.list_clients(app_state().engine)
    if as_json:
        rows = [
            {
                "org_unit": c.org_unit,
                "matrix_id": c.matrix_id,
                "partner": c.partner_kbo,
                "purpose": c.purpose,
                "networks": list(c.networks),
            }
            for c in clients
        ]
        typer.echo(json.dumps(rows))
        return
    table = Table("OrgUnit", "MatrixID", "partner", "purpose", "networks")
    for c in clients:
        table.add_row(
            c.org_unit, str(c.matrix_id), f"{c.partner_kbo} {c.partner_name}", c.purpose, " ".join(c.networks)
        )
    console.print(table)


@client_app.command("remove")
def client_remove(org_unit: str, matrix_id: MatrixId) -> None:
    """Forget a client; its credential is revoked at once."""
    try:
        removed = soap.remove_client(app_state().engine, org_unit, matrix_id)
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(f"SOAP client {removed.org_unit}/{removed.matrix_id} removed", highlight=False)


@client_app.command("renew")
def client_renew(org_unit: str, matrix_id: MatrixId) -> None:
    """A new credential for a client (after ``partner token --rotate`` revoked the old one)."""
    try:
        renewed = soap.renew_client(app_state().engine, org_unit, matrix_id)
    except NetworkError as error:
        raise fail(str(error)) from None
    console.print(f"SOAP client {renewed.org_unit}/{renewed.matrix_id} has a new credential", highlight=False)


# --- demo ---

_SERVICE = "http://www.ksz-bcss.fgov.be/XSD/SSDN/Service"
_COMMON = "http://www.ksz-bcss.fgov.be/XSD/SSDN/Common"
_MAR = "http://www.ksz-bcss.fgov.be/XSD/SSDN/OCMW_CPAS/ManageAccess"
_IPR = "http://www.ksz-bcss.fgov.be/XSD/SSDN/OCMW_CPAS/IdentifyPerson"


def _document(org_unit: str, service_id: str, body: str) -> str:
    return (
        f'<SSDNRequest xmlns="{_SERVICE}"><RequestContext><AuthorizedUser><UserID>demo-social-worker</UserID>'
        f"<OrgUnit>{org_unit}</OrgUnit><MatrixID>17</MatrixID></AuthorizedUser><Message>"
        f"<Reference>demo-soap-{uuid.uuid4().hex[:12]}</Reference><TimeRequest>"
        f"{date.today():%Y%m%d}T120000</TimeRequest></Message></RequestContext><ServiceRequest>"
        f"<ServiceId>{service_id}</ServiceId><Version>20050930</Version>{body}</ServiceRequest></SSDNRequest>"
    )


def _envelope(document: str) -> bytes:
    return soap.envelope(document)


def _summary(reply: etree._Element) -> str:
    code = reply.findtext(f"{{{_SERVICE}}}ServiceReply/{{{_COMMON}}}ResultSummary/{{{_COMMON}}}ReturnCode")
    reason = reply.findtext(f".//{{{_COMMON}}}ReasonCode")
    return f"ReturnCode {code}" + (f" ({reason})" if reason else "")


def _demo_ocmw(context: DemoContext) -> tuple[str, str] | None:
    """The OCMW of the hub's demo step and the purpose of its identity deliberation."""
    engine = context.app.engine
    for found in network.list_deliberations(engine):
        if found.service == "identity" and found.in_force(date.today()):
            for kbo in found.parties:
                member = network.find_partner(engine, kbo)
                if member is not None and member.sector == 17:
                    return kbo, found.purpose
    return None


def demo_soap(context: DemoContext) -> None:
    """An OCMW's software over SOAP: ManageAccess REGISTER, then IdentifyPerson phonetically and by INSZ."""
    import warnings

    from kruispunt.api import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx`")
        from fastapi.testclient import TestClient

    engine = context.app.engine
    found = _demo_ocmw(context)
    people = identity.population(engine, date.today())
    if found is None or people.is_empty():
        console.print("  (no OCMW with an identity deliberation, or an empty register: skipping)")
        return
    ocmw, purpose = found
    if soap.find_client(engine, ocmw, 17) is None:
        soap.add_client(
            engine, org_unit=ocmw, matrix_id=17, partner_kbo=ocmw, purpose=purpose, networks=["127.0.0.1"]
        )
    integrated = {i.insz for i in network.list_integrations(engine, ocmw)}
    insz = next(n for n in people.get_column("insz").to_list() if n not in integrated)
    person = identity.find_person(engine, insz)
    assert person is not None
    console.print(
        f"  SOAP client {ocmw}/17 for the OCMW; the person: {insz} ({person.first_name} {person.last_name})"
    )
    misspelt = person.last_name[:-1] + person.last_name[-1] * 2
    birth = f"{person.birth_date:%Y-%m}-00" if person.birth_date else "1900-00-00"
    calls = [
        (
            "ManageAccess REGISTER (capacity 2, leefloon)",
            "OCMWCPASManageAccess",
            f'<mar:ManageAccessRequest xmlns:mar="{_MAR}"><mar:SSIN>{insz}</mar:SSIN>'
            "<mar:Purpose>2</mar:Purpose>"
            f"<mar:Period><mar:StartDate>{date.today().replace(day=1)}</mar:StartDate></mar:Period>"
            "<mar:Action>REGISTER</mar:Action><mar:Sector>17</mar:Sector><mar:ProofOfAuthentication>"
            "<mar:SISCardNumber>demo</mar:SISCardNumber></mar:ProofOfAuthentication></mar:ManageAccessRequest>",
        ),
        (
            f"IdentifyPerson phonetically ({misspelt!r}, born {birth})",
            "OCMWCPASIdentifyPerson",
            f'<ipr:IdentifyPersonRequest xmlns:ipr="{_IPR}"><ipr:SearchCriteria><ipr:PhoneticCriteria>'
            f"<ipr:LastName>{misspelt}</ipr:LastName><ipr:FirstName>{person.first_name}</ipr:FirstName>"
            f"<ipr:BirthDate>{birth}</ipr:BirthDate></ipr:PhoneticCriteria></ipr:SearchCriteria>"
            "</ipr:IdentifyPersonRequest>",
        ),
        (
            "IdentifyPerson by INSZ",
            "OCMWCPASIdentifyPerson",
            f'<ipr:IdentifyPersonRequest xmlns:ipr="{_IPR}"><ipr:SearchCriteria><ipr:SSIN>{insz}</ipr:SSIN>'
            "</ipr:SearchCriteria></ipr:IdentifyPersonRequest>",
        ),
    ]
    with TestClient(create_app(context.app.settings), client=("127.0.0.1", 50000)) as client:
        wsdl = client.get(soap.PATH, params={"wsdl": ""})
        console.print(f"  WSDL at {soap.PATH}?wsdl: HTTP {wsdl.status_code}")
        for title, service_id, body in calls:
            answer = client.post(
                soap.PATH,
                content=_envelope(_document(ocmw, service_id, body)),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{soap.SOAP_ACTION}"'},
            )
            text = etree.fromstring(answer.content).findtext(".//{*}xmlString") or ""
            reply = etree.fromstring(text.encode("utf-8"))
            found_ids = [e.text for e in reply.iterfind(f".//{{{_IPR}}}SocialSecurityUser")]
            extra = (
                f", {len(found_ids)} person(s): {', '.join(found_ids[:3])}"
                if "IdentifyPerson" in title
                else ""
            )
            console.print(f"  {title}: HTTP {answer.status_code}, {_summary(reply)}{extra}", highlight=False)
    seen = network.who_consulted(engine, insz)
    console.print(f"  who consulted {insz}: {len(seen)} exchange(s) in the audit chain")
