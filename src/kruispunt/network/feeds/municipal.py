"""Municipal subscriptions to the GSS: a municipality's residents in the statuses its regulation needs.

A municipality (a partner) declares the statuses and the regulation (the tax or tariff rule that needs
them) under a deliberation for the ``statuses`` service that allows those status codes. It then gets the
list of its residents holding one of them on a reference date, and from then on every status change of a
resident in those statuses in its feed. The basis is residence, not an integration: the entry's
``basis`` says ``residence:<NIS>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine, select, update

from kruispunt import identity, statuses
from kruispunt.network.deliberations import covering
from kruispunt.network.feed_tables import municipal_subscription
from kruispunt.network.partners import get_partner, now
from kruispunt.network.reasons import NetworkError, Refused
from kruispunt.network.services import STATUSES
from kruispunt.store import read_frame

FAR = date(9999, 12, 31)


@dataclass(frozen=True)
class MunicipalSubscription:
    id: int
    partner_kbo: str
    municipality_nis: str
    statuses: tuple[str, ...]
    regulation: str
    purpose: str
    deliberation: str
    reference_date: date


def add_municipal_subscription(
    engine: Engine,
    kbo: str,
    *,
    municipality_nis: str,
    statuses_wanted: list[str],
    regulation: str,
    purpose: str,
    reference_date: date,
) -> MunicipalSubscription:
    """Declare a subscription; refused unless a deliberation in force allows every status for the purpose."""
    try:
        place = identity.municipality(municipality_nis)
    except identity.UnknownMunicipality as error:
        raise NetworkError(str(error)) from None
    codes = tuple(dict.fromkeys(s.strip().upper() for s in statuses_wanted if s.strip()))
    if not codes:
        raise NetworkError("name at least one status")
    unknown = [c for c in codes if c not in statuses.catalogue().codes]
    if unknown:
        raise NetworkError(f"unknown status code(s) {', '.join(unknown)}")
    if not regulation.strip():
        raise NetworkError(
            "name the regulation that needs these statuses (e.g. 'tax regulation 2024, art. 3')"
        )
    with engine.begin() as conn:
        owner = get_partner(conn, kbo)
        try:
            found = covering(conn, owner.id, STATUSES, purpose, date.today())
        except Refused as refusal:
            raise NetworkError(refusal.message) from None
        missing = [c for c in codes if c not in found.fields]
        if missing:
            raise NetworkError(f"deliberation {found.number} does not allow status(es) {', '.join(missing)}")
        new_id = conn.execute(
            municipal_subscription.insert().values(
                partner_id=owner.id,
                municipality_nis=place.nis,
                statuses=json.dumps(list(codes)),
                regulation=regulation.strip()[:300],
                purpose=purpose,
                deliberation=found.number,
                reference_date=reference_date,
                created_at=now(),
            )
        ).inserted_primary_key
    assert new_id is not None
    return MunicipalSubscription(
        int(new_id[0]), owner.kbo, place.nis, codes, regulation.strip(), purpose, found.number, reference_date
    )


def _from_row(row: object, kbo: str) -> MunicipalSubscription:
    return MunicipalSubscription(
        int(row.id),  # type: ignore[attr-defined]
        kbo,
        row.municipality_nis,  # type: ignore[attr-defined]
        tuple(json.loads(row.statuses)),  # type: ignore[attr-defined]
        row.regulation,  # type: ignore[attr-defined]
        row.purpose,  # type: ignore[attr-defined]
        row.deliberation,  # type: ignore[attr-defined]
        row.reference_date,  # type: ignore[attr-defined]
    )


def list_municipal_subscriptions(engine: Engine, kbo: str) -> list[MunicipalSubscription]:
    """The partner's active municipal subscriptions."""
    with engine.connect() as conn:
        owner = get_partner(conn, kbo)
        rows = conn.execute(
            select(municipal_subscription)
            .where(
                municipal_subscription.c.partner_id == owner.id, municipal_subscription.c.ended_at.is_(None)
            )
            .order_by(municipal_subscription.c.id)
        ).all()
    return [_from_row(r, owner.kbo) for r in rows]


def get_municipal_subscription(engine: Engine, kbo: str, subscription_id: int) -> MunicipalSubscription:
    for found in list_municipal_subscriptions(engine, kbo):
        if found.id == subscription_id:
            return found
    raise NetworkError(f"partner {kbo} has no active municipal subscription {subscription_id}")


def end_municipal_subscription(engine: Engine, kbo: str, subscription_id: int) -> None:
    get_municipal_subscription(engine, kbo, subscription_id)
    with engine.begin() as conn:
        conn.execute(
            update(municipal_subscription)
            .where(municipal_subscription.c.id == subscription_id)
            .values(ended_at=now())
        )


def residents(engine: Engine, subscription: MunicipalSubscription, at: date | None = None) -> pl.DataFrame:
    """Residents holding a subscribed status on ``at`` (default: the reference date).

    Columns: insz, person_id, status, start_date, end_date; one row per status period held.
    """
    day = at or subscription.reference_date
    codes = statuses.expand_codes(subscription.statuses)
    found = statuses.holders(engine, codes, at=day, municipality=subscription.municipality_nis)
    return found.select("insz", "person_id", "status", "start_date", "end_date").sort("insz", "status")


def active_frame(engine: Engine) -> pl.DataFrame:
    """Every active municipal subscription, one row per status code (partner_id, nis, status, ...)."""
    rows = read_frame(
        engine,
        select(
            municipal_subscription.c.partner_id,
            municipal_subscription.c.municipality_nis,
            municipal_subscription.c.statuses,
            municipal_subscription.c.purpose,
            municipal_subscription.c.deliberation,
        ).where(municipal_subscription.c.ended_at.is_(None)),
    )
    records = [
        {**r, "partner_id": int(r["partner_id"]), "subject": code}
        for r in rows.to_dicts()
        for code in statuses.expand_codes(json.loads(r["statuses"]))
    ]
    schema = {
        "partner_id": pl.Int64,
        "municipality_nis": pl.String,
        "statuses": pl.String,
        "purpose": pl.String,
        "deliberation": pl.String,
        "subject": pl.String,
    }
    return pl.DataFrame(records, schema=schema).drop("statuses")


def moves(events: pl.DataFrame, engine: Engine, allowed: pl.DataFrame) -> pl.DataFrame:
    """Event × municipality rows for residents holding a subscribed status who move in or out.

    A ``register.address_changed`` event goes to a municipality when the new address (from the event's
    date) or the previous one (to the day before) lies in it and the person holds one of the
    subscription's statuses on that date; ``subject`` says ``moved_in`` or ``moved_out``.
    """
    subs = active_frame(engine)
    changed = events.filter(pl.col("kind") == "register.address_changed")
    if subs.is_empty() or changed.is_empty():
        return pl.DataFrame()
    still = allowed.select("partner_id", "deliberation", pl.col("grant_field").alias("status")).unique()
    subs = subs.rename({"subject": "status"}).join(still, on=["partner_id", "deliberation", "status"])
    places = subs["municipality_nis"].unique().to_list()
    day = pl.coalesce("effective_from", pl.col("recorded_at").dt.date())
    addresses = identity.address_periods(engine).select(
        pl.col("person_id").cast(pl.Int64), "municipality_nis", "valid_from", "valid_to"
    )
    located = changed.with_columns(day.alias("day")).join(addresses, on="person_id")
    arrived = located.filter(pl.col("valid_from") == pl.col("day")).with_columns(
        pl.lit("moved_in").alias("move")
    )
    left = located.filter(pl.col("valid_to") == pl.col("day") - pl.duration(days=1)).with_columns(
        pl.lit("moved_out").alias("move")
    )
    moving = pl.concat([arrived, left]).filter(pl.col("municipality_nis").is_in(places))
    periods = statuses.periods_frame(engine, statuses=sorted(set(subs["status"].to_list()))).select(
        "person_id", "status", "start_date", "end_date"
    )
    held = moving.join(periods, on="person_id").filter(
        (pl.col("start_date") <= pl.col("day"))
        & (pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("day")))
    )
    matched = held.join(subs, on=["municipality_nis", "status"])
    return matched.unique(["partner_id", "seq"], keep="first", maintain_order=True).with_columns(
        pl.col("move").alias("subject"),
        pl.lit(None, pl.Int64).alias("capacity"),
        pl.concat_str(pl.lit("residence:"), pl.col("municipality_nis")).alias("basis"),
    )


def by_residence(events: pl.DataFrame, engine: Engine, allowed: pl.DataFrame) -> pl.DataFrame:
    """Event × municipality rows: status events of residents (during the event's period) in subscribed codes.

    ``allowed`` holds the deliberation grants in force (partner_id, deliberation, grant_field): a
    subscription whose deliberation no longer allows a status delivers nothing for it.
    """
    subs = active_frame(engine)
    status_events = events.filter(pl.col("kind").str.starts_with("status."))
    if subs.is_empty() or status_events.is_empty():
        return pl.DataFrame()
    still = allowed.select("partner_id", "deliberation", pl.col("grant_field").alias("subject")).unique()
    subs = subs.join(still, on=["partner_id", "deliberation", "subject"])
    candidates = status_events.join(subs, on="subject")
    if candidates.is_empty():
        return pl.DataFrame()
    places = subs["municipality_nis"].unique().to_list()
    addresses = identity.address_periods(engine).filter(pl.col("municipality_nis").is_in(places))
    low = pl.coalesce("effective_from", pl.col("recorded_at").dt.date())
    high = pl.coalesce("effective_to", pl.lit(FAR))
    matched = candidates.join(
        addresses.select(pl.col("person_id").cast(pl.Int64), "municipality_nis", "valid_from", "valid_to"),
        on=["person_id", "municipality_nis"],
    ).filter((pl.col("valid_from") <= high) & (low <= pl.coalesce("valid_to", pl.lit(FAR))))
    return matched.unique(["partner_id", "seq"], keep="first", maintain_order=True).with_columns(
        pl.lit(None, pl.Int64).alias("capacity"),
        pl.concat_str(pl.lit("residence:"), pl.col("municipality_nis")).alias("basis"),
    )


def deliver_residents(
    engine: Engine,
    partner_id: int,
    kbo: str,
    subscription: MunicipalSubscription,
    at: date | None,
    message_id: str,
) -> pl.DataFrame:
    """:func:`residents`, with one audit record per person handed to the municipality."""
    from kruispunt.network.feeds.access import digest
    from kruispunt.network.feeds.audit_bulk import append_frame

    found = residents(engine, subscription, at)
    people = found.unique("person_id", keep="first", maintain_order=True)
    audit = people.select(
        pl.lit(now()).alias("recorded_at"),
        pl.lit(STATUSES).alias("service"),
        pl.lit("answered").alias("outcome"),
        pl.lit(200).alias("http_status"),
        pl.lit(digest("residents", subscription.id, str(at or subscription.reference_date))).alias(
            "request_digest"
        ),
        pl.lit(0).alias("hub_us"),
        pl.lit(partner_id).alias("partner_id"),
        pl.lit(kbo).alias("requester"),
        pl.lit(message_id[:100]).alias("message_id"),
        "insz",
        pl.col("person_id").cast(pl.Int64),
        pl.lit(f"subscription {subscription.id}").alias("case_reference"),
        pl.lit(subscription.purpose).alias("purpose"),
        pl.lit(subscription.deliberation).alias("deliberation"),
        pl.lit("hub").alias("provider"),
    )
    with engine.begin() as conn:
        append_frame(conn, audit)
    return found
