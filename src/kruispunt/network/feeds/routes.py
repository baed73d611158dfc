"""HTTP routes of mutation feeds, subscriptions and batches (mounted under ``/v1`` with the exchange API).

Every route authenticates the partner with its bearer token and ``X-Message-Id``; batch uploads and the
residents list carry the full call metadata (end user, case reference, purpose) like a consultation.
Errors have the hub's format: ``{"error": {"reason", "source", "message", "field"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from kruispunt.network.feeds import batch, municipal, pull, subscriptions, webhooks
from kruispunt.network.feeds.access import Caller, authenticate
from kruispunt.network.hub import CallMeta
from kruispunt.network.reasons import NetworkError, Reason, Refused
from kruispunt.network.routes import Meta

router = APIRouter(tags=["mutations and batches"])
T = TypeVar("T")


class AckIn(BaseModel):
    up_to: int = Field(ge=0, description="The id of the last entry processed.")


class SubscriptionIn(BaseModel):
    kinds: list[str] = Field(min_length=1, description="Kinds or families (status, register).")
    purpose: str = Field(max_length=60)


class WebhookIn(BaseModel):
    url: str = Field(max_length=500)


class MunicipalIn(BaseModel):
    municipality_nis: str = Field(min_length=5, max_length=5)
    statuses: list[str] = Field(min_length=1)
    regulation: str = Field(min_length=1, max_length=300)
    reference_date: date


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.kruispunt.engine
    return engine


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, media_type="application/json")


def _error(reason: Reason, message: str, field: str | None = None) -> Response:
    body = {"error": {"reason": reason.value, "source": "hub", "message": message, "field": field}}
    return _json(body, reason.http_status)


def _guarded(work: Callable[[], T]) -> T | Response:
    try:
        return work()
    except Refused as refusal:
        return _error(refusal.reason, refusal.message, refusal.field)
    except NetworkError as error:
        return _error(Reason.INVALID_REQUEST, str(error))


def _caller(request: Request, meta: CallMeta, service: str, *, full: bool = False) -> Caller:
    return authenticate(_engine(request), meta, service, full=full)


@router.get("/mutations", operation_id="read_mutations")
def read_mutations(
    request: Request,
    meta: Meta,
    after: Annotated[
        int | None, Query(description="Entries after this id (default: your acknowledgement).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=pull.MAX_PAGE)] = 100,
) -> Response:
    """Your feed: change notifications after a cursor, oldest first; unacknowledged entries come again."""

    def work() -> Response:
        page = pull.read_feed(_engine(request), _caller(request, meta, pull.SERVICE), after, limit)
        return _json(page.as_json())

    return _respond(_guarded(work))


@router.post("/mutations/ack", operation_id="acknowledge_mutations")
def acknowledge_mutations(request: Request, meta: Meta, body: AckIn) -> Response:
    """Acknowledge every entry up to ``up_to``; repeating it changes nothing."""

    def work() -> Response:
        done = pull.acknowledge(_engine(request), _caller(request, meta, pull.SERVICE), body.up_to)
        return _json({"acknowledged": done.acknowledged, "changed": done.changed})

    return _respond(_guarded(work))


@router.get("/subscriptions", operation_id="list_subscriptions")
def list_subscriptions(request: Request, meta: Meta) -> Response:
    """The kinds of mutations you subscribed to, your webhook and your municipal subscriptions."""

    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, pull.SERVICE)
        hook = webhooks.get_webhook(engine, caller.kbo)
        return _json(
            {
                "subscriptions": [
                    {"kind": s.kind, "purpose": s.purpose}
                    for s in subscriptions.list_subscriptions(engine, caller.kbo)
                ],
                "webhook": None
                if hook is None
                else {
                    "url": hook.url,
                    "pushed_id": hook.pushed_id,
                    "attempts": hook.attempts,
                    "last_error": hook.last_error,
                },
                "municipal": [
                    _municipal_json(m) for m in municipal.list_municipal_subscriptions(engine, caller.kbo)
                ],
            }
        )

    return _respond(_guarded(work))


@router.post("/subscriptions", operation_id="subscribe")
def subscribe(request: Request, meta: Meta, body: SubscriptionIn) -> Response:
    """Subscribe to kinds of mutations for a purpose (a deliberation and integrations still decide)."""

    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, pull.SERVICE)
        found = subscriptions.subscribe(engine, caller.kbo, body.kinds, body.purpose)
        return _json({"subscriptions": [{"kind": s.kind, "purpose": s.purpose} for s in found]}, 201)

    return _respond(_guarded(work))


@router.put("/subscriptions/webhook", operation_id="set_webhook")
def set_webhook(request: Request, meta: Meta, body: WebhookIn) -> Response:
    """Push your feed to a URL; the answer holds the signing secret, shown only this once."""

    def work() -> Response:
        caller = _caller(request, meta, pull.SERVICE)
        hook = webhooks.set_webhook(_engine(request), caller.kbo, body.url)
        return _json({"url": hook.url, "secret": hook.secret, "pushed_id": hook.pushed_id})

    return _respond(_guarded(work))


def _municipal_json(found: municipal.MunicipalSubscription) -> dict[str, Any]:
    return {
        "id": found.id,
        "municipality_nis": found.municipality_nis,
        "statuses": list(found.statuses),
        "regulation": found.regulation,
        "purpose": found.purpose,
        "deliberation": found.deliberation,
        "reference_date": found.reference_date.isoformat(),
    }


@router.post("/subscriptions/municipal", operation_id="add_municipal_subscription")
def add_municipal(request: Request, meta: Meta, body: MunicipalIn) -> Response:
    """Declare the statuses and regulation your municipality needs (purpose from ``X-Purpose``)."""

    def work() -> Response:
        caller = _caller(request, meta, "statuses", full=True)
        assert meta.purpose is not None
        found = municipal.add_municipal_subscription(
            _engine(request),
            caller.kbo,
            municipality_nis=body.municipality_nis,
            statuses_wanted=body.statuses,
            regulation=body.regulation,
            purpose=meta.purpose,
            reference_date=body.reference_date,
        )
        return _json(_municipal_json(found), 201)

    return _respond(_guarded(work))


@router.get("/subscriptions/municipal/{subscription_id}/residents", operation_id="municipal_residents")
def municipal_residents(
    request: Request,
    meta: Meta,
    subscription_id: int,
    at: Annotated[date | None, Query(description="Reference date (default: the subscription's).")] = None,
) -> Response:
    """Your residents holding a subscribed status on the reference date (each one audited)."""

    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, "statuses", full=True)
        found = municipal.get_municipal_subscription(engine, caller.kbo, subscription_id)
        assert meta.message_id is not None
        rows = municipal.deliver_residents(engine, caller.partner_id, caller.kbo, found, at, meta.message_id)
        return _json(
            {
                "subscription": _municipal_json(found),
                "at": str(at or found.reference_date),
                "residents": rows.to_dicts(),
            }
        )

    return _respond(_guarded(work))


# --- batches ---


def _run_later(engine: Engine, job_id: int) -> None:
    try:
        batch.run(engine, job_id)
    except batch.BatchBusy:
        return


@router.post("/batches", status_code=202, operation_id="submit_batch")
async def submit_batch(
    request: Request,
    meta: Meta,
    tasks: BackgroundTasks,
    service: Annotated[str, Query()] = "statuses",
    at: Annotated[date | None, Query(description="Statuses on this day (default today).")] = None,
    complete: Annotated[bool, Query(description="false: more parts follow (POST .../parts/N).")] = True,
) -> Response:
    """Upload a CSV with an ``insz`` column; every line is checked and answered as a single call would be."""
    body = await request.body()

    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, f"batch.{service}"[:40], full=True)
        job = batch.submit(engine, caller, body, service=service, at=at, complete=complete)
        if job.state == "queued":
            tasks.add_task(_run_later, engine, job.id)
        return _json(job.as_json(), 202)

    return _respond(await run_in_threadpool(_guarded, work))


@router.post("/batches/{job_id}/parts/{part_no}", status_code=202, operation_id="add_batch_part")
async def add_batch_part(
    request: Request,
    meta: Meta,
    tasks: BackgroundTasks,
    job_id: int,
    part_no: int,
    complete: Annotated[bool, Query()] = True,
) -> Response:
    """The next part of a large upload (lines without header); ``complete=true`` on the last one."""
    body = await request.body()

    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, "batch", full=False)
        job = batch.add_part(engine, caller, job_id, part_no, body, complete=complete)
        if job.state == "queued":
            tasks.add_task(_run_later, engine, job.id)
        return _json(job.as_json(), 202)

    return _respond(await run_in_threadpool(_guarded, work))


@router.get("/batches/{job_id}", operation_id="batch_status")
def batch_status(request: Request, meta: Meta, job_id: int, tasks: BackgroundTasks) -> Response:
    """The job's state and progress; a job whose worker died (a restarted hub) is taken up again."""

    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, "batch")
        job = batch.get_job(engine, job_id, caller.partner_id)
        if job.waiting():
            tasks.add_task(_run_later, engine, job.id)
        return _json(job.as_json())

    return _respond(_guarded(work))


def _csv_of(request: Request, meta: Meta, job_id: int, which: Callable[[Engine, int], Any]) -> Response:
    def work() -> Response:
        engine = _engine(request)
        caller = _caller(request, meta, "batch")
        job = batch.get_job(engine, job_id, caller.partner_id)
        if job.state != "done":
            return _error(
                Reason.INVALID_REQUEST, f"batch {job_id} is {job.state}; its files come when it is done"
            )
        text = which(engine, job_id).write_csv()
        return Response(text, 200, media_type="text/csv")

    return _respond(_guarded(work))


@router.get("/batches/{job_id}/result", operation_id="batch_result")
def batch_result(request: Request, meta: Meta, job_id: int) -> Response:
    """The answered lines as CSV: line, insz, capacity, statuses (JSON, as a single call lists them)."""
    return _csv_of(request, meta, job_id, batch.results)


@router.get("/batches/{job_id}/rejects", operation_id="batch_rejects")
def batch_rejects(request: Request, meta: Meta, job_id: int) -> Response:
    """The rejected lines as CSV: line, input, reason, message."""
    return _csv_of(request, meta, job_id, batch.rejects)


def _respond(result: Response | Any) -> Response:
    assert isinstance(result, Response)
    return result
