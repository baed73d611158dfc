"""A process-wide generation number of the hub's configuration (deliberations, routes).

Every change this process makes bumps it, so each hub in the process drops its cached deliberations and
routes before its next call. Changes made by another process (the CLI, another worker) reach a hub when its
cache entries expire (``CACHE_SECONDS``): a new deliberation or route applies within that delay.
Credentials are never cached: a revoked token is refused on the very next call.
"""

from __future__ import annotations

import itertools
import threading

CACHE_SECONDS = 2.0

_counter = itertools.count(1)
_lock = threading.Lock()
_generation = 0


def bump() -> None:
    """Record that deliberations or routes changed."""
    global _generation
    with _lock:
        _generation = next(_counter)


def generation() -> int:
    return _generation
