"""The status codes a rule may name, and which stored codes satisfy each (``VT`` by ``VT_DEPENDANT``).

The statuses room owns the catalogue; rules are checked against it when they load. The catalogue is
passed around as a small value so the evaluation engine stays pure and tests can give their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class StatusCodes:
    """Known codes, and for each code the stored codes that count as it (itself included)."""

    satisfied_by: dict[str, frozenset[str]]

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.satisfied_by)

    def expand(self, codes: Iterable[str]) -> set[str]:
        """Every stored code that satisfies one of ``codes``."""
        return {stored for code in codes for stored in self.satisfied_by[code]}


@cache
def status_codes() -> StatusCodes:
    """The statuses room's catalogue, with its ``counts_as`` expansion."""
    from kruispunt import statuses

    known = statuses.catalogue().statuses
    return StatusCodes({code: statuses.expand_codes([code]) for code in known})
