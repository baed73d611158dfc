"""Deliberations: the authorisations of the Information Security Committee that open a data flow.

Deny by default: a partner gets a person's data only under a deliberation that names it as a party, for
that data service and that purpose, in force on the day of the call, and only the fields it allows. A
deliberation also says in which capacities (codes of the partner's sector) the partner must hold a file
on the person.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError

from kruispunt.network.partners import get_partner, now
from kruispunt.network.reasons import NetworkError, Reason, Refused
from kruispunt.network.services import check_fields
from kruispunt.network.tables import deliberation, deliberation_party, partner

NUMBER_PATTERN = re.compile(r"^\d{2}/\d{1,4}(/[A-Za-z0-9]{1,6})?$")
PURPOSE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}$")


@dataclass(frozen=True)
class Deliberation:
    number: str
    decided_on: date
    title: str
    service: str
    purpose: str
    fields: tuple[str, ...]
    capacities: tuple[int, ...]
    valid_from: date
    valid_to: date | None
    parties: tuple[str, ...] = ()

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def add_deliberation(
    engine: Engine,
    *,
    number: str,
    decided_on: date,
    title: str,
    service: str,
    purpose: str,
    fields: Sequence[str],
    capacities: Sequence[int],
    parties: Sequence[str],
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> Deliberation:
    """Record a deliberation and its parties (KBO numbers of partners allowed to ask)."""
    if not NUMBER_PATTERN.match(number):
        raise NetworkError(f"deliberation number {number!r} is not of the form YY/NNN (e.g. 20/123)")
    if not PURPOSE_PATTERN.match(purpose):
        raise NetworkError(f"purpose {purpose!r}: use a short code of lower-case letters, digits, . _ -")
    checked = check_fields(service, fields)
    if not capacities or any(c < 1 for c in capacities):
        raise NetworkError("a deliberation names at least one capacity code (a positive integer)")
    start = valid_from or decided_on
    if valid_to is not None and valid_to < start:
        raise NetworkError(f"validity ends ({valid_to}) before it starts ({start})")
    if not parties:
        raise NetworkError("a deliberation names at least one party")
    try:
        with engine.begin() as conn:
            members = [get_partner(conn, kbo) for kbo in parties]
            new_id = conn.execute(
                deliberation.insert().values(
                    number=number,
                    decided_on=decided_on,
                    title=title.strip() or number,
                    service=service,
                    purpose=purpose,
                    fields=json.dumps(list(checked)),
                    capacities=json.dumps(sorted(set(capacities))),
                    valid_from=start,
                    valid_to=valid_to,
                    created_at=now(),
                )
            ).inserted_primary_key
            assert new_id is not None
            conn.execute(
                deliberation_party.insert(),
                [
                    {"deliberation_id": new_id[0], "partner_id": p.id}
                    for p in {m.id: m for m in members}.values()
                ],
            )
    except IntegrityError:
        raise NetworkError(f"deliberation {number} already exists") from None
    return Deliberation(
        number,
        decided_on,
        title.strip() or number,
        service,
        purpose,
        checked,
        tuple(sorted(set(capacities))),
        start,
        valid_to,
        tuple(sorted({m.kbo for m in members})),
    )


def _from_row(row: object, parties: tuple[str, ...] = ()) -> Deliberation:
    return Deliberation(
        row.number,  # type: ignore[attr-defined]
        row.decided_on,  # type: ignore[attr-defined]
        row.title,  # type: ignore[attr-defined]
        row.service,  # type: ignore[attr-defined]
        row.purpose,  # type: ignore[attr-defined]
        tuple(json.loads(row.fields)),  # type: ignore[attr-defined]
        tuple(json.loads(row.capacities)),  # type: ignore[attr-defined]
        row.valid_from,  # type: ignore[attr-defined]
        row.valid_to,  # type: ignore[attr-defined]
        parties,
    )


def list_deliberations(engine: Engine) -> list[Deliberation]:
    """Every deliberation with its parties, by number."""
    with engine.connect() as conn:
        rows = conn.execute(select(deliberation).order_by(deliberation.c.number)).all()
        members: dict[int, list[str]] = {}
        for link in conn.execute(
            select(deliberation_party.c.deliberation_id, partner.c.kbo).join(
                partner, partner.c.id == deliberation_party.c.partner_id
            )
        ):
            members.setdefault(link.deliberation_id, []).append(link.kbo)
    return [_from_row(r, tuple(sorted(members.get(r.id, [])))) for r in rows]


_COVERING = (
    select(deliberation)
    .join(deliberation_party, deliberation_party.c.deliberation_id == deliberation.c.id)
    .where(
        deliberation_party.c.partner_id == bindparam("partner_id"),
        deliberation.c.service == bindparam("service"),
        deliberation.c.purpose == bindparam("purpose"),
        deliberation.c.valid_from <= bindparam("day"),
        or_(deliberation.c.valid_to.is_(None), deliberation.c.valid_to >= bindparam("day")),
    )
    .order_by(deliberation.c.decided_on.desc())
    .limit(1)
)


def covering(conn: Connection, partner_id: int, service: str, purpose: str, day: date) -> Deliberation:
    """The deliberation that lets ``partner_id`` use ``service`` for ``purpose`` on ``day``.

    Raises Refused with the most precise reason: no deliberation for the service at all, none for this
    purpose, or none in force on that day.
    """
    rows = conn.execute(
        _COVERING, {"partner_id": partner_id, "service": service, "purpose": purpose, "day": day}
    ).first()
    if rows is not None:
        return _from_row(rows)
    raise _why_not_covered(conn, partner_id, service, purpose)


_OF_PARTNER = (
    select(deliberation)
    .join(deliberation_party, deliberation_party.c.deliberation_id == deliberation.c.id)
    .where(
        deliberation_party.c.partner_id == bindparam("partner_id"),
        deliberation.c.service == bindparam("service"),
    )
)


def of_partner(conn: Connection, partner_id: int, service: str) -> list[Deliberation]:
    """Every deliberation naming ``partner_id`` for ``service``, any purpose and validity (for caching)."""
    return [_from_row(r) for r in conn.execute(_OF_PARTNER, {"partner_id": partner_id, "service": service})]


def choose(candidates: Sequence[Deliberation], service: str, purpose: str, day: date) -> Deliberation:
    """What :func:`covering` decides, over the partner's deliberations for ``service`` already read.

    The newest decision in force on ``day`` for ``purpose``; else Refused with the same precise reason.
    """
    same_purpose = [d for d in candidates if d.purpose == purpose]
    in_force = [d for d in same_purpose if d.in_force(day)]
    if in_force:
        return max(in_force, key=lambda d: d.decided_on)
    if not candidates:
        return _refuse_none(service)
    if not same_purpose:
        return _refuse_purpose(service, purpose)
    return _refuse_not_in_force([d.number for d in same_purpose])


def _refuse_none(service: str) -> Deliberation:
    raise Refused(Reason.NO_DELIBERATION, f"no deliberation allows you the {service} service")


def _refuse_purpose(service: str, purpose: str) -> Deliberation:
    raise Refused(
        Reason.PURPOSE_NOT_COVERED,
        f"no deliberation allows the {service} service for purpose {purpose!r}",
        field="X-Purpose",
    )


def _refuse_not_in_force(numbers: Sequence[str]) -> Deliberation:
    raise Refused(
        Reason.DELIBERATION_NOT_IN_FORCE,
        f"deliberation(s) {', '.join(sorted(numbers))} for this service and purpose are not in force today",
    )


def _why_not_covered(conn: Connection, partner_id: int, service: str, purpose: str) -> Refused:
    candidates = conn.execute(
        select(deliberation.c.number, deliberation.c.purpose)
        .join(deliberation_party, deliberation_party.c.deliberation_id == deliberation.c.id)
        .where(and_(deliberation_party.c.partner_id == partner_id, deliberation.c.service == service))
    ).all()
    if not candidates:
        return Refused(Reason.NO_DELIBERATION, f"no deliberation allows you the {service} service")
    same_purpose = [c.number for c in candidates if c.purpose == purpose]
    if not same_purpose:
        return Refused(
            Reason.PURPOSE_NOT_COVERED,
            f"no deliberation allows the {service} service for purpose {purpose!r}",
            field="X-Purpose",
        )
    return Refused(
        Reason.DELIBERATION_NOT_IN_FORCE,
        f"deliberation(s) {', '.join(sorted(same_purpose))} for this service and purpose "
        "are not in force today",
    )
