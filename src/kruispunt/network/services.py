"""The data services the hub offers, and what a deliberation's "allowed fields" mean for each.

- ``statuses``: the harmonised social statuses; a deliberation's fields are status codes of the GSS
  catalogue (each status is a field of the person's harmonised record).
- ``identity``: register data; fields among :data:`IDENTITY_FIELDS` (the INSZ itself is always returned).
- ``directory``: a partner's own entries in the reference directory; needs no deliberation, since a
  partner only ever sees and changes what it registered itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from kruispunt.network.reasons import NetworkError

STATUSES = "statuses"
IDENTITY = "identity"
DIRECTORY = "directory"

PERSON_SERVICES = (STATUSES, IDENTITY)
SERVICES = (*PERSON_SERVICES, DIRECTORY)

IDENTITY_FIELDS = (
    "last_name",
    "first_name",
    "birth_date",
    "sex",
    "death_date",
    "address",
    "household",
)


def status_codes() -> tuple[str, ...]:
    """The codes of the status catalogue (imported on use: the statuses room is a provider, not a base)."""
    from kruispunt.statuses.catalogue import catalogue

    return catalogue().codes


def check_fields(service: str, fields: Iterable[str]) -> tuple[str, ...]:
    """The fields, checked against what ``service`` can return; raises NetworkError naming the stranger."""
    if service not in PERSON_SERVICES:
        raise NetworkError(f"service {service!r} is not a person data service ({', '.join(PERSON_SERVICES)})")
    wanted = tuple(dict.fromkeys(f.strip() for f in fields if f.strip()))
    if not wanted:
        raise NetworkError("a deliberation allows at least one field")
    known = IDENTITY_FIELDS if service == IDENTITY else status_codes()
    unknown = [f for f in wanted if f not in known]
    if unknown:
        raise NetworkError(
            f"service {service} has no field(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return wanted
