"""Calendar quarters (``2024Q4``) and ranges of them (``2019Q1:2024Q4``).

The warehouse describes everyone as they stood on the last day of each quarter (the reference day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import total_ordering

from kruispunt.warehouse.errors import WarehouseError

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@total_ordering
@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2024Q4`` (also ``2024-Q4``, ``2024q4``); raises WarehouseError naming the input."""
        match = _QUARTER.match(text)
        if not match:
            raise WarehouseError(f"{text!r} is not a quarter; write it as YYYYQn, e.g. 2024Q4")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Quarter):
            return NotImplemented
        return (self.year, self.number) < (other.year, other.number)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        """The reference day: facts describe the situation at the end of this day."""
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.number == 1), (self.number - 2) % 4 + 1)

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter ``day`` falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def last_complete(cls, day: date) -> Quarter:
        """The latest quarter whose reference day is on or before ``day``."""
        quarter = cls.of(day)
        return quarter if day >= quarter.last_day else quarter.previous()


def quarter_range(text: str) -> list[Quarter]:
    """``2019Q1:2024Q4`` (inclusive) or a single ``2024Q4``, in order; raises WarehouseError."""
    first_text, _, last_text = text.partition(":")
    first = Quarter.parse(first_text)
    last = Quarter.parse(last_text) if last_text else first
    if last < first:
        raise WarehouseError(f"quarter range {text!r} ends before it starts")
    result = [first]
    while result[-1] < last:
        result.append(result[-1].next())
    if len(result) > 400:
        raise WarehouseError(f"quarter range {text!r} spans {len(result)} quarters; at most 400")
    return result
