"""Local accounts and sessions: the simulated sign-in of the web pages.

Each account has one role. Officers and OCMW social workers work for one municipality (NIS code), a
citizen account is tied to one INSZ, an institution administrator may name their organisation (KBO).
Five failed sign-ins lock an account for fifteen minutes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, select, update

from kruispunt import identity
from kruispunt.web.passwords import burn_time, hash_password, needs_rehash, verify_password
from kruispunt.web.tables import web_account, web_session

SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")


class Role(StrEnum):
    OFFICER = "officer"
    OCMW = "ocmw"
    ADMIN = "admin"
    RESEARCHER = "researcher"
    CITIZEN = "citizen"


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


class SignInRefused(Exception):
    """Wrong user name or password, or a locked or disabled account (deliberately not told apart)."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    insz: str | None
    municipality_nis: str | None
    organisation: str | None
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        insz=row.insz,
        municipality_nis=row.municipality_nis,
        organisation=row.organisation,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class NewAccount:
    """What ``add_account`` needs; the scope fields depend on the role."""

    username: str
    role: Role
    password: str
    display_name: str | None = None
    insz: str | None = None
    municipality_nis: str | None = None
    organisation: str | None = None


def _checked_scope(engine: Engine, new: NewAccount) -> dict[str, str | None]:
    scope: dict[str, str | None] = {"insz": None, "municipality_nis": None, "organisation": None}
    if new.role is Role.CITIZEN:
        if not new.insz:
            raise AccountError("a citizen account needs the citizen's INSZ (--insz)")
        number = identity.Insz.parse(new.insz).number
        if identity.find_person(engine, number) is None:
            raise AccountError(f"{identity.Insz.parse(number).formatted} is not in the register")
        scope["insz"] = number
    if new.role in (Role.OFFICER, Role.OCMW):
        if not new.municipality_nis:
            raise AccountError(f"a {new.role} account needs a municipality NIS code (--municipality)")
        scope["municipality_nis"] = identity.municipality(new.municipality_nis).nis
    if new.organisation:
        scope["organisation"] = identity.KboNumber.parse(new.organisation).number
    return scope


def _display_name(engine: Engine, new: NewAccount, scope: dict[str, str | None]) -> str:
    if new.display_name:
        return new.display_name
    if scope["insz"]:
        record = identity.find_person(engine, scope["insz"])
        if record is not None:
            return f"{record.first_name} {record.last_name}"
    return new.username


def add_account(engine: Engine, new: NewAccount) -> Account:
    """Create an account; raises AccountError (or InvalidNumber, UnknownMunicipality) when it cannot."""
    if not _USERNAME.match(new.username):
        raise AccountError("a user name is 3 to 80 characters: lower-case letters, digits, '.', '_', '-'")
    if len(new.password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    scope = _checked_scope(engine, new)
    values = {
        "username": new.username,
        "display_name": _display_name(engine, new, scope),
        "role": new.role.value,
        "password_hash": hash_password(new.password),
        "disabled": False,
        "failed_attempts": 0,
        "created_at": _now(),
        **scope,
    }
    with engine.begin() as conn:
        if conn.execute(select(web_account.c.id).where(web_account.c.username == new.username)).first():
            raise AccountError(f"user {new.username!r} exists already")
        account_id = conn.execute(web_account.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
    return get_account(engine, new.username, account_id=account_id)


def get_account(engine: Engine, username: str, *, account_id: int | None = None) -> Account:
    """The account named ``username`` (or with id ``account_id``); raises AccountError."""
    where = web_account.c.id == account_id if account_id is not None else web_account.c.username == username
    with engine.connect() as conn:
        row = conn.execute(select(web_account).where(where)).first()
    if row is None:
        raise AccountError(f"no user {username!r}")
    return _account(row)


def list_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        rows = conn.execute(select(web_account).order_by(web_account.c.role, web_account.c.username)).all()
    return [_account(row) for row in rows]


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace a password, unlock the account and end its sessions."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    account = get_account(engine, username)
    with engine.begin() as conn:
        conn.execute(
            update(web_account)
            .where(web_account.c.id == account.id)
            .values(password_hash=hash_password(password), failed_attempts=0, locked_until=None)
        )
        conn.execute(delete(web_session).where(web_session.c.account_id == account.id))


def set_disabled(engine: Engine, username: str, disabled: bool) -> None:
    """Disable (and sign out everywhere) or re-enable an account."""
    account = get_account(engine, username)
    with engine.begin() as conn:
        conn.execute(update(web_account).where(web_account.c.id == account.id).values(disabled=disabled))
        if disabled:
            conn.execute(delete(web_session).where(web_session.c.account_id == account.id))


def authenticate(engine: Engine, username: str, password: str) -> Account:
    """The account when the password is right and the account usable; raises SignInRefused.

    A failure is recorded (and may lock the account) in its own committed transaction before refusing.
    """
    now = _now()
    with engine.begin() as conn:
        row = conn.execute(select(web_account).where(web_account.c.username == username.strip())).first()
        if row is None:
            burn_time(password)
            accepted = False
        else:
            accepted = _check(conn, row, password, now)
    if row is None or not accepted:
        raise SignInRefused
    return _account(row)


def _check(conn: Connection, row: Row[Any], password: str, now: datetime) -> bool:
    locked = row.locked_until is not None and row.locked_until > now
    if not verify_password(password, row.password_hash) or locked or row.disabled:
        _record_failure(conn, row.id, row.failed_attempts, now, already_locked=locked)
        return False
    values: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
    if needs_rehash(row.password_hash):
        values["password_hash"] = hash_password(password)
    conn.execute(update(web_account).where(web_account.c.id == row.id).values(**values))
    return True


def _record_failure(
    conn: Connection, account_id: int, failures: int, now: datetime, *, already_locked: bool
) -> None:
    failures += 1
    locked_until = now + LOCKOUT if failures >= MAX_FAILED_ATTEMPTS and not already_locked else None
    values: dict[str, object] = {"failed_attempts": failures}
    if locked_until is not None:
        values.update(locked_until=locked_until, failed_attempts=0)
    conn.execute(update(web_account).where(web_account.c.id == account_id).values(**values))


def start_session(engine: Engine, account: Account) -> str:
    """A new session for ``account``; returns the token for the browser's cookie."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(delete(web_session).where(web_session.c.expires_at <= now))
        conn.execute(
            web_session.insert().values(
                token_hash=_token_hash(token),
                account_id=account.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token


def find_session(engine: Engine, token: str) -> Session | None:
    """The live session behind ``token``, or None (expired, signed out, account disabled)."""
    statement = (
        select(web_account, web_session.c.csrf_token, web_session.c.expires_at)
        .join(web_session, web_session.c.account_id == web_account.c.id)
        .where(web_session.c.token_hash == _token_hash(token), web_session.c.expires_at > _now())
    )
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    if row is None or row.disabled:
        return None
    return Session(account=_account(row), csrf_token=row.csrf_token, expires_at=row.expires_at)


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(web_session).where(web_session.c.token_hash == _token_hash(token)))


def count_sessions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(web_session).where(web_session.c.expires_at > _now())
            ).scalar_one()
        )
