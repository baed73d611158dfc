"""SSDN documents with lxml: the SOAP envelope, the request read and validated, the reply built.

Requests are parsed without DTDs, entities or network access, then validated against the schemas in
``xsd/`` (written from the public description of the KSZ-BCSS interface). Any problem becomes an
:class:`SsdnError` naming the field, which the connector answers as an SSDNReply with ReturnCode 10000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.resources import files

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSC = "http://ksz-bcss.fgov.be/connectors/WebServiceConnector"
SERVICE = "http://www.ksz-bcss.fgov.be/XSD/SSDN/Service"
COMMON = "http://www.ksz-bcss.fgov.be/XSD/SSDN/Common"
SOAP_ACTION = "http://ksz-bcss.fgov.be/connectors/WebServiceConnector/sendXML"

RETURN_OK = 0
RETURN_WARNING = 1
RETURN_ERROR = 10000
MAX_DOCUMENT_CHARS = 1_000_000

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=True
)
_EXPECTED = re.compile(r"Expected is (?:one of )?\( ?(?:\{[^}]*\})?([A-Za-z_][\w.-]*)")
_NAMESPACE = re.compile(r"\{(?:https?|urn):[^}]*\}")
_NAMED = re.compile(r"Element '(?:\{[^}]*\})?([A-Za-z_][\w.-]*)'")


class EnvelopeError(ValueError):
    """The SOAP envelope itself is unusable: answered with a SOAP Fault, not an SSDN reply."""


@dataclass(frozen=True)
class Detail:
    """One Detail of a ResultSummary: why, who says so (hub or provider), and the field concerned."""

    reason: str
    diagnostic: str
    severity: str = "FATAL"
    author: str = "kruispunt/hub"
    field: str | None = None
    value: str | None = None


class SsdnError(Exception):
    """A request answered with ReturnCode 10000 and this detail."""

    def __init__(self, detail: Detail, audit_seq: int | None = None, reference: str | None = None) -> None:
        super().__init__(detail.diagnostic)
        self.detail = detail
        self.audit_seq = audit_seq
        self.reference = reference  # the message's Reference, when it could be read


def invalid(reason: str, diagnostic: str, field: str, value: str | None = None) -> SsdnError:
    return SsdnError(Detail(reason, diagnostic, field=field, value=value))


@dataclass(frozen=True)
class AuthorizedUser:
    user_id: str
    email: str | None
    org_unit: str
    matrix_id: int
    matrix_sub_id: int | None


@dataclass(frozen=True)
class SsdnRequest:
    """A validated SSDNRequest: who asks, the message, and the service request element."""

    user: AuthorizedUser
    reference: str
    time_request: str
    service_id: str
    version: str
    body: etree._Element
    root: etree._Element = field(repr=False)


# --- the SOAP envelope ---


def read_envelope(content: bytes) -> str:
    """The text of the body's ``xmlString`` element (also inside a ``sendXML`` wrapper)."""
    try:
        envelope = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as error:
        raise EnvelopeError(f"the SOAP envelope is not well-formed XML: {error.msg}") from None
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
        raise EnvelopeError("the document is not a SOAP 1.1 Envelope")
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    parts = _elements(body) if body is not None else []
    if not parts:
        raise EnvelopeError("the SOAP Body is missing or empty")
    element = parts[0]
    if etree.QName(element).localname == "sendXML" and _elements(element):
        element = _elements(element)[0]
    if etree.QName(element).localname != "xmlString" or etree.QName(element).namespace not in (WSC, None):
        raise EnvelopeError(f"the SOAP Body holds no {{{WSC}}}xmlString element")
    return element.text or ""


def _elements(parent: etree._Element) -> list[etree._Element]:
    """The child elements, without comments and processing instructions."""
    return [child for child in parent if isinstance(child.tag, str)]


def envelope(xml_text: str) -> bytes:
    """A SOAP 1.1 response whose body is one ``xmlString`` element holding ``xml_text``."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    etree.SubElement(body, f"{{{WSC}}}xmlString", nsmap={None: WSC}).text = xml_text
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def fault(message: str, code: str = "soapenv:Client") -> bytes:
    """A SOAP 1.1 Fault, for envelopes that carry no SSDN document at all."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = code
    etree.SubElement(element, "faultstring").text = message
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- the SSDN request ---


@cache
def schema() -> etree.XMLSchema:
    """The envelope and every service's schema, loaded once on first use."""
    entry = files("kruispunt.network.soap").joinpath("xsd", "SSDN.xsd")
    return etree.XMLSchema(etree.parse(str(entry)))


def parse_request(text: str) -> SsdnRequest:
    """Parse and validate an SSDNRequest; raises SsdnError naming the field at fault."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise invalid(
            "malformed_document", f"the document exceeds {MAX_DOCUMENT_CHARS} characters", "xmlString"
        )
    if not text.strip():
        raise invalid("malformed_document", "xmlString is empty: it must hold an SSDNRequest", "xmlString")
    try:
        root = etree.fromstring(text.strip().encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as error:
        raise invalid(
            "malformed_document",
            f"xmlString is not well-formed XML (line {error.lineno}): {error.msg}",
            "xmlString",
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise invalid("malformed_document", "document type declarations are not accepted", "xmlString")
    if root.tag != f"{{{SERVICE}}}SSDNRequest":
        raise invalid(
            "schema_invalid",
            f"the document is {etree.QName(root).localname!r}, expected SSDNRequest in {SERVICE}",
            etree.QName(root).localname,
        )
    validator = schema()
    if not validator.validate(root):
        refusal = _schema_error(validator.error_log[0], root)
        refusal.reference = _text(root, "s:RequestContext/s:Message/s:Reference")
        raise refusal
    return _read(root)


def _schema_error(error: etree._LogEntry, root: etree._Element) -> SsdnError:
    """The first schema violation as an SsdnError: the element's path, and a missing child's name."""
    message = error.message
    named = _NAMED.search(message)
    name = named.group(1) if named else None
    element = next(
        (e for e in root.iter() if e.sourceline == error.line and etree.QName(e).localname == name), None
    )
    if element is not None:
        names = [etree.QName(e).localname for e in (*reversed(list(element.iterancestors())), element)]
    else:
        names = [name or "xmlString"]
    expected = _EXPECTED.search(message)
    if "Missing child element" in message and expected:
        names.append(expected.group(1))
    value = element.text if element is not None and len(element) == 0 else None
    diagnostic = _NAMESPACE.sub("", message)
    return invalid("schema_invalid", diagnostic, "/".join(names), value)


def _text(parent: etree._Element, path: str) -> str | None:
    found = parent.find(path, {"s": SERVICE})
    return found.text if found is not None and found.text is not None else None


def _read(root: etree._Element) -> SsdnRequest:
    user = root.find("s:RequestContext/s:AuthorizedUser", {"s": SERVICE})
    assert user is not None  # the schema requires it
    sub_id = _text(user, "s:MatrixSubID")
    service = root.find("s:ServiceRequest", {"s": SERVICE})
    assert service is not None
    return SsdnRequest(
        AuthorizedUser(
            (_text(user, "s:UserID") or "").strip(),
            _text(user, "s:Email"),
            (_text(user, "s:OrgUnit") or "").strip(),
            int(_text(user, "s:MatrixID") or 0),
            int(sub_id) if sub_id is not None else None,
        ),
        (_text(root, "s:RequestContext/s:Message/s:Reference") or "").strip(),
        _text(root, "s:RequestContext/s:Message/s:TimeRequest") or "",
        (_text(service, "s:ServiceId") or "").strip(),
        (_text(service, "s:Version") or "").strip(),
        _elements(service)[2],
        root,
    )


# --- the SSDN reply ---


def ssdn_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True)
class Outcome:
    """What a service answered: its reply element (None when refused), details, and the audit record."""

    reply: etree._Element | None
    details: tuple[Detail, ...] = ()
    audit_seq: int | None = None


def _summary(parent: etree._Element, details: tuple[Detail, ...]) -> None:
    fatal = any(d.severity == "FATAL" for d in details)
    ok, code = (
        ("NO", RETURN_ERROR) if fatal else ("WARNING", RETURN_WARNING) if details else ("YES", RETURN_OK)
    )
    summary = etree.SubElement(parent, f"{{{COMMON}}}ResultSummary", ok=ok, nsmap={"common": COMMON})
    etree.SubElement(summary, f"{{{COMMON}}}ReturnCode").text = str(code)
    for detail in details:
        element = etree.SubElement(summary, f"{{{COMMON}}}Detail")
        etree.SubElement(element, f"{{{COMMON}}}Severity").text = detail.severity
        etree.SubElement(element, f"{{{COMMON}}}ReasonCode").text = detail.reason
        etree.SubElement(element, f"{{{COMMON}}}Diagnostic").text = detail.diagnostic
        etree.SubElement(element, f"{{{COMMON}}}AuthorCodeList").text = detail.author
        if detail.field is not None:
            information = etree.SubElement(element, f"{{{COMMON}}}Information")
            etree.SubElement(information, f"{{{COMMON}}}FieldName").text = detail.field
            if detail.value is not None:
                etree.SubElement(information, f"{{{COMMON}}}FieldValue").text = detail.value[:200]


def build_reply(
    request: SsdnRequest | None,
    outcome: Outcome,
    *,
    received: datetime,
    responded: datetime,
    ticket: str,
    reference: str | None = None,
) -> str:
    """The SSDNReply document (as text) for ``request`` (None when it could not be read)."""
    s = f"{{{SERVICE}}}"
    root = etree.Element(f"{s}SSDNReply", nsmap={None: SERVICE})
    context = etree.SubElement(root, f"{s}ReplyContext")
    fatal = tuple(d for d in outcome.details if d.severity == "FATAL")
    _summary(context, fatal)
    if request is not None:
        original = request.root.find(f"{s}RequestContext/{s}AuthorizedUser")
        assert original is not None
        context.append(_copy(original))
    message = etree.SubElement(context, f"{s}Message")
    if request is not None or reference is not None:
        etree.SubElement(message, f"{s}Reference").text = request.reference if request else reference
    etree.SubElement(message, f"{s}Ticket").text = ticket
    if request is not None:
        etree.SubElement(message, f"{s}TimeRequest").text = request.time_request
    etree.SubElement(message, f"{s}TimeReceive").text = ssdn_time(received)
    etree.SubElement(message, f"{s}TimeResponse").text = ssdn_time(responded)
    if request is not None:
        service = etree.SubElement(root, f"{s}ServiceReply")
        _summary(service, outcome.details)
        etree.SubElement(service, f"{s}ServiceId").text = request.service_id
        etree.SubElement(service, f"{s}Version").text = request.version
        if outcome.reply is not None:
            service.append(outcome.reply)
    return str(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), "utf-8")


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))
