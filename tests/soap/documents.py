"""SSDN request documents as OCMW software writes them, and a reader for the replies."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

SERVICE = "http://www.ksz-bcss.fgov.be/XSD/SSDN/Service"
COMMON = "http://www.ksz-bcss.fgov.be/XSD/SSDN/Common"
MAR = "http://www.ksz-bcss.fgov.be/XSD/SSDN/OCMW_CPAS/ManageAccess"
IPR = "http://www.ksz-bcss.fgov.be/XSD/SSDN/OCMW_CPAS/IdentifyPerson"
NS = {"s": SERVICE, "c": COMMON, "m": MAR, "i": IPR}


def ssdn(org_unit: str, matrix_id: int, reference: str, service_id: str, body: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SSDNRequest xmlns="http://www.ksz-bcss.fgov.be/XSD/SSDN/Service">
  <RequestContext>
    <AuthorizedUser>
      <UserID>00901234567</UserID><Email>social.worker@ocmw.example</Email>
      <OrgUnit>{org_unit}</OrgUnit><MatrixID>{matrix_id}</MatrixID><MatrixSubID>1</MatrixSubID>
    </AuthorizedUser>
    <Message><Reference>{reference}</Reference><TimeRequest>20240615T101112</TimeRequest></Message>
  </RequestContext>
  <ServiceRequest>
    <ServiceId>{service_id}</ServiceId>
    <Version>20050930</Version>
    {body}
  </ServiceRequest>
</SSDNRequest>"""


def manage_access(
    ssin: str,
    action: str,
    *,
    purpose: int | None = 2,
    start: str = "2024-01-01",
    end: str | None = None,
    sector: int = 17,
    register: str | None = None,
    proof: bool = True,
) -> str:
    parts = [f"<mar:SSIN>{ssin}</mar:SSIN>"]
    if purpose is not None:
        parts.append(f"<mar:Purpose>{purpose}</mar:Purpose>")
    period = f"<mar:StartDate>{start}</mar:StartDate>" + (f"<mar:EndDate>{end}</mar:EndDate>" if end else "")
    parts += [f"<mar:Period>{period}</mar:Period>", f"<mar:Action>{action}</mar:Action>"]
    parts.append(f"<mar:Sector>{sector}</mar:Sector>")
    if register:
        parts.append(f"<mar:QueryRegister>{register}</mar:QueryRegister>")
    if proof:
        parts.append(
            "<mar:ProofOfAuthentication><mar:PersonData><mar:LastName>Dubois</mar:LastName>"
            "<mar:FirstName>Jean-Pierre</mar:FirstName><mar:BirthDate>1975-02-03</mar:BirthDate>"
            "</mar:PersonData></mar:ProofOfAuthentication>"
        )
    return f'<mar:ManageAccessRequest xmlns:mar="{MAR}">{"".join(parts)}</mar:ManageAccessRequest>'


def by_ssin(ssin: str, verify_last_name: str | None = None) -> str:
    verification = (
        f"<ipr:VerificationData><ipr:PersonData><ipr:LastName>{verify_last_name}</ipr:LastName>"
        "</ipr:PersonData></ipr:VerificationData>"
        if verify_last_name
        else ""
    )
    return (
        f'<ipr:IdentifyPersonRequest xmlns:ipr="{IPR}"><ipr:SearchCriteria><ipr:SSIN>{ssin}</ipr:SSIN>'
        f"</ipr:SearchCriteria>{verification}</ipr:IdentifyPersonRequest>"
    )


def phonetic(
    last: str, first: str, birth: str, *, gender: int | None = None, tolerance: int | None = None
) -> str:
    extra = (f"<ipr:Gender>{gender}</ipr:Gender>" if gender is not None else "") + (
        f"<ipr:Tolerance>{tolerance}</ipr:Tolerance>" if tolerance is not None else ""
    )
    return (
        f'<ipr:IdentifyPersonRequest xmlns:ipr="{IPR}"><ipr:SearchCriteria><ipr:PhoneticCriteria>'
        f"<ipr:LastName>{last}</ipr:LastName><ipr:FirstName>{first}</ipr:FirstName><ipr:MiddleName/>"
        f"<ipr:BirthDate>{birth}</ipr:BirthDate>{extra}</ipr:PhoneticCriteria></ipr:SearchCriteria>"
        "</ipr:IdentifyPersonRequest>"
    )


@dataclass
class Reply:
    root: etree._Element

    @classmethod
    def parse(cls, text: str) -> Reply:
        return cls(etree.fromstring(text.encode("utf-8")))

    def code(self, where: str = "ServiceReply") -> int:
        found = self.root.findtext(f"s:{where}/c:ResultSummary/c:ReturnCode", namespaces=NS)
        return int(found) if found is not None else -1

    def ok(self, where: str = "ServiceReply") -> str | None:
        found = self.root.find(f"s:{where}/c:ResultSummary", NS)
        return found.get("ok") if found is not None else None

    def reason(self) -> str | None:
        return self.root.findtext("s:ReplyContext/c:ResultSummary/c:Detail/c:ReasonCode", namespaces=NS) or (
            self.root.findtext("s:ServiceReply/c:ResultSummary/c:Detail/c:ReasonCode", namespaces=NS)
        )

    def field(self) -> str | None:
        return self.root.findtext(".//c:Detail/c:Information/c:FieldName", namespaces=NS)

    def value(self) -> str | None:
        return self.root.findtext(".//c:Detail/c:Information/c:FieldValue", namespaces=NS)

    def ticket(self) -> str | None:
        return self.root.findtext("s:ReplyContext/s:Message/s:Ticket", namespaces=NS)

    def all(self, path: str) -> list[str]:
        return [e.text or "" for e in self.root.iterfind(path, NS)]
