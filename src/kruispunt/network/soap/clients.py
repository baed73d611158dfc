"""SSDN clients: an AuthorizedUser's OrgUnit and MatrixID mapped to a partner and its allowed networks.

Deny by default: a SOAP call is carried out only for a known (OrgUnit, MatrixID) calling from one of the
networks given for it. The client's credential is issued at ``add_client`` and its token thrown away, so
only this connector can use it; the hub still checks it for revocation on every call.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, delete, select, update
from sqlalchemy.exc import IntegrityError

from kruispunt.network.deliberations import PURPOSE_PATTERN
from kruispunt.network.partners import get_partner, issue_token, now, parse_kbo, revoke_tokens
from kruispunt.network.reasons import NetworkError
from kruispunt.network.soap.tables import soap_client
from kruispunt.network.tables import partner

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SoapClient:
    org_unit: str
    matrix_id: int
    partner_id: int
    partner_kbo: str
    partner_name: str
    sector: int
    credential_id: int
    purpose: str
    networks: tuple[str, ...]
    created_at: datetime

    def allows(self, address: str | None) -> bool:
        """Whether a call from ``address`` (an IP address) may speak for this client."""
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n) for n in self.networks)


def parse_networks(texts: Sequence[str]) -> tuple[str, ...]:
    """CIDR networks (a bare address is a /32 or /128); raises NetworkError naming a bad one."""
    found: list[Network] = []
    for text in texts:
        try:
            found.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise NetworkError(f"{text!r} is not an IP network (e.g. 192.0.2.0/24 or 2001:db8::1)") from None
    if not found:
        raise NetworkError("a SOAP client needs at least one allowed network (--allow)")
    return tuple(dict.fromkeys(str(n) for n in found))


def _check_org_unit(org_unit: str) -> str:
    value = org_unit.strip()
    if not value or len(value) > 20:
        raise NetworkError(f"OrgUnit {org_unit!r}: 1 to 20 characters")
    return value


def add_client(
    engine: Engine, *, org_unit: str, matrix_id: int, partner_kbo: str, purpose: str, networks: Sequence[str]
) -> SoapClient:
    """Map an SSDN AuthorizedUser to a partner; ``purpose`` is the deliberation purpose of its calls."""
    unit = _check_org_unit(org_unit)
    if not 0 <= matrix_id <= 999:
        raise NetworkError(f"MatrixID {matrix_id} is not a sector code (0 to 999)")
    if not PURPOSE_PATTERN.match(purpose):
        raise NetworkError(f"purpose {purpose!r}: use a short code of lower-case letters, digits, . _ -")
    allowed = parse_networks(networks)
    kbo = parse_kbo(partner_kbo)
    with engine.connect() as conn:
        get_partner(conn, kbo)
    issued = issue_token(engine, kbo, label=f"soap {unit}/{matrix_id}")
    try:
        with engine.begin() as conn:
            conn.execute(
                soap_client.insert().values(
                    org_unit=unit,
                    matrix_id=matrix_id,
                    partner_id=get_partner(conn, kbo).id,
                    credential_id=issued.credential_id,
                    purpose=purpose,
                    networks=json.dumps(list(allowed)),
                    created_at=now(),
                )
            )
    except IntegrityError:
        revoke_tokens(engine, kbo, issued.credential_id)
        raise NetworkError(f"OrgUnit {unit} with MatrixID {matrix_id} is already a SOAP client") from None
    found = find_client(engine, unit, matrix_id)
    assert found is not None
    return found


def _select() -> Select[Any]:
    return select(soap_client, partner.c.kbo, partner.c.name, partner.c.sector).join(
        partner, partner.c.id == soap_client.c.partner_id
    )


def _client(row: object) -> SoapClient:
    return SoapClient(
        row.org_unit,  # type: ignore[attr-defined]
        row.matrix_id,  # type: ignore[attr-defined]
        row.partner_id,  # type: ignore[attr-defined]
        row.kbo,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        row.sector,  # type: ignore[attr-defined]
        row.credential_id,  # type: ignore[attr-defined]
        row.purpose,  # type: ignore[attr-defined]
        tuple(json.loads(row.networks)),  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
    )


def find_client(engine: Engine, org_unit: str, matrix_id: int) -> SoapClient | None:
    """The client known by ``org_unit`` and ``matrix_id``, or None."""
    statement = _select().where(
        soap_client.c.org_unit == org_unit.strip(), soap_client.c.matrix_id == matrix_id
    )
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    return _client(row) if row is not None else None


def list_clients(engine: Engine) -> list[SoapClient]:
    """Every SOAP client, by OrgUnit and MatrixID."""
    with engine.connect() as conn:
        rows = conn.execute(_select().order_by(soap_client.c.org_unit, soap_client.c.matrix_id)).all()
    return [_client(r) for r in rows]


def remove_client(engine: Engine, org_unit: str, matrix_id: int) -> SoapClient:
    """Forget a client and revoke its credential at once."""
    found = find_client(engine, org_unit, matrix_id)
    if found is None:
        raise NetworkError(f"no SOAP client with OrgUnit {org_unit} and MatrixID {matrix_id}")
    with engine.begin() as conn:
        conn.execute(
            delete(soap_client).where(
                soap_client.c.org_unit == found.org_unit, soap_client.c.matrix_id == found.matrix_id
            )
        )
    with contextlib.suppress(NetworkError):  # already revoked (e.g. by a rotation of the partner's tokens)
        revoke_tokens(engine, found.partner_kbo, found.credential_id)
    return found


def renew_client(engine: Engine, org_unit: str, matrix_id: int) -> SoapClient:
    """A new credential for the client (after a token rotation revoked the old one, which is revoked)."""
    found = find_client(engine, org_unit, matrix_id)
    if found is None:
        raise NetworkError(f"no SOAP client with OrgUnit {org_unit} and MatrixID {matrix_id}")
    issued = issue_token(engine, found.partner_kbo, label=f"soap {found.org_unit}/{found.matrix_id}")
    with engine.begin() as conn:
        conn.execute(
            update(soap_client)
            .where(soap_client.c.org_unit == found.org_unit, soap_client.c.matrix_id == found.matrix_id)
            .values(credential_id=issued.credential_id)
        )
    with contextlib.suppress(NetworkError):  # already revoked
        revoke_tokens(engine, found.partner_kbo, found.credential_id)
    renewed = find_client(engine, org_unit, matrix_id)
    assert renewed is not None
    return renewed
