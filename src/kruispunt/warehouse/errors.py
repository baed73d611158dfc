"""The warehouse's errors: each message names what was wrong and what would be accepted."""

from __future__ import annotations


class WarehouseError(ValueError):
    """A warehouse request that cannot be answered as asked; nothing was written."""


class NotBuilt(WarehouseError):
    """The warehouse (or the quarter asked for) has not been built yet."""


class ExtractRefused(WarehouseError):
    """A research extract that disclosure control or the rules refuse; the refusal is logged."""

    def __init__(self, message: str, extract_id: int | None = None) -> None:
        super().__init__(message)
        self.extract_id = extract_id
