"""The KSZ-compatible SOAP connector: OCMW software sends SSDN documents, the hub answers them.

Services: ``OCMWCPASManageAccess`` and ``OCMWCPASIdentifyPerson``, version 20050930, through one
``sendXML`` operation at ``/connectors/webservice/KSZBCSSWebServiceConnectorPort`` (docs/soap.md). A façade:
every call goes through the hub's checks and audit log.

Public API: the client mapping :func:`add_client`, :func:`find_client`, :func:`list_clients`,
:func:`remove_client`, :func:`renew_client`, :class:`SoapClient`; :func:`answer` (one SOAP request in
process), :func:`envelope` (an ``xmlString`` in a SOAP envelope); :data:`router` (FastAPI); :data:`PATH`,
:data:`SOAP_ACTION`.
"""

from kruispunt.network.soap.clients import (
    SoapClient,
    add_client,
    find_client,
    list_clients,
    remove_client,
    renew_client,
)
from kruispunt.network.soap.connector import Answer, answer
from kruispunt.network.soap.routes import PATH, router
from kruispunt.network.soap.ssdn import SOAP_ACTION, envelope

__all__ = [
    "PATH",
    "SOAP_ACTION",
    "Answer",
    "SoapClient",
    "add_client",
    "answer",
    "envelope",
    "find_client",
    "list_clients",
    "remove_client",
    "renew_client",
    "router",
]
