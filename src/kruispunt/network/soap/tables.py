"""Tables of the SOAP connector: which SSDN AuthorizedUser (OrgUnit, MatrixID) speaks for which partner.

A client is bound to a credential of its partner, issued when the client is added and never shown: the
connector vouches for the caller by its OrgUnit, MatrixID and network address, and the hub then checks
that credential like a bearer token (revoking the partner's tokens revokes SOAP access too).
"""

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from kruispunt.store import ID, metadata

soap_client = Table(
    "soap_client",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("org_unit", String(20), nullable=False),
    Column("matrix_id", Integer, nullable=False),
    Column("partner_id", ID, ForeignKey("partner.id"), nullable=False),
    Column("credential_id", ID, ForeignKey("partner_credential.id"), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("networks", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("org_unit", "matrix_id", name="uq_soap_client"),
)
