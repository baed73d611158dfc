"""The exchange flow: authenticate, authorise, answer (locally or through a provider), log, reply.

Checks run in the order of the reference directory model: the bearer token; the call's metadata
(message id, end user, case reference, purpose); an idempotent retry is answered from the stored reply;
a deliberation covering requester, service and purpose; an integration of the person by the requester in
a required capacity and period. Every outcome is written to the audit log in the transaction that stores
the reply; when that write fails the exchange is refused, so no data leaves the hub unlogged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date
from time import perf_counter_ns
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Connection, Engine, Select, bindparam, literal_column, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from kruispunt import identity, statuses
from kruispunt.network import audit, metrics, reader
from kruispunt.network.deliberations import PURPOSE_PATTERN, Deliberation, choose, of_partner
from kruispunt.network.directory import (
    Integration,
    PersonResolver,
    Route,
    check_integration,
    decide_integration,
    end_in,
    integrations_of,
    parse_insz,
    register_in,
    route_for,
)
from kruispunt.network.partners import (
    Credential,
    Partner,
    check_not_revoked,
    check_token,
    now,
    parse_kbo,
    required_token,
    token_hash,
)
from kruispunt.network.reasons import NetworkError, Reason, Refused
from kruispunt.network.schemas import PersonOut, ProviderPerson, ProviderStatuses, StatusOut
from kruispunt.network.services import DIRECTORY, IDENTITY, STATUSES
from kruispunt.network.tables import exchange_reply, hub_policy, partner, partner_credential
from kruispunt.network.writer import AuditWriter, LoopWriter

log = logging.getLogger("kruispunt.exchange")

MESSAGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,99}$")
TEXT_PATTERN = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,99}$")
MAX_PROVIDER_ANSWER = 1_000_000


@dataclass(frozen=True)
class CallMeta:
    """What every call carries besides its question (HTTP headers, see docs/api.md)."""

    token: str | None
    message_id: str | None
    end_user: str | None
    case_reference: str | None
    purpose: str | None


def check_metadata(meta: CallMeta, *, full: bool = True) -> None:
    """The message id always; end user, case reference and purpose too when ``full`` (every exchange of
    person data; a feed read or batch upload carries the message id alone). Refused at the first fault."""
    checks = (
        ("X-Message-Id", meta.message_id, MESSAGE_ID_PATTERN, "1-100 of A-Z a-z 0-9 . _ : / @ -", True),
        ("X-End-User", meta.end_user, TEXT_PATTERN, "1-100 printable ASCII characters", full),
        ("X-Case-Reference", meta.case_reference, TEXT_PATTERN, "1-100 printable ASCII characters", full),
        ("X-Purpose", meta.purpose, PURPOSE_PATTERN, "a purpose code: a-z 0-9 . _ -, at most 60", full),
    )
    for header, value, pattern, rule, required in checks:
        if not value:
            if required:
                raise Refused(Reason.MISSING_HEADER, f"every call carries the {header} header", field=header)
            continue
        if not pattern.match(value):
            raise Refused(Reason.INVALID_HEADER, f"{header} must be {rule}", field=header)


@dataclass(frozen=True)
class StatusQuery:
    """A person's statuses on ``at`` (default today) or overlapping ``start``..``end``."""

    insz: str
    at: date | None = None
    start: date | None = None
    end: date | None = None
    service: ClassVar[str] = STATUSES


@dataclass(frozen=True)
class IdentityQuery:
    insz: str
    at: date | None = None
    service: ClassVar[str] = IDENTITY


@dataclass(frozen=True)
class DirectoryQuery:
    insz: str | None = None
    service: ClassVar[str] = DIRECTORY


@dataclass(frozen=True)
class DirectoryRegistration:
    insz: str
    capacity: int
    start: date
    end: date | None = None
    service: ClassVar[str] = DIRECTORY


@dataclass(frozen=True)
class DirectoryEnding:
    insz: str
    capacity: int
    end: date
    service: ClassVar[str] = DIRECTORY


Request = StatusQuery | IdentityQuery | DirectoryQuery | DirectoryRegistration | DirectoryEnding


@dataclass(frozen=True)
class Reply:
    """The HTTP status and JSON body of one exchange, and how it was logged."""

    status: int
    body: bytes
    reason: Reason | None = None
    audit_seq: int | None = None
    replayed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Exchange:
    """What the hub has learned about one exchange so far (it all goes into the audit record)."""

    meta: CallMeta
    request: Request
    started_ns: int
    digest: str
    credential: Credential | None = None
    insz: str | None = None
    person_id: int | None = None
    deliberation: str | None = None
    capacity: int | None = None
    provider: str | None = None
    provider_us: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    vouched: int | None = None
    acting: str | None = None
    # The policy version read with the credential: the hub's cached deliberations and routes must match it.
    policy_version: int | None = None
    # The connection (and, on SQLite, the hub's turn) that a status consultation's reads share; closed
    # before anything that waits: a provider's answer, the audit writer.
    session: ExitStack | None = None
    conn: Connection | None = None


@dataclass(frozen=True)
class _Stored:
    """The reply kept under a (partner, message id), for idempotent retries."""

    request_digest: str
    http_status: int
    body: str


def _authentication(by: ColumnElement[bool]) -> Select[Any]:
    """The credential, its partner and any reply stored under the call's message id, in one query."""
    return (
        select(*reader.AUTHENTICATION_COLUMNS)
        .join(partner, partner.c.id == partner_credential.c.partner_id)
        .join(hub_policy, hub_policy.c.id == literal_column("1"))
        .join(
            exchange_reply,
            (exchange_reply.c.partner_id == partner_credential.c.partner_id)
            & (exchange_reply.c.message_id == bindparam("message_id")),
            isouter=True,
        )
        .where(by)
    )


# Built once: constructing SQLAlchemy statements costs more than running these on an index.
_AUTH_BY_TOKEN = _authentication(partner_credential.c.token_hash == bindparam("key"))
_AUTH_BY_CREDENTIAL = _authentication(partner_credential.c.id == bindparam("key"))
# An in-process caller acting for a partner (see Hub.exchange_as): the partner and any stored reply.
_AUTH_BY_PARTNER = (
    select(
        partner.c.id.label("partner_id"),
        partner.c.kbo,
        partner.c.sector,
        exchange_reply.c.request_digest,
        exchange_reply.c.http_status,
        exchange_reply.c.body,
        hub_policy.c.version,
    )
    .select_from(partner)
    .join(hub_policy, hub_policy.c.id == literal_column("1"))
    .outerjoin(
        exchange_reply,
        (exchange_reply.c.partner_id == partner.c.id)
        & (exchange_reply.c.message_id == bindparam("message_id")),
    )
    .where(partner.c.kbo == bindparam("key"))
)

Effect = Callable[[Connection], dict[str, Any]]


@dataclass(frozen=True)
class _Policy:
    """A partner's deliberations for a service and the service's provider route, as of a policy version."""

    version: int
    deliberations: list[Deliberation]
    route: Route | None


class _Elsewhere(Exception):
    """The status consultation cannot be served on the event loop (a provider answers it)."""


_sp = statuses.status_period
# A person's current knowledge (not superseded) of status periods overlapping [first, last], by the
# person id the integration check found: the same rows as statuses.person_statuses, without re-resolving
# the number. Built once.
_STATUSES = (
    select(_sp.c.status, _sp.c.start_date, _sp.c.end_date, _sp.c.source)
    .where(
        _sp.c.person_id == bindparam("person_id"),
        _sp.c.superseded_at.is_(None),
        _sp.c.start_date <= bindparam("last"),
        or_(_sp.c.end_date.is_(None), _sp.c.end_date >= bindparam("first")),
    )
    .order_by(_sp.c.start_date, _sp.c.status, _sp.c.source)
)


def _digest(meta: CallMeta, request: Request) -> str:
    """What makes two calls "the same request" for idempotency: the question and its metadata."""
    # vars: the request types are flat dataclasses, so this is asdict's dict without its deep copies.
    question = dict(vars(request))
    canonical = [request.service, type(request).__name__, question, meta.end_user, meta.case_reference]
    canonical.append(meta.purpose)
    return hashlib.sha256(json.dumps(canonical, default=str, sort_keys=True).encode()).hexdigest()


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Hub:
    """One per process: the engine, a person-number cache, the policy cache and the HTTP client for providers.

    On SQLite (one writer at a time, every transaction ``BEGIN IMMEDIATE``) the hub's threads take turns
    on a lock instead of spinning in SQLite's busy handler; on PostgreSQL they run in parallel, as many at
    once as the connection pool holds.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        http: httpx.Client | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.engine = engine
        self._persons = PersonResolver(engine)
        self._given_http = http
        self._own_http: httpx.Client | None = None
        self._today = today
        self._lock: threading.Lock | threading.BoundedSemaphore
        writer_turn: Callable[[], AbstractContextManager[None]]
        if engine.dialect.name == "sqlite":
            self._lock = threading.Lock()
            writer_turn = self._turn
        else:
            # At most as many threads reading at once as the pool keeps connections (less the audit
            # writer's): more would each open and close an overflow connection, a new server process on
            # PostgreSQL, per call. The writer does not queue behind the readers.
            self._lock = threading.BoundedSemaphore(_readers(engine))
            writer_turn = nullcontext
        self._writer = AuditWriter(engine, writer_turn)
        self._loop_writer = LoopWriter(engine, self._writer)
        self._start = threading.Lock()
        self._policies: dict[tuple[int, str], _Policy] = {}
        self._reader = reader.reader_for(engine)

    def close(self) -> None:
        self._loop_writer.close()
        self._writer.close()
        self._reader.close()
        if self._own_http is not None:
            self._own_http.close()
            self._own_http = None

    @property
    def _http(self) -> httpx.Client:
        """The client for providers; made on first use when none was given (most hubs never route)."""
        if self._given_http is not None:
            return self._given_http
        with self._start:
            if self._own_http is None:
                self._own_http = httpx.Client(follow_redirects=False)
            return self._own_http

    @contextmanager
    def _turn(self) -> Iterator[None]:
        with self._lock:
            yield

    # --- the flow ---

    def exchange(self, meta: CallMeta, request: Request, *, credential_id: int | None = None) -> Reply:
        """Handle one call end to end; never raises (every failure becomes an error reply).

        ``credential_id``: a credential that a connector of this room (the SOAP connector) established by
        other means than a bearer token; it is checked for revocation like a token, then the same checks run.
        """
        x = _Exchange(meta, request, perf_counter_ns(), _digest(meta, request), vouched=credential_id)
        return self._run(x)

    def exchange_as(self, partner_kbo: str, meta: CallMeta, request: Request) -> Reply:
        """Handle one call for partner ``partner_kbo`` from inside the process (the web pages).

        The caller has authenticated its own user, whose account names the partner; so there is no token
        to check (``meta.token`` is ignored). Everything else is exactly as for an HTTP call: the metadata
        checks, idempotent retries, the deliberation and integration checks, the audit record (refused
        when it cannot be written) and the metrics. An unknown partner is refused as an unknown credential.
        """
        x = _Exchange(meta, request, perf_counter_ns(), _digest(meta, request), acting=partner_kbo)
        return self._run(x)

    async def consult_statuses(self, meta: CallMeta, query: StatusQuery) -> Reply:
        """:meth:`exchange` for a status consultation with a bearer token, on the event loop.

        The same checks in the same order, the same refusals, audit record and reply; only the way there is
        shorter: one statement reads all the checks need (:mod:`kruispunt.network.reader`), the decisions
        are taken in memory, and the record goes through the audit writer's group commit while the loop
        serves other calls; the reply is returned once its record is committed. A service routed to a
        provider is handed to :meth:`exchange` on a worker thread.
        """
        x = _Exchange(meta, query, perf_counter_ns(), _digest(meta, query))
        try:
            try:
                answer = await self._consult_here(x, query)
            except _Elsewhere:
                return await asyncio.to_thread(self.exchange, meta, query)
            if isinstance(answer, Reply):
                return answer
            status, body, reason = 200, answer, None
        except Refused as refusal:
            status, body, reason = refusal.reason.http_status, _error_body(x, refusal), refusal.reason
        except Exception:
            log.exception("hub error", extra={"message_id": meta.message_id})
            failure = Refused(Reason.HUB_ERROR, "the hub failed; the exchange was not carried out")
            status, body, reason = failure.reason.http_status, _error_body(x, failure), failure.reason
        return await self._finish_async(x, status, body, reason)

    async def _consult_here(self, x: _Exchange, query: StatusQuery) -> dict[str, Any] | Reply:
        """Authenticate, check the metadata, replay a retry, authorise and answer: :meth:`_run`'s order."""
        token = required_token(x.meta.token)
        # The statement reads the person and period up front; a malformed one is refused in its turn below.
        try:
            number, (_, first, last) = parse_insz(query.insz), self._period(query)
        except Refused:
            number, first, last = "", self._today(), self._today()
        # A message id that cannot pass the metadata check below has no stored reply to look up (and is
        # then refused): what the statement is given is always a valid id or nothing.
        message_id = x.meta.message_id or ""
        if not MESSAGE_ID_PATTERN.match(message_id):
            message_id = ""
        rows = await self._reader.consultation(token_hash(token), message_id, number, first, last)
        head = rows[0] if rows else None
        check_token(None if head is None else head[reader.TOKEN_HASH], token)
        assert head is not None
        revoked = reader.moment(head[reader.REVOKED_AT])
        partner_id, kbo, sector = head[reader.PARTNER], head[reader.KBO], head[reader.SECTOR]
        x.credential = Credential(head[reader.CREDENTIAL], partner_id, kbo, sector, revoked is not None)
        x.policy_version = head[reader.POLICY_VERSION]
        check_not_revoked(revoked)
        check_metadata(x.meta)
        if head[reader.STORED_DIGEST] is not None:
            stored = _Stored(head[reader.STORED_DIGEST], head[reader.STORED_STATUS], head[reader.STORED_BODY])
            return self._replay(x, stored)
        at, start, end = self._period(query)
        x.insz = parse_insz(query.insz)
        policy = self._policies.get((x.credential.partner_id, query.service))
        if policy is None or policy.version != x.policy_version:
            policy = await asyncio.to_thread(self._load_policy, x)
        if policy.route is not None:
            raise _Elsewhere
        assert x.meta.purpose is not None
        found = choose(policy.deliberations, query.service, x.meta.purpose, self._today())
        x.deliberation = found.number
        x.person_id, x.capacity = decide_integration(_held(rows), found.capacities, start, end)
        x.provider = "hub"
        return _statuses_answer(x, found, at, start, end, _shown(rows, found.fields))

    async def _finish_async(
        self, x: _Exchange, status: int, body: dict[str, Any], reason: Reason | None
    ) -> Reply:
        """:meth:`_finish_batched` for a coroutine."""
        reply = _reply_row(x, status) if _storable(x, reason) else None
        try:
            seq, payload = await self._loop_writer.submit(
                self._entry(x, status, reason),
                lambda seq: _dump(_with_seq(body, seq, x.meta.message_id)),
                reply,
            )
        except IntegrityError:
            return await asyncio.to_thread(self._raced, x)
        except SQLAlchemyError:
            log.exception("audit log unavailable", extra={"message_id": x.meta.message_id})
            return self._unlogged(x)
        self._observe(x, status, reason, seq)
        return Reply(status, payload, reason, seq)

    def _run(self, x: _Exchange) -> Reply:
        meta = x.meta
        try:
            try:
                if isinstance(x.request, StatusQuery):
                    self._open(x)  # authentication, authorisation and the statuses: one connection
                stored = self._authenticate(x)
                check_metadata(x.meta)
                if stored is not None:
                    self._release(x)
                    return self._replay(x, stored)
                body, effect = self._answer(x)
            finally:
                self._release(x)
            return self._finish(x, 201 if effect is not None else 200, body, None, effect)
        except Refused as refusal:
            return self._refuse(x, refusal)
        except Exception:
            log.exception("hub error", extra={"message_id": meta.message_id})
            return self._refuse(
                x, Refused(Reason.HUB_ERROR, "the hub failed; the exchange was not carried out")
            )

    def _open(self, x: _Exchange) -> None:
        stack = ExitStack()
        try:
            stack.enter_context(self._turn())
            x.conn = stack.enter_context(self.engine.connect())
        except BaseException:
            stack.close()
            raise
        x.session = stack

    def _release(self, x: _Exchange) -> None:
        session, x.session, x.conn = x.session, None, None
        if session is not None:
            session.close()

    @contextmanager
    def _reading(self, x: _Exchange) -> Iterator[Connection]:
        """The exchange's shared connection when it has one, else a connection of its own (in turn)."""
        if x.conn is not None:
            yield x.conn
            return
        with self._turn(), self.engine.connect() as conn:
            yield conn

    def _authenticate(self, x: _Exchange) -> _Stored | None:
        """The caller's credential, and the reply stored under this message id if this is a retry."""
        if x.acting is not None:
            return self._act_for(x, x.acting)
        token = required_token(x.meta.token) if x.vouched is None else ""
        statement, key = (
            (_AUTH_BY_CREDENTIAL, x.vouched) if x.vouched is not None else (_AUTH_BY_TOKEN, token_hash(token))
        )
        parameters = {"key": key, "message_id": (x.meta.message_id or "")[:100]}
        with self._reading(x) as conn:
            row = conn.execute(statement, parameters).first()
        if row is None or x.vouched is None:  # a vouched credential (the SOAP client's) has no token to match
            check_token(None if row is None else row.token_hash, token)
        assert row is not None
        x.credential = Credential(row.id, row.partner_id, row.kbo, row.sector, row.revoked_at is not None)
        x.policy_version = row.version
        check_not_revoked(row.revoked_at)
        if row.request_digest is None:
            return None
        return _Stored(row.request_digest, row.http_status, row.body)

    def _act_for(self, x: _Exchange, kbo: str) -> _Stored | None:
        try:
            number = parse_kbo(kbo)
        except NetworkError:
            raise Refused(Reason.TOKEN_INVALID, f"{kbo[:20]!r} is not a partner's KBO number") from None
        parameters = {"key": number, "message_id": (x.meta.message_id or "")[:100]}
        with self._reading(x) as conn:
            row = conn.execute(_AUTH_BY_PARTNER, parameters).first()
        if row is None:
            raise Refused(Reason.TOKEN_INVALID, f"no partner with KBO number {number}")
        x.credential = Credential(None, row.partner_id, row.kbo, row.sector, False)
        x.policy_version = row.version
        if row.request_digest is None:
            return None
        return _Stored(row.request_digest, row.http_status, row.body)

    def _replay(self, x: _Exchange, stored: _Stored) -> Reply:
        if stored.request_digest != x.digest:
            raise Refused(
                Reason.MESSAGE_ID_REUSED,
                "this message id was already used for a different request; use a new id per message",
                field="X-Message-Id",
            )
        metrics.REPLAYS.labels(x.request.service).inc()
        body = stored.body.encode("utf-8")
        reason = Reason(json.loads(body)["error"]["reason"]) if stored.http_status >= 400 else None
        return Reply(stored.http_status, body, reason, json.loads(body).get("audit_seq"), replayed=True)

    def _answer(self, x: _Exchange) -> tuple[dict[str, Any], Effect | None]:
        request = x.request
        if isinstance(request, StatusQuery):
            return self._statuses(x, request), None
        if isinstance(request, IdentityQuery):
            return self._identity(x, request), None
        return self._directory(x, request)

    # --- person services ---

    def _authorise(
        self,
        x: _Exchange,
        insz: str,
        start: date,
        end: date,
        local: Callable[[Connection, int], list[StatusOut]] | None = None,
    ) -> tuple[Deliberation, Route | None, list[StatusOut]]:
        """Deliberation, then integration; the deliberation, the provider route (if any) and, when the hub
        answers itself, what ``local(conn, person_id)`` reads: all in one connection and transaction.

        Deliberations and routes come from the hub's policy cache, checked against the policy version.
        """
        assert x.credential is not None and x.meta.purpose is not None
        x.insz = parse_insz(insz)
        partner_id, service = x.credential.partner_id, x.request.service
        with self._reading(x) as conn:
            policy = self._policy(conn, x)
            found = choose(policy.deliberations, service, x.meta.purpose, self._today())
            x.deliberation = found.number
            x.person_id, x.capacity = check_integration(
                conn, partner_id, x.insz, found.capacities, start, end
            )
            route = policy.route
            read = local(conn, x.person_id) if local is not None and route is None else []
            return found, route, read

    def _policy(self, conn: Connection, x: _Exchange) -> _Policy:
        """The partner's deliberations for the service and its route, reread when the version moved.

        Every change to deliberations, their parties or routes bumps ``hub_policy.version`` (database
        triggers), and each call reads the version with its credential: a change applies to the next call
        in every process. What is read here is at least as new as ``x.policy_version``.
        """
        assert x.credential is not None and x.policy_version is not None
        key = (x.credential.partner_id, x.request.service)
        held = self._policies.get(key)
        if held is not None and held.version == x.policy_version:
            return held
        fresh = _Policy(
            x.policy_version,
            of_partner(conn, *key),
            route_for(conn, x.request.service),
        )
        self._policies[key] = fresh
        return fresh

    def _load_policy(self, x: _Exchange) -> _Policy:
        with self._turn(), self.engine.connect() as conn:
            return self._policy(conn, x)

    def _period(self, query: StatusQuery) -> tuple[date | None, date, date]:
        """The day asked (None for a period) and the first and last day; Refused when malformed."""
        if query.at is not None and (query.start is not None or query.end is not None):
            raise Refused(
                Reason.INVALID_REQUEST, "ask either at a date or over a period (from, to)", field="at"
            )
        if (query.start is None) != (query.end is None):
            raise Refused(Reason.INVALID_REQUEST, "a period needs both from and to", field="to")
        if query.start is not None and query.end is not None and query.end < query.start:
            raise Refused(Reason.INVALID_REQUEST, "the period ends before it starts", field="to")
        at = query.at or (self._today() if query.start is None else None)
        start, end = (at, at) if at is not None else (query.start, query.end)
        assert start is not None and end is not None
        return at, start, end

    def _statuses(self, x: _Exchange, query: StatusQuery) -> dict[str, Any]:
        at, start, end = self._period(query)
        found, route, local = self._authorise(
            x,
            query.insz,
            start,
            end,
            lambda conn, person_id: self._local_statuses(conn, x, person_id, start, end),
        )
        assert x.insz is not None
        self._release(x)  # nothing more to read here; a provider may take its time
        periods = self._remote_statuses(x, route, at, start, end) if route else local
        allowed = [p.model_dump(mode="json") for p in periods if p.status in found.fields]
        return _statuses_answer(x, found, at, start, end, allowed)

    def _local_statuses(
        self, conn: Connection, x: _Exchange, person_id: int, start: date, end: date
    ) -> list[StatusOut]:
        """The person's current status periods overlapping ``start``..``end``: the GSS buffer's answer."""
        x.provider = "hub"
        rows = conn.execute(_STATUSES, {"person_id": person_id, "first": start, "last": end})
        return [
            StatusOut(status=r.status, start_date=r.start_date, end_date=r.end_date, source=r.source)
            for r in rows
        ]

    def _remote_statuses(
        self, x: _Exchange, route: Route, at: date | None, start: date, end: date
    ) -> list[StatusOut]:
        params = (
            {"at": at.isoformat()} if at is not None else {"from": start.isoformat(), "to": end.isoformat()}
        )
        content = self._fetch(x, route, params)
        if content is None:
            return []
        try:
            return ProviderStatuses.model_validate_json(content).statuses
        except ValidationError as error:
            raise Refused(
                Reason.PROVIDER_BAD_ANSWER, f"the provider's answer is not valid: {error.errors()[0]['msg']}"
            ) from None

    def _identity(self, x: _Exchange, query: IdentityQuery) -> dict[str, Any]:
        at = query.at or self._today()
        found, route, _ = self._authorise(x, query.insz, at, at)
        assert x.insz is not None
        if route is not None:
            content = self._fetch(x, route, {"at": at.isoformat()})
            if content is None:
                raise Refused(
                    Reason.PROVIDER_BAD_ANSWER, "the provider does not know a person the register knows"
                )
            try:
                person = ProviderPerson.model_validate_json(content).person
            except ValidationError as error:
                raise Refused(
                    Reason.PROVIDER_BAD_ANSWER,
                    f"the provider's answer is not valid: {error.errors()[0]['msg']}",
                ) from None
        else:
            person = self._local_person(x, at)
        shown = person.model_dump(mode="json", include={"insz", *found.fields})
        return {"at": at, "deliberation": found.number, "capacity": x.capacity, "person": shown}

    def _local_person(self, x: _Exchange, at: date) -> PersonOut:
        assert x.insz is not None
        x.provider = "hub"
        with self._turn():
            record = identity.find_person(self.engine, x.insz, at)
        if record is None:
            raise Refused(
                Reason.NOT_INTEGRATED, "you have not integrated this person in the reference directory"
            )
        data = asdict(record)
        data["household"] = data["household"] if record.household_id else None
        return PersonOut.model_validate(data)

    def _fetch(self, x: _Exchange, route: Route, params: dict[str, str]) -> bytes | None:
        """Ask the provider; None when it does not know the person (HTTP 404)."""
        assert x.credential is not None and x.insz is not None
        x.provider = route.base_url
        headers = {
            "X-Message-Id": x.meta.message_id or "",
            "X-Requester": x.credential.kbo,
            "X-Deliberation": x.deliberation or "",
            "X-Purpose": x.meta.purpose or "",
        }
        started = perf_counter_ns()
        try:
            response = self._http.get(
                f"{route.base_url}/{route.service}/{x.insz}",
                params=params,
                headers=headers,
                timeout=route.timeout_ms / 1000,
            )
        except httpx.TimeoutException:
            raise Refused(
                Reason.PROVIDER_TIMEOUT, f"the provider did not answer within {route.timeout_ms} ms"
            ) from None
        except httpx.HTTPError as error:
            raise Refused(
                Reason.PROVIDER_UNREACHABLE, f"the provider cannot be reached: {type(error).__name__}"
            ) from None
        finally:
            x.provider_us = (perf_counter_ns() - started) // 1000
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Refused(Reason.PROVIDER_ERROR, f"the provider answered HTTP {response.status_code}")
        if len(response.content) > MAX_PROVIDER_ANSWER:
            raise Refused(Reason.PROVIDER_BAD_ANSWER, "the provider's answer is too large")
        return response.content

    # --- the partner's own directory entries ---

    def _directory(self, x: _Exchange, request: Request) -> tuple[dict[str, Any], Effect | None]:
        assert x.credential is not None
        credential = x.credential
        x.provider = "hub"
        if isinstance(request, DirectoryQuery):
            person_id = self._person_of(x, request.insz) if request.insz else None
            with self._turn(), self.engine.connect() as conn:
                found = integrations_of(conn, credential.partner_id, person_id)
            return {"integrations": [_integration_json(i) for i in found]}, None
        assert isinstance(request, DirectoryRegistration | DirectoryEnding)
        person_id = self._person_of(x, request.insz)
        x.capacity = request.capacity
        owner = _owner(credential)
        if isinstance(request, DirectoryRegistration):
            registration = request

            def register(conn: Connection) -> dict[str, Any]:
                assert x.insz is not None
                register_in(
                    conn,
                    owner,
                    person_id,
                    x.insz,
                    registration.capacity,
                    registration.start,
                    registration.end,
                )
                return {"changed": 1}

            return {}, register
        ending = request

        def end(conn: Connection) -> dict[str, Any]:
            return {"changed": end_in(conn, owner, person_id, ending.capacity, ending.end)}

        return {}, end

    def _person_of(self, x: _Exchange, insz: str) -> int:
        x.insz = parse_insz(insz)
        with self._turn():
            person_id = self._persons(x.insz)
        if person_id is None:
            raise Refused(Reason.PERSON_UNKNOWN, f"{x.insz} is not in the register", field="insz")
        x.person_id = person_id
        return person_id

    # --- logging and replying ---

    def _refuse(self, x: _Exchange, refusal: Refused) -> Reply:
        return self._finish(x, refusal.reason.http_status, _error_body(x, refusal), refusal.reason, None)

    def _finish(
        self, x: _Exchange, status: int, body: dict[str, Any], reason: Reason | None, effect: Effect | None
    ) -> Reply:
        """Log the exchange and store its reply in one transaction; refuse when that fails."""
        storable = _storable(x, reason)
        if effect is None:
            return self._finish_batched(x, status, body, reason, storable)
        try:
            with self._turn(), self.engine.begin() as conn:
                body.update(effect(conn))
                seq = audit.append(conn, [self._entry(x, status, reason)])[0]
                body = _with_seq(body, seq, x.meta.message_id)
                payload = _dump(body)
                if storable:
                    assert x.credential is not None and x.meta.message_id is not None
                    conn.execute(
                        exchange_reply.insert().values(
                            partner_id=x.credential.partner_id,
                            message_id=x.meta.message_id,
                            request_digest=x.digest,
                            http_status=status,
                            body=payload.decode("utf-8"),
                            audit_seq=seq,
                            recorded_at=now(),
                        )
                    )
        except Refused as refusal:
            return self._refuse(x, refusal)
        except IntegrityError:
            return self._raced(x)
        except SQLAlchemyError:
            log.exception("audit log unavailable", extra={"message_id": x.meta.message_id})
            return self._unlogged(x)
        self._observe(x, status, reason, seq)
        return Reply(status, payload, reason, seq)

    def _finish_batched(
        self, x: _Exchange, status: int, body: dict[str, Any], reason: Reason | None, storable: bool
    ) -> Reply:
        """Like :meth:`_finish` for exchanges that change nothing: the record goes through group commit."""
        reply = _reply_row(x, status) if storable else None
        try:
            seq, payload = self._writer.submit(
                self._entry(x, status, reason),
                lambda seq: _dump(_with_seq(body, seq, x.meta.message_id)),
                reply,
            )
        except IntegrityError:
            return self._raced(x)
        except SQLAlchemyError:
            log.exception("audit log unavailable", extra={"message_id": x.meta.message_id})
            return self._unlogged(x)
        self._observe(x, status, reason, seq)
        return Reply(status, payload, reason, seq)

    def _raced(self, x: _Exchange) -> Reply:
        """Another worker stored a reply under this message id meanwhile: answer as a retry would be."""
        stored = self._authenticate(x)
        if stored is None:
            return self._unlogged(x)
        try:
            return self._replay(x, stored)
        except Refused as refusal:
            return self._refuse(x, refusal)

    def _unlogged(self, x: _Exchange) -> Reply:
        reason = Reason.AUDIT_UNAVAILABLE
        error = {
            "reason": reason.value,
            "source": reason.source.value,
            "message": "the exchange could not be logged and was therefore not carried out; retry later",
            "field": None,
            "message_id": x.meta.message_id,
            "audit_seq": None,
        }
        self._observe(x, reason.http_status, reason, None)
        return Reply(reason.http_status, _dump({"error": error}), reason, None)

    def _entry(self, x: _Exchange, status: int, reason: Reason | None) -> audit.AuditEntry:
        elapsed_us = (perf_counter_ns() - x.started_ns) // 1000
        meta = x.meta
        return audit.AuditEntry(
            recorded_at=now(),
            service=x.request.service,
            outcome="answered" if reason is None else ("refused" if reason.final else "failed"),
            http_status=status,
            request_digest=x.digest,
            hub_us=elapsed_us - (x.provider_us or 0),
            partner_id=x.credential.partner_id if x.credential else None,
            requester=x.credential.kbo if x.credential else None,
            message_id=(meta.message_id or None) and meta.message_id[:100],
            insz=x.insz,
            person_id=x.person_id,
            end_user=(meta.end_user or None) and meta.end_user[:100],
            case_reference=(meta.case_reference or None) and meta.case_reference[:100],
            purpose=(meta.purpose or None) and meta.purpose[:60],
            deliberation=x.deliberation,
            capacity=x.capacity,
            reason=reason.value if reason else None,
            provider=x.provider[:500] if x.provider else None,
            provider_us=x.provider_us,
        )

    def _observe(self, x: _Exchange, status: int, reason: Reason | None, seq: int | None) -> None:
        seconds = (perf_counter_ns() - x.started_ns) / 1e9
        outcome = "answered" if reason is None else ("refused" if reason.final else "failed")
        metrics.observe(
            x.request.service,
            outcome,
            reason.value if reason else None,
            reason.source.value if reason else None,
            seconds,
        )
        if log.isEnabledFor(logging.INFO):
            log.info(
                "exchange",
                extra={
                    "exchange": {
                        "service": x.request.service,
                        "requester": x.credential.kbo if x.credential else None,
                        "message_id": x.meta.message_id,
                        "outcome": outcome,
                        "reason": reason.value if reason else None,
                        "status": status,
                        "audit_seq": seq,
                        "ms": round(seconds * 1000, 3),
                    }
                },
            )


def _storable(x: _Exchange, reason: Reason | None) -> bool:
    """Whether the reply is kept for retries: decisions about an authenticated call with valid metadata."""
    return (
        x.credential is not None
        and (reason is None or reason.final)
        and reason
        not in (
            Reason.MESSAGE_ID_REUSED,
            Reason.MISSING_HEADER,
            Reason.INVALID_HEADER,
            Reason.TOKEN_REVOKED,
        )
    )


def _reply_row(x: _Exchange, status: int) -> dict[str, Any]:
    assert x.credential is not None and x.meta.message_id is not None
    return {
        "partner_id": x.credential.partner_id,
        "message_id": x.meta.message_id,
        "request_digest": x.digest,
        "http_status": status,
        "recorded_at": now(),
    }


def _error_body(x: _Exchange, refusal: Refused) -> dict[str, Any]:
    error = {
        "reason": refusal.reason.value,
        "source": refusal.reason.source.value,
        "message": refusal.message,
        "field": refusal.field,
        "message_id": x.meta.message_id,
    }
    return {"error": error}


def _held(rows: list[Sequence[Any]]) -> list[tuple[int, int, date, date | None]]:
    """The integrations in rows of :data:`reader.CONSULTATION` (one per integration and status period)."""
    held: dict[int, tuple[int, int, date, date | None]] = {}
    for row in rows:
        key = row[reader.INTEGRATION]
        if key is not None and key not in held:
            start = reader.day(row[reader.VALID_FROM])
            assert start is not None
            held[key] = (row[reader.PERSON], row[reader.CAPACITY], start, reader.day(row[reader.VALID_TO]))
    return list(held.values())


def _shown(rows: list[Sequence[Any]], fields: Sequence[str]) -> list[dict[str, Any]]:
    """The person's status periods the deliberation allows, in the statement's order.

    Every integration row of the person carries the same periods; those of the first one are taken.
    """
    first = rows[0][reader.INTEGRATION]
    return [
        {
            "status": row[reader.STATUS],
            "start_date": str(row[reader.START]),
            "end_date": None if row[reader.END] is None else str(row[reader.END]),
            "source": row[reader.SOURCE],
        }
        for row in rows
        if row[reader.INTEGRATION] == first
        and row[reader.PERIOD] is not None
        and row[reader.STATUS] in fields
    ]


def _statuses_answer(
    x: _Exchange, found: Deliberation, at: date | None, start: date, end: date, shown: list[dict[str, Any]]
) -> dict[str, Any]:
    answer: dict[str, Any] = {"insz": x.insz}
    answer.update({"at": at} if at is not None else {"from": start, "to": end})
    answer.update(deliberation=found.number, capacity=x.capacity, statuses=shown)
    return answer


def _readers(engine: Engine) -> int:
    size = getattr(engine.pool, "size", None)
    pooled = size() if callable(size) else 5
    return max(1, int(pooled) - 1)


def _with_seq(body: dict[str, Any], seq: int, message_id: str | None) -> dict[str, Any]:
    if "error" in body:
        return {"error": {**body["error"], "audit_seq": seq}}
    return {**body, "message_id": message_id, "audit_seq": seq}


def _owner(credential: Credential) -> Partner:
    return Partner(credential.partner_id, credential.kbo, credential.sector, "")


def _integration_json(item: Integration) -> dict[str, Any]:
    return {
        "insz": item.insz,
        "sector": item.sector,
        "capacity": item.capacity,
        "valid_from": item.valid_from.isoformat(),
        "valid_to": item.valid_to.isoformat() if item.valid_to else None,
    }
