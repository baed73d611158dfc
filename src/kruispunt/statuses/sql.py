"""SQL helpers for columnar reads.

``store.read_frame`` compiles a statement once with plain bound parameters, so ``IN`` lists with an
expanding parameter cannot pass through it; these helpers spell short lists out instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, literal_column, or_


def one_of_text(column: ColumnElement[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """``column`` equals one of a few ``values`` (each its own bound parameter)."""
    conditions = [column == value for value in values]
    return or_(*conditions) if conditions else false()


def one_of_ids(column: ColumnElement[Any], ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN (…)`` with integer ids written inline (they are ints, so nothing can be injected)."""
    literals: list[ColumnElement[Any]] = [literal_column(str(int(i))) for i in ids]
    return column.in_(literals) if literals else false()
