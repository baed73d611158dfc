"""Statuses room: the GSS buffer database of harmonised social statuses.

Public API (what other rooms and the shells may use):

- catalogue: :func:`catalogue` (cached), :func:`load_catalogue`, :func:`expand_codes`, :class:`Catalogue`,
  :class:`StatusDefinition`, :class:`UnknownStatus`, :class:`CatalogueError`;
- feeds: :func:`load_status_feed`, :class:`StatusLoadReport`, :data:`STATUS_COLUMNS`, :data:`ALL_SOURCES`;
- queries: :func:`person_statuses`, :class:`StatusPeriod`, :class:`UnknownPerson`, :func:`holders`,
  :func:`periods_frame`;
- tables (for read-only joins): :data:`status_period`, :data:`status_load`;
- the mutation stream: :func:`mutation_events`, the statement reading every mutation event (status and
  register) of a range of sequence numbers, one row per change, each with its own number.

``periods_frame`` answers current knowledge from a columnar snapshot kept exact through the mutation
sequence (:mod:`kruispunt.statuses.snapshot`, table ``status_snapshot``).

Every change a load makes is a mutation event (kinds ``status.started``, ``status.ended``,
``status.corrected``, ``status.removed``; ``subject`` = status code; ``detail`` = JSON
``{"source": ..., "old": [periods], "new": period | null}``). A load's started periods are stored in
``store.mutation_event`` as one record standing for a block of sequence numbers; consumers read
:func:`mutation_events`, which shows them one row each (:mod:`kruispunt.statuses.outbox`).
"""

from kruispunt.statuses.catalogue import (
    Catalogue,
    CatalogueError,
    StatusDefinition,
    UnknownStatus,
    catalogue,
    expand_codes,
    load_catalogue,
)
from kruispunt.statuses.feed import ALL_SOURCES, STATUS_COLUMNS
from kruispunt.statuses.load import StatusLoadReport, load_status_feed
from kruispunt.statuses.outbox import mutation_events
from kruispunt.statuses.queries import StatusPeriod, UnknownPerson, holders, periods_frame, person_statuses
from kruispunt.statuses.tables import status_load, status_period

__all__ = [
    "ALL_SOURCES",
    "STATUS_COLUMNS",
    "Catalogue",
    "CatalogueError",
    "StatusDefinition",
    "StatusLoadReport",
    "StatusPeriod",
    "UnknownPerson",
    "UnknownStatus",
    "catalogue",
    "expand_codes",
    "holders",
    "load_catalogue",
    "load_status_feed",
    "mutation_events",
    "periods_frame",
    "person_statuses",
    "status_load",
    "status_period",
]
