"""Subscriptions to kinds of mutations: what a partner wants in its feed, and for which purpose.

Subscribing is a wish, not a right: entries reach the feed only when a deliberation for that purpose lets
the partner see the data and it integrated the person (see :mod:`.entitlement`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, select

from kruispunt.network.deliberations import PURPOSE_PATTERN
from kruispunt.network.feed_tables import feed_subscription
from kruispunt.network.feeds.entitlement import expand_kinds
from kruispunt.network.partners import get_partner, now
from kruispunt.network.reasons import NetworkError


@dataclass(frozen=True)
class Subscription:
    partner_kbo: str
    kind: str
    purpose: str


def subscribe(engine: Engine, kbo: str, kinds: list[str], purpose: str) -> list[Subscription]:
    """Subscribe the partner to ``kinds`` (names or the families ``status`` / ``register``); idempotent."""
    if not PURPOSE_PATTERN.match(purpose):
        raise NetworkError(f"purpose {purpose!r}: use a short code of lower-case letters, digits, . _ -")
    try:
        wanted = expand_kinds(kinds)
    except ValueError as error:
        raise NetworkError(str(error)) from None
    if not wanted:
        raise NetworkError("name at least one kind of mutation")
    with engine.begin() as conn:
        owner = get_partner(conn, kbo)
        have = set(
            conn.execute(
                select(feed_subscription.c.kind).where(
                    feed_subscription.c.partner_id == owner.id, feed_subscription.c.purpose == purpose
                )
            ).scalars()
        )
        new = [k for k in wanted if k not in have]
        if new:
            conn.execute(
                feed_subscription.insert(),
                [{"partner_id": owner.id, "kind": k, "purpose": purpose, "created_at": now()} for k in new],
            )
    return list_subscriptions(engine, kbo)


def unsubscribe(engine: Engine, kbo: str, kinds: list[str], purpose: str) -> int:
    """Stop the given kinds for the purpose; returns how many subscriptions ended."""
    try:
        wanted = expand_kinds(kinds)
    except ValueError as error:
        raise NetworkError(str(error)) from None
    with engine.begin() as conn:
        owner = get_partner(conn, kbo)
        return int(
            conn.execute(
                delete(feed_subscription).where(
                    feed_subscription.c.partner_id == owner.id,
                    feed_subscription.c.purpose == purpose,
                    feed_subscription.c.kind.in_(wanted),
                )
            ).rowcount
        )


def list_subscriptions(engine: Engine, kbo: str) -> list[Subscription]:
    with engine.connect() as conn:
        owner = get_partner(conn, kbo)
        rows = conn.execute(
            select(feed_subscription.c.kind, feed_subscription.c.purpose)
            .where(feed_subscription.c.partner_id == owner.id)
            .order_by(feed_subscription.c.purpose, feed_subscription.c.kind)
        ).all()
    return [Subscription(owner.kbo, r.kind, r.purpose) for r in rows]
