"""Prometheus metrics of the hub: exchanges by service and outcome, refusals by reason, latency.

Metrics live in the process's default registry. With several workers, set ``PROMETHEUS_MULTIPROC_DIR``
to an empty directory before starting them and ``/metrics`` adds up all workers.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

EXCHANGES = Counter(
    "kruispunt_exchanges",
    "Exchanges handled by the hub, by data service and outcome.",
    ["service", "outcome"],
)
REFUSALS = Counter("kruispunt_refusals", "Refused or failed exchanges, by reason code.", ["reason", "source"])
REPLAYS = Counter("kruispunt_replays", "Idempotent retries answered from the stored reply.", ["service"])
LATENCY = Histogram(
    "kruispunt_exchange_seconds",
    "Time the hub spent on an exchange, provider included.",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_REQUESTS = Counter("kruispunt_http_requests", "HTTP requests served, by status class.", ["status"])


# The labelled children, looked up once: ``labels()`` takes a lock and builds a key at every call.
_exchanges: dict[tuple[str, str], Any] = {}
_latency: dict[str, Any] = {}


def observe(service: str, outcome: str, reason: str | None, source: str | None, seconds: float) -> None:
    counted = _exchanges.get((service, outcome))
    if counted is None:
        counted = _exchanges[(service, outcome)] = EXCHANGES.labels(service, outcome)
    timed = _latency.get(service)
    if timed is None:
        timed = _latency[service] = LATENCY.labels(service)
    counted.inc()
    timed.observe(seconds)
    if reason is not None:
        REFUSALS.labels(reason, source or "hub").inc()


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, summed over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
