"""Who may receive what, as frames: subscriptions, deliberation grants and integrations.

A partner receives an event when it subscribed to the event's kind for a purpose, a deliberation in force
for that purpose lets it see the data the event is about (a status code, or a register field) in some
capacity, and it integrated the person in that capacity for a period overlapping the event's.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl
from sqlalchemy import Engine, literal_column, select

from kruispunt.network.feed_tables import feed_subscription
from kruispunt.network.services import IDENTITY, STATUSES
from kruispunt.network.tables import deliberation, deliberation_party, integration
from kruispunt.store import read_frame

STATUS_KINDS = ("status.started", "status.ended", "status.corrected", "status.removed")
REGISTER_KINDS = (
    "register.person_added",
    "register.person_changed",
    "register.address_changed",
    "register.household_changed",
    "register.number_replaced",
)
KINDS = STATUS_KINDS + REGISTER_KINDS
FAMILIES = {"status": STATUS_KINDS, "register": REGISTER_KINDS}
# The register field an event is about; None: any identity field (the person as a whole).
REGISTER_FIELDS = {
    "register.address_changed": "address",
    "register.household_changed": "household",
}
FAR = date(9999, 12, 31)


def expand_kinds(kinds: list[str]) -> tuple[str, ...]:
    """Event kinds from names or families (``status``, ``register``); raises ValueError on a stranger."""
    found: list[str] = []
    for kind in kinds:
        name = kind.strip()
        if name in FAMILIES:
            found += FAMILIES[name]
        elif name in KINDS:
            found.append(name)
        else:
            raise ValueError(f"unknown mutation kind {name!r}; known: status, register, {', '.join(KINDS)}")
    return tuple(dict.fromkeys(found))


def with_data_field(events: pl.DataFrame) -> pl.DataFrame:
    """Add ``service`` and ``field``: what a deliberation must allow for the event to be shown."""
    is_status = pl.col("kind").str.starts_with("status.")
    register_field = pl.col("kind").replace_strict(REGISTER_FIELDS, default=None, return_dtype=pl.String)
    return events.with_columns(
        pl.when(is_status).then(pl.lit(STATUSES)).otherwise(pl.lit(IDENTITY)).alias("service"),
        pl.when(is_status).then(pl.col("subject")).otherwise(register_field).alias("field"),
    )


def grants(engine: Engine, day: date) -> pl.DataFrame:
    """Deliberations in force on ``day``, one row per (partner, service, purpose, field, capacity)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                deliberation_party.c.partner_id,
                deliberation.c.number,
                deliberation.c.service,
                deliberation.c.purpose,
                deliberation.c.fields,
                deliberation.c.capacities,
                deliberation.c.valid_from,
                deliberation.c.valid_to,
            ).join(deliberation, deliberation.c.id == deliberation_party.c.deliberation_id)
        ).all()
    records = [
        {
            "partner_id": int(r.partner_id),
            "deliberation": r.number,
            "service": r.service,
            "purpose": r.purpose,
            "grant_field": data_field,
            "capacity": int(capacity),
        }
        for r in rows
        if r.valid_from <= day and (r.valid_to is None or day <= r.valid_to)
        for data_field in json.loads(r.fields)
        for capacity in json.loads(r.capacities)
    ]
    schema = {
        "partner_id": pl.Int64,
        "deliberation": pl.String,
        "service": pl.String,
        "purpose": pl.String,
        "grant_field": pl.String,
        "capacity": pl.Int64,
    }
    return pl.DataFrame(records, schema=schema)


def subscriptions(engine: Engine) -> pl.DataFrame:
    """Every (partner_id, kind, purpose) subscription."""
    return read_frame(
        engine, select(feed_subscription.c.partner_id, feed_subscription.c.kind, feed_subscription.c.purpose)
    ).with_columns(pl.col("partner_id").cast(pl.Int64))


def integrations(engine: Engine, partner_ids: list[int]) -> pl.DataFrame:
    """The integrations of these partners: partner_id, person_id, capacity, valid_from, valid_to."""
    statement = select(
        integration.c.partner_id,
        integration.c.person_id,
        integration.c.capacity,
        integration.c.valid_from,
        integration.c.valid_to,
    ).where(integration.c.partner_id.in_([literal_column(str(int(p))) for p in partner_ids]))
    return read_frame(engine, statement).with_columns(
        pl.col("partner_id").cast(pl.Int64),
        pl.col("person_id").cast(pl.Int64),
        pl.col("capacity").cast(pl.Int64),
    )


def by_integration(events: pl.DataFrame, engine: Engine, day: date) -> pl.DataFrame:
    """Event × partner rows for partners entitled through an integration (one per partner and event)."""
    subs = subscriptions(engine)
    if subs.is_empty() or events.is_empty():
        return pl.DataFrame()
    candidates = with_data_field(events).join(subs, on="kind")
    allowed = candidates.join(grants(engine, day), on=["partner_id", "service", "purpose"]).filter(
        pl.col("field").is_null() | (pl.col("field") == pl.col("grant_field"))
    )
    if allowed.is_empty():
        return pl.DataFrame()
    files = integrations(engine, allowed["partner_id"].unique().to_list())
    low = pl.coalesce("effective_from", pl.col("recorded_at").dt.date())
    high = pl.coalesce("effective_to", pl.lit(FAR))
    matched = allowed.join(files, on=["partner_id", "person_id", "capacity"]).filter(
        (pl.col("valid_from") <= high) & (low <= pl.coalesce("valid_to", pl.lit(FAR)))
    )
    return (
        matched.sort("capacity")
        .unique(["partner_id", "seq"], keep="first", maintain_order=True)
        .with_columns(pl.lit("integration").alias("basis"))
    )
