"""The reference directory: who holds a file on whom (person directory) and who serves what (knowledge).

Person directory: a partner "integrates" a person when it opens a file on them, in a capacity of its own
sector and for a period (the ManageAccess service); the hub lets a partner consult a person only while it
holds such an integration in a capacity its deliberation requires. Ending an integration closes its
period; the history stays, so an audit can still explain an earlier consultation.

Knowledge directory: which provider serves which data service. A service without a route is answered by
the hub from its own stores; a route sends it to an external provider over HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from importlib.resources import files
from urllib.parse import urlsplit

import yaml
from sqlalchemy import Connection, Engine, and_, bindparam, delete, or_, select, update

from kruispunt import identity
from kruispunt.identity.tables import person_number
from kruispunt.network.partners import Partner, get_partner, now
from kruispunt.network.reasons import NetworkError, Reason, Refused
from kruispunt.network.services import PERSON_SERVICES
from kruispunt.network.tables import integration, partner, provider_route


@cache
def capacities() -> dict[int, dict[int, str]]:
    """Known capacity codes per sector, with their English label (``capacities.yaml``)."""
    raw = yaml.safe_load(files("kruispunt.network").joinpath("capacities.yaml").read_text("utf-8"))
    return {
        int(sector): {int(code): labels["en"] for code, labels in body["capacities"].items()}
        for sector, body in raw["sectors"].items()
    }


@dataclass(frozen=True)
class Integration:
    partner_kbo: str
    insz: str
    sector: int
    capacity: int
    valid_from: date
    valid_to: date | None

    def covers(self, start: date, end: date) -> bool:
        return self.valid_from <= start and (self.valid_to is None or end <= self.valid_to)


class PersonResolver:
    """INSZ to internal person id, remembered: a number, once assigned, always names the same person."""

    def __init__(self, engine: Engine, size: int = 100_000) -> None:
        self._engine = engine
        self._known: dict[str, int] = {}
        self._size = size

    def __call__(self, insz: str) -> int | None:
        found = self._known.get(insz)
        if found is not None:
            return found
        record = identity.find_person(self._engine, insz)
        if record is None:
            return None
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[insz] = record.person_id
        return record.person_id


@lru_cache(maxsize=65_536)
def _normalised(text: str) -> str:
    # Insz.parse costs tens of microseconds; partners ask about the same persons again and again.
    # Only valid numbers are remembered (a raised exception is not cached).
    return identity.Insz.parse(text).number


def parse_insz(text: str) -> str:
    """The 11-digit INSZ; raises Refused(INVALID_INSZ) with the reason in a sentence."""
    try:
        return _normalised(text)
    except identity.InvalidNumber as error:
        raise Refused(
            Reason.INVALID_INSZ, f"{text[:40]!r} is not a valid INSZ: {error}", field="insz"
        ) from None


def _check_capacity(owner: Partner, capacity: int) -> None:
    known = capacities().get(owner.sector, {})
    if capacity not in known:
        codes = ", ".join(str(c) for c in known) or "none known"
        raise Refused(
            Reason.CAPACITY_UNKNOWN,
            f"capacity {capacity} is not a capacity of sector {owner.sector} ({codes})",
            field="capacity",
        )


def register_in(
    conn: Connection, owner: Partner, person_id: int, insz: str, capacity: int, start: date, end: date | None
) -> Integration:
    """Integrate a person for ``owner`` inside the caller's transaction (shared by CLI and API).

    Registering the same period again is a no-op; a period overlapping another one of the same capacity
    is refused, so the directory never holds two answers to "since when".
    """
    _check_capacity(owner, capacity)
    if end is not None and end < start:
        raise Refused(
            Reason.INVALID_REQUEST, f"the period ends ({end}) before it starts ({start})", field="end"
        )
    same = conn.execute(
        select(integration).where(
            integration.c.partner_id == owner.id,
            integration.c.person_id == person_id,
            integration.c.capacity == capacity,
            or_(integration.c.valid_to.is_(None), integration.c.valid_to >= start),
            *([integration.c.valid_from <= end] if end is not None else []),
        )
    ).all()
    result = Integration(owner.kbo, insz, owner.sector, capacity, start, end)
    if any(r.valid_from == start and r.valid_to == end for r in same):
        return result
    if same:
        other = same[0]
        raise Refused(
            Reason.INTEGRATION_CONFLICT,
            f"already integrated in capacity {capacity} from {other.valid_from} "
            f"to {other.valid_to or 'open'}; end that period first",
        )
    conn.execute(
        integration.insert().values(
            partner_id=owner.id,
            person_id=person_id,
            insz=insz,
            sector=owner.sector,
            capacity=capacity,
            valid_from=start,
            valid_to=end,
            registered_at=now(),
        )
    )
    return result


def end_in(conn: Connection, owner: Partner, person_id: int, capacity: int, end: date) -> int:
    """Close the partner's open integration(s) of the person in ``capacity`` on ``end`` (last day).

    An integration that would end before it starts is removed whole (it was registered in error).
    Returns how many integrations changed; 0 when there was nothing open.
    """
    mine = and_(
        integration.c.partner_id == owner.id,
        integration.c.person_id == person_id,
        integration.c.capacity == capacity,
        or_(integration.c.valid_to.is_(None), integration.c.valid_to > end),
    )
    removed = conn.execute(delete(integration).where(mine, integration.c.valid_from > end)).rowcount
    ended = conn.execute(update(integration).where(mine).values(valid_to=end, ended_at=now())).rowcount
    return int(removed) + int(ended)


def _person(engine: Engine, insz: str) -> tuple[str, int]:
    number = parse_insz(insz)
    record = identity.find_person(engine, number)
    if record is None:
        raise Refused(Reason.PERSON_UNKNOWN, f"{number} is not in the register", field="insz")
    return number, record.person_id


def register_integration(
    engine: Engine, kbo: str, insz: str, capacity: int, start: date, end: date | None = None
) -> Integration:
    """Integrate ``insz`` for partner ``kbo`` (administrative path: CLI, demo, loads)."""
    number, person_id = _person(engine, insz)
    with engine.begin() as conn:
        return register_in(conn, get_partner(conn, kbo), person_id, number, capacity, start, end)


def end_integration(engine: Engine, kbo: str, insz: str, capacity: int, end: date | None = None) -> int:
    """End the partner's integration of ``insz`` in ``capacity`` on ``end`` (default: yesterday)."""
    _, person_id = _person(engine, insz)
    with engine.begin() as conn:
        return end_in(
            conn, get_partner(conn, kbo), person_id, capacity, end or date.today() - timedelta(days=1)
        )


def integrations_of(conn: Connection, partner_id: int, person_id: int | None = None) -> list[Integration]:
    statement = (
        select(integration, partner.c.kbo)
        .join(partner, partner.c.id == integration.c.partner_id)
        .where(integration.c.partner_id == partner_id)
        .order_by(integration.c.insz, integration.c.capacity, integration.c.valid_from)
    )
    if person_id is not None:
        statement = statement.where(integration.c.person_id == person_id)
    return [
        Integration(r.kbo, r.insz, r.sector, r.capacity, r.valid_from, r.valid_to)
        for r in conn.execute(statement)
    ]


def list_integrations(engine: Engine, kbo: str, insz: str | None = None) -> list[Integration]:
    """The partner's integrations (of one person when ``insz`` is given), current and ended."""
    person_id = _person(engine, insz)[1] if insz else None
    with engine.connect() as conn:
        return integrations_of(conn, get_partner(conn, kbo).id, person_id)


# Integrations of the person behind any of their numbers (a replaced BIS number still answers): one
# indexed query on the hot path, joining the register's number table read-only.
_HELD = select(
    integration.c.person_id, integration.c.capacity, integration.c.valid_from, integration.c.valid_to
).where(
    integration.c.partner_id == bindparam("partner_id"),
    # One value (the number is person_number's key): PostgreSQL looks it up once instead of walking all
    # the partner's integrations, as it may for IN.
    integration.c.person_id
    == select(person_number.c.person_id).where(person_number.c.insz == bindparam("insz")).scalar_subquery(),
)
_ROUTE = select(provider_route).where(provider_route.c.service == bindparam("service"))


def check_integration(
    conn: Connection, partner_id: int, insz: str, required: Sequence[int], start: date, end: date
) -> tuple[int, int]:
    """The person and the capacity under which ``partner_id`` may see them from ``start`` to ``end``.

    Raises Refused: NOT_INTEGRATED (no file at all; also for a number the register does not know, so the
    hub does not tell who exists), CAPACITY_NOT_COVERED (files, none in a required capacity) or
    OUTSIDE_INTEGRATION_PERIOD (a required capacity, but not covering the whole period).
    """
    rows = conn.execute(_HELD, {"partner_id": partner_id, "insz": insz}).all()
    return decide_integration(
        [(r.person_id, r.capacity, r.valid_from, r.valid_to) for r in rows], required, start, end
    )


Held = tuple[int, int, date, date | None]


def decide_integration(
    held: Sequence[Held], required: Sequence[int], start: date, end: date
) -> tuple[int, int]:
    """What :func:`check_integration` decides over integrations already read: (person, capacity, from, to)."""
    fitting = [h for h in held if h[1] in required]
    for person_id, capacity, valid_from, valid_to in fitting:
        if valid_from <= start and (valid_to is None or end <= valid_to):
            return int(person_id), int(capacity)
    if not held:
        raise Refused(Reason.NOT_INTEGRATED, "you have not integrated this person in the reference directory")
    if not fitting:
        raise Refused(
            Reason.CAPACITY_NOT_COVERED,
            f"your integration(s) of this person are not in a capacity the deliberation requires "
            f"({', '.join(str(c) for c in required)})",
        )
    raise Refused(
        Reason.OUTSIDE_INTEGRATION_PERIOD,
        f"your integration of this person does not cover {start}" + ("" if start == end else f" to {end}"),
    )


# --- knowledge directory ---


@dataclass(frozen=True)
class Route:
    service: str
    base_url: str
    timeout_ms: int


def set_route(engine: Engine, service: str, base_url: str, timeout_ms: int = 2000) -> Route:
    """Send ``service`` to the provider at ``base_url`` (http or https) with a per-call timeout."""
    if service not in PERSON_SERVICES:
        raise NetworkError(f"service {service!r} cannot be routed; routable: {', '.join(PERSON_SERVICES)}")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NetworkError(f"{base_url!r} is not an http(s) URL")
    if not 10 <= timeout_ms <= 60_000:
        raise NetworkError("the timeout is between 10 ms and 60 s")
    with engine.begin() as conn:
        conn.execute(delete(provider_route).where(provider_route.c.service == service))
        conn.execute(
            provider_route.insert().values(
                service=service, base_url=base_url.rstrip("/"), timeout_ms=timeout_ms, updated_at=now()
            )
        )
    return Route(service, base_url.rstrip("/"), timeout_ms)


def remove_route(engine: Engine, service: str) -> bool:
    """Serve ``service`` from the hub's own stores again; False when it had no route."""
    with engine.begin() as conn:
        removed = bool(
            conn.execute(delete(provider_route).where(provider_route.c.service == service)).rowcount
        )
    return removed


def list_routes(engine: Engine) -> list[Route]:
    with engine.connect() as conn:
        return [
            Route(r.service, r.base_url, r.timeout_ms)
            for r in conn.execute(select(provider_route).order_by(provider_route.c.service))
        ]


def route_for(conn: Connection, service: str) -> Route | None:
    row = conn.execute(_ROUTE, {"service": service}).first()
    return Route(row.service, row.base_url, row.timeout_ms) if row else None
