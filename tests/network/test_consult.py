"""In-process consultation for a partner (``network.consult`` / ``Hub.exchange_as``): the checks and the audit
record of an HTTP call, without a token."""

from __future__ import annotations

import asyncio
from datetime import date

from kruispunt import network
from kruispunt.network import Reason, StatusQuery
from tests.network.conftest import World


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

    hub = network.Hub(world.engine)
    try:
        replies = asyncio.run(together(hub))
    finally:
        hub.close()
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
