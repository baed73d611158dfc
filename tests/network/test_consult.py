"""In-process consultation for a partner (``network.consult`` / ``Hub.exchange_as``): the checks and the audit
record of an HTTP call, without a token."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import psycopg
import pytest

from kruispunt import network
from kruispunt.network import Reason, StatusQuery, reader
from tests.hub_world import World


def _consult(world: World, kbo: str, insz: str, message_id: str | None = None, **meta: str) -> network.Reply:
    fields = {"end_user": "sw-7", "case_reference": "dossier-9", "purpose": "social-inquiry", **meta}
    return network.consult(
        world.engine, kbo, StatusQuery(insz, at=date(2024, 3, 1)), message_id=message_id, **fields
    )


def test_consult_answers_under_the_deliberation_and_logs_once_per_message(world: World) -> None:
    reply = _consult(world, world.ocmw, world.head, message_id="web-1")
    assert reply.status == 200 and reply.reason is None, reply.body
    body = reply.json()
    assert body["deliberation"] == "20/123" and [s["status"] for s in body["statuses"]] == ["LEEFLOON"]
    again = _consult(world, world.ocmw, world.head, message_id="web-1")
    assert again.replayed and again.body == reply.body and again.audit_seq == reply.audit_seq
    reused = _consult(world, world.ocmw, world.child, message_id="web-1")
    assert reused.reason is Reason.MESSAGE_ID_REUSED
    logged = [c for c in network.who_consulted(world.engine, world.head) if c.service == "statuses"]
    assert len(logged) == 1 and logged[0].case_reference == "dossier-9"
    assert network.verify_audit(world.engine).intact


def test_consult_refuses_like_the_api(world: World) -> None:
    assert _consult(world, world.ocmw, world.child).reason is Reason.NOT_INTEGRATED
    assert _consult(world, world.fund, world.head).reason is Reason.NO_DELIBERATION
    assert _consult(world, world.ocmw, world.head, purpose="curiosity").reason is Reason.PURPOSE_NOT_COVERED
    assert _consult(world, world.ocmw, "12345678901").reason is Reason.INVALID_INSZ
    assert _consult(world, world.ocmw, world.head, case_reference="").reason is Reason.MISSING_HEADER
    unknown = _consult(world, "0123.456.749", world.head)
    assert unknown.reason is Reason.TOKEN_INVALID and unknown.audit_seq is not None
    refused = [c for c in network.who_consulted(world.engine, world.child) if c.service == "statuses"]
    assert [c.reason for c in refused] == ["not_integrated"]
    assert network.verify_audit(world.engine).intact


def test_a_new_deliberation_applies_to_a_running_hub_at_once(world: World) -> None:
    hub = network.Hub(world.engine)
    try:
        query = StatusQuery(world.head, at=date(2024, 3, 1))
        meta = network.CallMeta(None, "c-1", "sw-7", "dossier-9", "social-inquiry")
        assert hub.exchange_as(world.fund, meta, query).reason is Reason.NO_DELIBERATION  # now cached
        network.add_deliberation(
            world.engine,
            number="21/200",
            decided_on=date(2021, 1, 5),
            title="Fund: statuses",
            service="statuses",
            purpose="social-inquiry",
            fields=["LEEFLOON"],
            capacities=[1],
            parties=[world.fund],
        )
        meta = network.CallMeta(None, "c-2", "sw-7", "dossier-9", "social-inquiry")
        assert hub.exchange_as(world.fund, meta, query).reason is Reason.NOT_INTEGRATED
    finally:
        hub.close()


def test_calls_served_together_on_the_loop_each_get_their_own_answer(world: World) -> None:
    """Calls ready in the same turn of the event loop are read together (on PostgreSQL in one statement);
    each still gets the answer, refusal and audit record of its own call, and a retry its stored reply."""

    def meta(token: str, message_id: str) -> network.CallMeta:
        return network.CallMeta(token, message_id, "sw-7", "dossier-9", "social-inquiry")

    async def together(hub: network.Hub) -> list[network.Reply]:
        calls = [
            (meta(world.ocmw_token, "t-1"), world.head),
            (meta(world.ocmw_token, "t-2"), world.child),
            (meta(world.fund_token, "t-3"), world.head),
            (meta("not-a-token", "t-4"), world.head),
            (meta(world.ocmw_token, "t-5"), world.partner_insz),
            (meta(world.ocmw_token, "t-6"), "12345678901"),
        ]
        first = await asyncio.gather(
            *(hub.consult_statuses(m, StatusQuery(insz, at=date(2024, 3, 1))) for m, insz in calls)
        )
        retried = await hub.consult_statuses(calls[0][0], StatusQuery(world.head, at=date(2024, 3, 1)))
        return [*first, retried]

    replies = _on_a_hub(world, together)
    reasons = [reply.reason for reply in replies]
    assert reasons == [
        None,
        Reason.NOT_INTEGRATED,
        Reason.NO_DELIBERATION,
        Reason.TOKEN_INVALID,
        Reason.NOT_INTEGRATED,
        Reason.INVALID_INSZ,
        None,
    ]
    assert [s["status"] for s in replies[0].json()["statuses"]] == ["LEEFLOON"]
    assert replies[-1].replayed and replies[-1].body == replies[0].body
    assert network.verify_audit(world.engine) == network.Verification(True, 6, 1, 6)


def test_many_calls_at_once_are_spread_over_statements_and_each_answered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many calls ready at once: on PostgreSQL they are spread over the reader's free connections, at
    least ``SHARE`` calls a statement, oldest first; every call still gets its own answer and record,
    and a call whose message id cannot be valid (a tab, non-ASCII, too long) fails only itself."""
    asked: list[int] = []
    ask = reader.PostgresReader._ask

    async def counted(self: reader.PostgresReader, batch: list[Any], slots: asyncio.Semaphore) -> None:
        asked.append(len(batch))
        await ask(self, batch, slots)

    monkeypatch.setattr(reader.PostgresReader, "_ask", counted)

    def meta(message_id: str, token: str = "") -> network.CallMeta:
        return network.CallMeta(token or world.ocmw_token, message_id, "sw-7", "dossier-9", "social-inquiry")

    allowed = [(meta(f"s-{i}"), world.head) for i in range(16)]
    refused = [(meta(f"s-{i}"), world.child) for i in range(16, 24)]
    odd = [(meta("s-\tté"), world.head), (meta("s-été"), world.head), (meta("x" * 101), world.head)]
    calls = [*allowed, *refused, *odd, (meta("s-99", "not-a-token"), world.head)]

    async def together(hub: network.Hub) -> list[network.Reply]:
        return await asyncio.gather(
            *(hub.consult_statuses(m, StatusQuery(insz, at=date(2024, 3, 1))) for m, insz in calls)
        )

    replies = _on_a_hub(world, together)
    reasons = [reply.reason for reply in replies]
    assert reasons == [
        *[None] * 16,
        *[Reason.NOT_INTEGRATED] * 8,
        *[Reason.INVALID_HEADER] * 3,
        Reason.TOKEN_INVALID,
    ]
    assert all([s["status"] for s in r.json()["statuses"]] == ["LEEFLOON"] for r in replies[:16])
    assert len({r.audit_seq for r in replies}) == len(calls)
    assert network.verify_audit(world.engine) == network.Verification(True, len(calls), 1, len(calls))
    if world.engine.dialect.name == "postgresql":
        assert sum(asked) == len(calls)
        assert len(asked) > 1 and min(asked) >= reader.PostgresReader.SHARE


def test_the_batched_read_looks_up_a_stored_reply_by_its_whole_key(world: World) -> None:
    """The plan PostgreSQL keeps for the reader's statement finds a stored reply by partner and message id
    together, also when it was made while the reply table was empty (a new installation): not by the
    message id alone, which walks the whole key once replies accumulate."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("the batched statement is PostgreSQL's")
    url = world.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    calls = [
        (("0" * 64, f"plan-{k}", world.head, date(2024, 3, 1), date(2024, 3, 1)), None) for k in range(5)
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(reader._INDEX_LOOKUPS_ONLY)
        conn.execute("SET plan_cache_mode = force_generic_plan")
        sql = str(reader.CONSULTATIONS.compile(dialect=world.engine.dialect))
        conn.execute(f"PREPARE batch(text) AS {sql.replace('%(calls)s', '$1')}")
        explain = psycopg.sql.SQL("EXPLAIN EXECUTE batch({})").format(reader._json_calls(calls))  # type: ignore[arg-type]
        plan = "\n".join(row[0] for row in conn.execute(explain))
    lookup = plan[plan.index("on exchange_reply") :].splitlines()
    assert "partner_id" in lookup[1] and "message_id" in lookup[1], plan


def _on_a_hub(
    world: World, work: Callable[[network.Hub], Awaitable[list[network.Reply]]]
) -> list[network.Reply]:
    """Run ``work`` on a fresh hub's event loop, then close the hub."""
    hub = network.Hub(world.engine)
    try:
        return asyncio.run(work(hub))
    finally:
        hub.close()
