"""Partner institutions and the bearer tokens that authenticate their calls.

A token is shown once, when issued; the hub keeps only its SHA-256 hash. Tokens carry 256 bits of
randomness, so a plain (unsalted) hash is safe to store and lets the hub find the credential by index.
Rotation is issuing a new token and revoking the old ones; revocation takes effect on the next call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from kruispunt.identity import InvalidNumber, KboNumber
from kruispunt.network.reasons import NetworkError, Reason, Refused
from kruispunt.network.tables import partner, partner_credential

TOKEN_PREFIX = "kp_"
# What authenticating a call reads about its credential and partner, in this order (the hub's hot
# statement, its slower path and the feeds all select these first).
CREDENTIAL_COLUMNS = (
    partner_credential.c.id,
    partner_credential.c.partner_id,
    partner_credential.c.token_hash,
    partner_credential.c.revoked_at,
    partner.c.kbo,
    partner.c.sector,
)


def now() -> datetime:
    """Naive UTC, as every timestamp column of the hub stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Partner:
    id: int
    kbo: str
    sector: int
    name: str
    active_tokens: int = 0


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued credential; ``token`` is never stored and cannot be shown again."""

    credential_id: int
    partner_kbo: str
    token: str
    revoked: int


def parse_kbo(text: str) -> str:
    try:
        return KboNumber.parse(text).number
    except InvalidNumber as error:
        raise NetworkError(f"{text!r} is not a valid KBO number: {error}") from None


def add_partner(engine: Engine, kbo: str, sector: int, name: str) -> Partner:
    """Register an institution; its KBO number identifies it in every exchange and log record."""
    number = parse_kbo(kbo)
    if not 1 <= sector <= 999:
        raise NetworkError(f"sector {sector} is not a sector code (1 to 999)")
    if not name.strip():
        raise NetworkError("a partner needs a name")
    try:
        with engine.begin() as conn:
            new_id = conn.execute(
                partner.insert().values(kbo=number, sector=sector, name=name.strip(), created_at=now())
            ).inserted_primary_key
    except IntegrityError:
        raise NetworkError(f"a partner with KBO number {number} already exists") from None
    assert new_id is not None
    return Partner(int(new_id[0]), number, sector, name.strip())


def get_partner(conn: Connection, kbo: str) -> Partner:
    number = parse_kbo(kbo)
    row = conn.execute(select(partner).where(partner.c.kbo == number)).first()
    if row is None:
        raise NetworkError(f"no partner with KBO number {number}")
    return Partner(row.id, row.kbo, row.sector, row.name)


def find_partner(engine: Engine, kbo: str) -> Partner | None:
    """The partner with KBO number ``kbo``, or None."""
    with engine.connect() as conn:
        try:
            return get_partner(conn, kbo)
        except NetworkError:
            return None


def list_partners(engine: Engine) -> list[Partner]:
    """Every partner with its number of unrevoked tokens."""
    with engine.connect() as conn:
        partners = conn.execute(select(partner).order_by(partner.c.kbo)).all()
        counts = {
            row.partner_id: int(row.n)
            for row in conn.execute(
                select(partner_credential.c.partner_id, func.count().label("n"))
                .where(partner_credential.c.revoked_at.is_(None))
                .group_by(partner_credential.c.partner_id)
            )
        }
    return [Partner(p.id, p.kbo, p.sector, p.name, counts.get(p.id, 0)) for p in partners]


def issue_token(engine: Engine, kbo: str, *, label: str = "", rotate: bool = False) -> IssuedToken:
    """A new bearer token for the partner; with ``rotate`` its other tokens are revoked at once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    stamp = now()
    with engine.begin() as conn:
        found = get_partner(conn, kbo)
        revoked = 0
        if rotate:
            revoked = _revoke(conn, found.id, None, stamp)
        new_id = conn.execute(
            partner_credential.insert().values(
                partner_id=found.id,
                token_hash=token_hash(token),
                label=label[:100] or f"issued {stamp:%Y-%m-%d %H:%M}",
                created_at=stamp,
            )
        ).inserted_primary_key
    assert new_id is not None
    return IssuedToken(int(new_id[0]), found.kbo, token, revoked)


def revoke_tokens(engine: Engine, kbo: str, credential_id: int | None = None) -> int:
    """Revoke one credential (by id) or all the partner's credentials; returns how many were revoked."""
    with engine.begin() as conn:
        found = get_partner(conn, kbo)
        count = _revoke(conn, found.id, credential_id, now())
    if credential_id is not None and count == 0:
        raise NetworkError(f"partner {found.kbo} has no unrevoked credential {credential_id}")
    return count


def _revoke(conn: Connection, partner_id: int, credential_id: int | None, stamp: datetime) -> int:
    statement = update(partner_credential).where(
        partner_credential.c.partner_id == partner_id, partner_credential.c.revoked_at.is_(None)
    )
    if credential_id is not None:
        statement = statement.where(partner_credential.c.id == credential_id)
    return conn.execute(statement.values(revoked_at=stamp)).rowcount


@dataclass(frozen=True)
class Credential:
    """Who is calling, as established from a valid bearer token (``credential_id`` None: an in-process
    caller acting for the partner, see ``Hub.exchange_as``)."""

    credential_id: int | None
    partner_id: int
    kbo: str
    sector: int
    revoked: bool


def credential_matches(stored_hash: str, token: str) -> bool:
    """Constant-time comparison, so the response time says nothing about how much of a token matched."""
    return hmac.compare_digest(stored_hash, token_hash(token))


def required_token(token: str | None) -> str:
    """The call's bearer token; refused when the call has none."""
    if not token:
        raise Refused(Reason.TOKEN_MISSING, "send 'Authorization: Bearer <token>'", field="Authorization")
    return token


def check_token(stored_hash: str | None, token: str) -> None:
    """Refuse a token whose hash was not found (``stored_hash`` None) or does not match it."""
    if stored_hash is None or not credential_matches(stored_hash, token):
        raise Refused(Reason.TOKEN_INVALID, "the bearer token is not known", field="Authorization")


def check_not_revoked(revoked_at: datetime | None) -> None:
    """Refuse a revoked credential (after the caller has noted whose it is, for the audit record)."""
    if revoked_at is not None:
        raise Refused(Reason.TOKEN_REVOKED, f"this token was revoked on {revoked_at:%Y-%m-%d %H:%M} UTC")
