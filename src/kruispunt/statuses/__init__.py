"""Statuses room: the GSS buffer database of harmonised social statuses.

Public API (what other rooms and the shells may use):

- catalogue: :func:`catalogue` (cached), :func:`load_catalogue`, :func:`expand_codes`, :class:`Catalogue`,
  :class:`StatusDefinition`, :class:`UnknownStatus`, :class:`CatalogueError`;
- feeds: :func:`load_status_feed`, :class:`StatusLoadReport`, :data:`STATUS_COLUMNS`, :data:`ALL_SOURCES`;
- queries: :func:`person_statuses`, :class:`StatusPeriod`, :class:`UnknownPerson`, :func:`holders`,
  :func:`periods_frame`;
- tables (for read-only joins): :data:`status_period`, :data:`status_load`;
- the mutation stream: :data:`mutation_stream`, every mutation event (status and register) one row per
  change, each with its own sequence number.

``periods_frame`` answers current knowledge from a columnar snapshot kept exact through the mutation
sequence (:mod:`kruispunt.statuses.snapshot`, table ``status_snapshot``).

Every change a load makes is a mutation event (kinds ``status.started``, ``status.ended``,
``status.corrected``, ``status.removed``; ``subject`` = status code; ``detail`` = JSON
``{"source": ..., "old": [periods], "new": period | null}``). A load's started periods are stored in
``store.mutation_event`` as one record standing for a block of sequence numbers; consumers read
:data:`mutation_stream`, which shows them one row each (:mod:`kruispunt.statuses.outbox`).
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
from kruispunt.statuses.outbox import mutation_stream
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
    "mutation_stream",
    "periods_frame",
    "person_statuses",
    "status_load",
    "status_period",
]
