"""Webhook push: the feed entries POSTed to a partner's endpoint, in order, with retries and dead letters.

Each endpoint has its own push cursor. A batch of entries after the cursor is POSTed as JSON, signed with
HMAC-SHA256 over the body (``X-Kruispunt-Signature: sha256=<hex>``); a 2xx answer moves the cursor and the
entries go to the audit log. Any other outcome schedules a retry with exponential backoff, and the same
batch is sent again, so a receiver that was down gets everything later, in order. After ``max_attempts``
failures the batch goes to the dead-letter list and the cursor moves on; dead letters stay readable in the
pull feed and can be pushed again with :func:`redeliver_dead_letters`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, delete, or_, select, update

from kruispunt.network.feed_tables import feed_entry, webhook, webhook_dead_letter, webhook_delivery
from kruispunt.network.feeds.pull import _entry, audit_deliveries, entries_after
from kruispunt.network.partners import get_partner, now
from kruispunt.network.reasons import NetworkError
from kruispunt.network.tables import partner

BATCH = 200


@dataclass(frozen=True)
class Backoff:
    """Retry schedule: ``base`` seconds doubled per failed try, at most ``cap``; ``max_attempts`` tries."""

    base: float = 5.0
    cap: float = 3600.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.cap, self.base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Webhook:
    partner_kbo: str
    url: str
    secret: str
    pushed_id: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class PushReport:
    delivered: int
    failed_attempts: int
    dead_lettered: int


def set_webhook(engine: Engine, kbo: str, url: str) -> Webhook:
    """Push the partner's feed to ``url`` from its acknowledged position on; a new signing secret is made."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NetworkError(f"{url!r} is not an http(s) URL")
    secret = secrets.token_hex(32)
    with engine.begin() as conn:
        owner = get_partner(conn, kbo)
        start = conn.execute(select(webhook.c.pushed_id).where(webhook.c.partner_id == owner.id)).scalar()
        conn.execute(delete(webhook).where(webhook.c.partner_id == owner.id))
        conn.execute(
            webhook.insert().values(
                partner_id=owner.id,
                url=url,
                secret=secret,
                pushed_id=int(start or 0),
                attempts=0,
                next_attempt_at=None,
                updated_at=now(),
            )
        )
    return Webhook(owner.kbo, url, secret, int(start or 0), 0, None, None)


def remove_webhook(engine: Engine, kbo: str) -> bool:
    with engine.begin() as conn:
        owner = get_partner(conn, kbo)
        return bool(conn.execute(delete(webhook).where(webhook.c.partner_id == owner.id)).rowcount)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value; receivers recompute it to check the sender."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _record(
    engine: Engine, partner_id: int, rows: list[Any], attempt: int, status: int | None, error: str | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            webhook_delivery.insert().values(
                partner_id=partner_id,
                first_entry=rows[0].id,
                last_entry=rows[-1].id,
                entries=len(rows),
                attempt=attempt,
                attempted_at=now(),
                http_status=status,
                outcome="delivered" if error is None else "failed",
                error=error,
            )
        )


def _post(client: httpx.Client, hook: Any, kbo: str, rows: list[Any]) -> tuple[int | None, str | None]:
    body = json.dumps(
        {"partner": kbo, "entries": [_entry(r).as_json() for r in rows]}, separators=(",", ":")
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Kruispunt-Signature": sign(hook.secret, body),
        "X-Kruispunt-Delivery": f"{rows[0].id}-{rows[-1].id}",
    }
    try:
        response = client.post(hook.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _push_one(
    engine: Engine, client: httpx.Client, hook: Any, backoff: Backoff, clock: datetime
) -> tuple[int, int, int]:
    """Push one endpoint until it is up to date or fails; (delivered, failed attempts, dead-lettered)."""
    partner_id = int(hook.partner_id)
    kbo = str(hook.kbo)
    delivered = 0
    pushed = int(hook.pushed_id)
    attempts = int(hook.attempts)
    while True:
        with engine.connect() as conn:
            rows = entries_after(conn, partner_id, pushed, BATCH)
        if not rows:
            return delivered, 0, 0
        status, error = _post(client, hook, kbo, rows)
        _record(engine, partner_id, rows, attempts + 1, status, error)
        if error is None:
            with engine.begin() as conn:
                audit_deliveries(conn, partner_id, kbo, rows, None, f"webhook:{hook.url}"[:500])
                conn.execute(
                    update(webhook)
                    .where(webhook.c.partner_id == partner_id)
                    .values(
                        pushed_id=rows[-1].id,
                        attempts=0,
                        next_attempt_at=None,
                        last_error=None,
                        updated_at=now(),
                    )
                )
            delivered += len(rows)
            pushed, attempts = int(rows[-1].id), 0
            continue
        attempts += 1
        if attempts >= backoff.max_attempts:
            _dead_letter(engine, partner_id, rows, attempts, error)
            return delivered, 1, len(rows)
        with engine.begin() as conn:
            conn.execute(
                update(webhook)
                .where(webhook.c.partner_id == partner_id)
                .values(
                    attempts=attempts,
                    next_attempt_at=clock + backoff.delay(attempts),
                    last_error=error,
                    updated_at=now(),
                )
            )
        return delivered, 1, 0


def _dead_letter(engine: Engine, partner_id: int, rows: list[Any], attempts: int, error: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            webhook_dead_letter.insert(),
            [
                {
                    "partner_id": partner_id,
                    "entry_id": r.id,
                    "attempts": attempts,
                    "last_error": error,
                    "dead_at": now(),
                }
                for r in rows
            ],
        )
        conn.execute(
            update(webhook)
            .where(webhook.c.partner_id == partner_id)
            .values(
                pushed_id=rows[-1].id, attempts=0, next_attempt_at=None, last_error=error, updated_at=now()
            )
        )


def push(
    engine: Engine,
    *,
    client: httpx.Client | None = None,
    backoff: Backoff | None = None,
    clock: Callable[[], datetime] = now,
) -> PushReport:
    """Push every endpoint that is due (no retry pending, or its retry time has come)."""
    backoff = backoff or Backoff()
    moment = clock()
    with engine.connect() as conn:
        due = conn.execute(
            select(webhook, partner.c.kbo)
            .join(partner, partner.c.id == webhook.c.partner_id)
            .where(or_(webhook.c.next_attempt_at.is_(None), webhook.c.next_attempt_at <= moment))
            .order_by(webhook.c.partner_id)
        ).all()
    own = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0), follow_redirects=False)
    totals = [0, 0, 0]
    try:
        for hook in due:
            for index, value in enumerate(_push_one(engine, http, hook, backoff, moment)):
                totals[index] += value
    finally:
        if own:
            http.close()
    return PushReport(*totals)


def get_webhook(engine: Engine, kbo: str) -> Webhook | None:
    with engine.connect() as conn:
        owner = get_partner(conn, kbo)
        row = conn.execute(select(webhook).where(webhook.c.partner_id == owner.id)).first()
    if row is None:
        return None
    return Webhook(
        owner.kbo, row.url, row.secret, row.pushed_id, row.attempts, row.next_attempt_at, row.last_error
    )


def dead_letters(engine: Engine, kbo: str) -> list[tuple[int, int, str | None]]:
    """(entry id, attempts, last error) of the partner's dead letters, oldest first."""
    with engine.connect() as conn:
        owner = get_partner(conn, kbo)
        rows = conn.execute(
            select(
                webhook_dead_letter.c.entry_id,
                webhook_dead_letter.c.attempts,
                webhook_dead_letter.c.last_error,
            )
            .where(webhook_dead_letter.c.partner_id == owner.id)
            .order_by(webhook_dead_letter.c.entry_id)
        ).all()
    return [(int(r.entry_id), int(r.attempts), r.last_error) for r in rows]


def redeliver_dead_letters(engine: Engine, kbo: str, *, client: httpx.Client | None = None) -> int:
    """Push the partner's dead letters again (one POST, in entry order); accepted ones leave the list."""
    with engine.connect() as conn:
        owner = get_partner(conn, kbo)
        hook = conn.execute(
            select(webhook, partner.c.kbo)
            .join(partner, partner.c.id == webhook.c.partner_id)
            .where(webhook.c.partner_id == owner.id)
        ).first()
        rows = conn.execute(
            select(feed_entry)
            .join(
                webhook_dead_letter,
                (webhook_dead_letter.c.partner_id == feed_entry.c.partner_id)
                & (webhook_dead_letter.c.entry_id == feed_entry.c.id),
            )
            .where(feed_entry.c.partner_id == owner.id)
            .order_by(feed_entry.c.id)
        ).all()
    if hook is None:
        raise NetworkError(f"partner {owner.kbo} has no webhook")
    if not rows:
        return 0
    http = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0))
    try:
        status, error = _post(http, hook, owner.kbo, list(rows))
    finally:
        if client is None:
            http.close()
    _record(engine, owner.id, list(rows), 0, status, error)
    if error is not None:
        raise NetworkError(f"the webhook still fails: {error}")
    with engine.begin() as conn:
        audit_deliveries(conn, owner.id, owner.kbo, list(rows), None, f"webhook:{hook.url}"[:500])
        conn.execute(
            delete(webhook_dead_letter).where(
                webhook_dead_letter.c.partner_id == owner.id,
                webhook_dead_letter.c.entry_id <= rows[-1].id,
            )
        )
    return len(rows)
