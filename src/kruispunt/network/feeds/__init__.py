"""Mutation feeds and batch exchange, part of the network room.

Public API (what the CLI, the API routes and the tests use):

- subscriptions: :func:`subscribe`, :func:`unsubscribe`, :func:`list_subscriptions`, :class:`Subscription`;
  municipal GSS subscriptions: :func:`add_municipal_subscription`, :func:`list_municipal_subscriptions`,
  :func:`get_municipal_subscription`, :func:`end_municipal_subscription`, :func:`residents`,
  :class:`MunicipalSubscription`;
- fan-out: :func:`dispatch` -> :class:`DispatchReport`; :func:`follow_rights` (the derived-rights
  consumer); :func:`process` (fan-out, rights, webhooks: what ``kruispunt mutations dispatch`` runs);
- pull feed: :func:`authenticate` -> :class:`Caller`, :func:`read_feed` -> :class:`FeedPage`,
  :func:`acknowledge` -> :class:`Acknowledgement`; :func:`backlog` (unacknowledged entries per partner,
  read-only);
- webhooks: :func:`set_webhook`, :func:`remove_webhook`, :func:`get_webhook`, :func:`push`,
  :class:`Backoff`, :func:`dead_letters`, :func:`redeliver_dead_letters`, :func:`sign`;
- batches: :func:`submit_batch`, :func:`add_batch_part`, :func:`run_batch`, :func:`run_pending_batches`,
  :func:`batch_job`, :func:`list_batch_jobs`, :func:`batch_results`, :func:`batch_rejects`,
  :class:`BatchJob`, :class:`BatchBusy`;
- bulk audit: :func:`append_audit_frame` (many hub audit records in one go, same chain);
- :data:`router` (FastAPI, mounted under ``/v1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from kruispunt.network.feeds.access import Caller, as_partner, authenticate
from kruispunt.network.feeds.audit_bulk import append_frame as append_audit_frame
from kruispunt.network.feeds.batch import BatchBusy, BatchJob
from kruispunt.network.feeds.batch import add_part as add_batch_part
from kruispunt.network.feeds.batch import get_job as batch_job
from kruispunt.network.feeds.batch import list_jobs as list_batch_jobs
from kruispunt.network.feeds.batch import rejects as batch_rejects
from kruispunt.network.feeds.batch import results as batch_results
from kruispunt.network.feeds.batch import run as run_batch
from kruispunt.network.feeds.batch import run_pending as run_pending_batches
from kruispunt.network.feeds.batch import submit as submit_batch
from kruispunt.network.feeds.dispatch import DispatchReport, dispatch
from kruispunt.network.feeds.municipal import (
    MunicipalSubscription,
    add_municipal_subscription,
    end_municipal_subscription,
    get_municipal_subscription,
    list_municipal_subscriptions,
    residents,
)
from kruispunt.network.feeds.pull import Acknowledgement, Entry, FeedPage, acknowledge, backlog, read_feed
from kruispunt.network.feeds.subscriptions import Subscription, list_subscriptions, subscribe, unsubscribe
from kruispunt.network.feeds.webhooks import (
    Backoff,
    PushReport,
    Webhook,
    dead_letters,
    get_webhook,
    push,
    redeliver_dead_letters,
    remove_webhook,
    set_webhook,
    sign,
)


def follow_rights(engine: Engine) -> int:
    """The derived-rights consumer: re-decide the persons touched by new events; returns the runs made."""
    from kruispunt import rights

    return len(rights.consume_mutations(engine))


@dataclass(frozen=True)
class ProcessReport:
    dispatch: DispatchReport
    rights_runs: int
    push: PushReport


def process(engine: Engine, *, day: date | None = None, backoff: Backoff | None = None) -> ProcessReport:
    """Everything the outbox drives: fan-out into feeds, rights re-decided, webhooks pushed."""
    fanned = dispatch(engine, day=day)
    runs = follow_rights(engine)
    return ProcessReport(fanned, runs, push(engine, backoff=backoff))


def __getattr__(name: str) -> object:
    if name == "router":  # FastAPI routes are built on first use, not at import of the service API
        from kruispunt.network.feeds.routes import router

        return router
    raise AttributeError(name)


__all__ = [
    "Acknowledgement",
    "Backoff",
    "BatchBusy",
    "BatchJob",
    "Caller",
    "DispatchReport",
    "Entry",
    "FeedPage",
    "MunicipalSubscription",
    "ProcessReport",
    "PushReport",
    "Subscription",
    "Webhook",
    "acknowledge",
    "add_batch_part",
    "add_municipal_subscription",
    "append_audit_frame",
    "as_partner",
    "authenticate",
    "backlog",
    "batch_job",
    "batch_rejects",
    "batch_results",
    "dead_letters",
    "dispatch",
    "end_municipal_subscription",
    "follow_rights",
    "get_municipal_subscription",
    "get_webhook",
    "list_batch_jobs",
    "list_municipal_subscriptions",
    "list_subscriptions",
    "process",
    "push",
    "read_feed",
    "redeliver_dead_letters",
    "remove_webhook",
    "residents",
    "run_batch",
    "run_pending_batches",
    "set_webhook",
    "sign",
    "submit_batch",
    "subscribe",
    "unsubscribe",
]
