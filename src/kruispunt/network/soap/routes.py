"""HTTP face of the SOAP connector: ``POST`` the envelope, ``GET ?wsdl`` for the service description."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from kruispunt.network.soap.connector import answer
from kruispunt.network.soap.ssdn import SOAP_ACTION, fault

PATH = "/connectors/webservice/KSZBCSSWebServiceConnectorPort"
XML = "text/xml; charset=utf-8"

router = APIRouter(tags=["soap"])


@cache
def _wsdl_template() -> str:
    return files("kruispunt.network.soap").joinpath("xsd", "WebServiceConnector.wsdl").read_text("utf-8")


def wsdl(location: str) -> str:
    """The WSDL with its service address set to ``location``."""
    return _wsdl_template().replace('"{location}"', quoteattr(location))


@router.get(PATH, include_in_schema=False)
async def describe(request: Request) -> Response:
    """The WSDL at ``?wsdl``."""
    if "wsdl" not in {k.lower() for k in request.query_params}:
        return Response(fault("POST a SOAP 1.1 envelope here; the WSDL is at ?wsdl"), 405, media_type=XML)
    location = str(request.url.replace(query=""))
    return Response(wsdl(location), media_type=XML)


@router.post(PATH, include_in_schema=False)
async def send_xml(request: Request) -> Response:
    """The ``sendXML`` operation: an SSDNRequest in ``xmlString``, an SSDNReply back."""
    action = request.headers.get("soapaction")
    if action is not None and action.strip('"') not in ("", SOAP_ACTION):
        return Response(fault(f"unknown SOAPAction {action}; use {SOAP_ACTION}"), 500, media_type=XML)
    content = await request.body()
    client = request.client.host if request.client else None
    result = await run_in_threadpool(answer, request.app.state.hub, content, client)
    return Response(result.body, result.status, media_type=XML)
