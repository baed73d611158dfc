"""The consultation API as partners use it: allowed answers, precise refusals, idempotent retries."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from kruispunt import network
from kruispunt.api import StatusesFastPath, create_app
from kruispunt.config import Settings
from tests.hub_world import TODAY, World, headers, sqlite_only

AT = {"at": TODAY.isoformat()}


def _statuses(client: TestClient, world: World, token: str | None, mid: str = "m-1", **kw: str):  # type: ignore[no-untyped-def]
    params = kw.pop("params", None) or AT
    return client.get(f"/v1/persons/{world.head}/statuses", params=params, headers=headers(token, mid, **kw))


def test_allowed_consultation_returns_only_the_statuses_the_deliberation_allows(
    client: TestClient, world: World
) -> None:
    answer = _statuses(client, world, world.ocmw_token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["deliberation"] == "20/123" and body["capacity"] == 2 and body["insz"] == world.head
    assert [s["status"] for s in body["statuses"]] == ["LEEFLOON"]  # VT exists but is not allowed
    assert body["audit_seq"] == int(answer.headers["X-Audit-Seq"])
    assert network.verify_audit(world.engine).intact


@sqlite_only
def test_period_query_and_identity_with_allowed_fields_only(client: TestClient, world: World) -> None:
    period = _statuses(
        client, world, world.ocmw_token, "m-p", params={"from": "2023-01-01", "to": "2023-12-31"}
    )
    assert period.status_code == 200 and period.json()["from"] == "2023-01-01"
    person = client.get(
        f"/v1/persons/{world.head}/identity", params=AT, headers=headers(world.ocmw_token, "m-i")
    )
    assert person.status_code == 200, person.text
    shown = person.json()["person"]
    assert set(shown) == {"insz", "last_name", "first_name", "household"}
    assert {m["first_name"] for m in shown["household"]} == {"Jan", "Els", "Lien"}


@sqlite_only
def test_refusals_carry_precise_reasons_and_are_logged(client: TestClient, world: World) -> None:
    cases = [
        (None, {}, AT, 401, "token_missing"),
        ("kp_not-a-real-token", {}, AT, 401, "token_invalid"),
        (world.ocmw_token, {"X-Message-Id": ""}, AT, 400, "missing_header"),
        (world.ocmw_token, {"X-Purpose": "marketing"}, AT, 403, "purpose_not_covered"),
        (world.ocmw_token, {"X-Purpose": "Bad Purpose!"}, AT, 400, "invalid_header"),
        (world.fund_token, {}, AT, 403, "no_deliberation"),
        (world.ocmw_token, {}, {"at": "2025-01-01"}, 403, "outside_integration_period"),
        (world.ocmw_token, {}, {"at": "2024-01-01", "to": "2024-02-01"}, 422, "invalid_request"),
    ]
    for number, (token, extra, params, status, reason) in enumerate(cases):
        answer = _statuses(client, world, token, f"r-{number}", params=params, **extra)
        assert (answer.status_code, answer.json()["error"]["reason"]) == (status, reason), answer.text
        assert answer.json()["error"]["source"] == "hub"
        assert answer.headers["X-Error-Source"] == "hub"
    seq, _ = network.audit_head(world.engine)
    assert seq == len(cases)
    outcomes = [c.reason for c in network.who_consulted(world.engine, world.head)]
    assert "outside_integration_period" in outcomes and "no_deliberation" in outcomes


@sqlite_only
def test_person_not_integrated_and_capacity_not_covered(client: TestClient, world: World) -> None:
    other = client.get(
        f"/v1/persons/{world.child}/statuses", params=AT, headers=headers(world.ocmw_token, "c-1")
    )
    assert other.json()["error"]["reason"] == "not_integrated"
    network.register_integration(world.engine, world.ocmw, world.child, 7, date(2024, 1, 1))
    debt = client.get(
        f"/v1/persons/{world.child}/statuses", params=AT, headers=headers(world.ocmw_token, "c-2")
    )
    assert debt.status_code == 403 and debt.json()["error"]["reason"] == "capacity_not_covered"


@sqlite_only
def test_malformed_and_injection_shaped_insz_are_refused_and_change_nothing(
    client: TestClient, world: World
) -> None:
    for number, bad in enumerate(["12345678901", "x' OR '1'='1", "1; DROP TABLE audit_record;--"]):
        answer = client.get(
            f"/v1/persons/{bad}/statuses", params=AT, headers=headers(world.ocmw_token, f"b{number}")
        )
        assert answer.status_code == 400 and answer.json()["error"]["reason"] == "invalid_insz", answer.text
    sneaky = _statuses(client, world, world.ocmw_token, "s-1", **{"X-Case-Reference": "' OR 1=1 --"})
    assert sneaky.status_code == 200
    assert network.verify_audit(world.engine).records == 4


@sqlite_only
def test_revoked_and_rotated_tokens(client: TestClient, world: World) -> None:
    assert _statuses(client, world, world.ocmw_token, "t-1").status_code == 200
    fresh = network.issue_token(world.engine, world.ocmw, rotate=True)
    assert fresh.revoked == 1
    refused = _statuses(client, world, world.ocmw_token, "t-2")
    assert refused.status_code == 401 and refused.json()["error"]["reason"] == "token_revoked"
    assert _statuses(client, world, fresh.token, "t-3").status_code == 200
    network.revoke_tokens(world.engine, world.ocmw)
    assert _statuses(client, world, fresh.token, "t-4").json()["error"]["reason"] == "token_revoked"


def test_retry_returns_the_stored_answer_logged_once_and_forged_reuse_is_refused(
    client: TestClient, world: World
) -> None:
    first = _statuses(client, world, world.ocmw_token, "same-id")
    again = _statuses(client, world, world.ocmw_token, "same-id")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["X-Replayed"] == "true"
    assert network.audit_head(world.engine)[0] == 1
    forged = _statuses(client, world, world.ocmw_token, "same-id", params={"at": "2024-03-01"})
    assert forged.status_code == 409 and forged.json()["error"]["reason"] == "message_id_reused"
    assert network.audit_head(world.engine)[0] == 2
    # Another partner may use the same message id: ids are unique per partner.
    other = _statuses(client, world, world.fund_token, "same-id")
    assert other.json()["error"]["reason"] == "no_deliberation"


@sqlite_only
def test_oversized_bodies_are_refused_before_anything_happens(client: TestClient, world: World) -> None:
    body = {"insz": world.child, "capacity": 2, "start": "2024-01-01", "padding": "x" * 200_000}
    answer = client.post("/v1/directory/integrations", json=body, headers=headers(world.ocmw_token, "big"))
    assert answer.status_code == 413 and answer.json()["error"]["reason"] == "body_too_large"
    assert network.audit_head(world.engine)[0] == 0


@sqlite_only
def test_partner_manages_its_own_directory_entries(client: TestClient, world: World) -> None:
    token = world.ocmw_token
    made = client.post(
        "/v1/directory/integrations",
        json={"insz": world.child, "capacity": 4, "start": "2024-02-01"},
        headers=headers(token, "d-1"),
    )
    assert made.status_code == 201, made.text
    unknown_capacity = client.post(
        "/v1/directory/integrations",
        json={"insz": world.child, "capacity": 99, "start": "2024-02-01"},
        headers=headers(token, "d-2"),
    )
    assert unknown_capacity.json()["error"]["reason"] == "capacity_unknown"
    listed = client.get("/v1/directory/integrations", headers=headers(token, "d-3"))
    assert {(i["insz"], i["capacity"]) for i in listed.json()["integrations"]} == {
        (world.head, 2),
        (world.child, 4),
    }
    ended = client.post(
        "/v1/directory/integrations/end",
        json={"insz": world.child, "capacity": 4, "end": "2024-03-31"},
        headers=headers(token, "d-4"),
    )
    assert ended.status_code == 201 and ended.json()["changed"] == 1
    mine = network.list_integrations(world.engine, world.ocmw, world.child)
    assert [(i.valid_from, i.valid_to) for i in mine] == [(date(2024, 2, 1), date(2024, 3, 31))]
    fund_view = client.get("/v1/directory/integrations", headers=headers(world.fund_token, "d-5"))
    assert fund_view.json()["integrations"] == []


@sqlite_only
def test_health_and_metrics(client: TestClient, world: World) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "audit_log": "writable"}
    _statuses(client, world, None, "x")
    text = client.get("/metrics").text
    assert 'kruispunt_refusals_total{reason="token_missing",source="hub"}' in text
    assert "kruispunt_exchange_seconds_bucket" in text
    assert network.audit_head(world.engine)[0] == 1  # the health probe left no record


@sqlite_only
def test_partner_administration(world: World) -> None:
    listed = {p.kbo: p for p in network.list_partners(world.engine)}
    assert listed[world.ocmw].active_tokens == 1 and listed[world.ocmw].sector == 17
    with pytest.raises(network.NetworkError, match="already exists"):
        network.add_partner(world.engine, world.ocmw, 17, "again")
    with pytest.raises(network.NetworkError, match="not a valid KBO"):
        network.add_partner(world.engine, "0123456789", 17, "bad number")
    assert network.revoke_tokens(world.engine, world.ocmw) == 1
    assert {p.kbo: p for p in network.list_partners(world.engine)}[world.ocmw].active_tokens == 0
    with pytest.raises(network.NetworkError, match="deliberation 20/123 already exists"):
        network.add_deliberation(
            world.engine,
            number="20/123",
            decided_on=date(2020, 1, 1),
            title="",
            service="statuses",
            purpose="x",
            fields=["VT"],
            capacities=[1],
            parties=[world.fund],
        )
    with pytest.raises(network.NetworkError, match="has no field"):
        network.add_deliberation(
            world.engine,
            number="20/999",
            decided_on=date(2020, 1, 1),
            title="",
            service="statuses",
            purpose="x",
            fields=["NOT_A_STATUS"],
            capacities=[1],
            parties=[world.fund],
        )


@sqlite_only
def test_statuses_parameters_are_validated_like_the_schema_says(client: TestClient, world: World) -> None:
    bad_day = _statuses(client, world, world.ocmw_token, "v-1", params={"at": "15/06/2024"})
    assert bad_day.status_code == 422 and bad_day.json()["error"]["reason"] == "invalid_request"
    assert bad_day.json()["error"]["field"] == "at"
    long_insz = client.get(
        f"/v1/persons/{'1' * 41}/statuses", params=AT, headers=headers(world.ocmw_token, "v-2")
    )
    assert long_insz.status_code == 422 and long_insz.json()["error"]["field"] == "insz"
    scheme = client.get(
        f"/v1/persons/{world.head}/statuses",
        params=AT,
        headers={**headers(None, "v-3"), "Authorization": f"Basic {world.ocmw_token}"},
    )
    assert scheme.json()["error"]["reason"] == "token_missing"
    assert network.audit_head(world.engine)[0] == 1  # schema violations are no exchange; the last one is


def test_a_policy_change_made_elsewhere_applies_to_the_next_call(client: TestClient, world: World) -> None:
    """The policy version is bumped by the database itself, so a change made outside the hub counts too."""
    assert _statuses(client, world, world.fund_token, "pv-1").json()["error"]["reason"] == "no_deliberation"
    network.add_deliberation(
        world.engine,
        number="21/300",
        decided_on=date(2021, 2, 1),
        title="Fund: statuses",
        service="statuses",
        purpose="social-inquiry",
        fields=["VT"],
        capacities=[1],
        parties=[world.fund],
    )
    assert _statuses(client, world, world.fund_token, "pv-2").json()["error"]["reason"] == "not_integrated"
    leave = "DELETE FROM deliberation_party WHERE partner_id IN (SELECT id FROM partner WHERE kbo = :k)"
    with world.engine.begin() as conn:  # as another worker or an administrator's SQL would
        conn.execute(
            text(leave),
            {"k": world.fund},
        )
    assert _statuses(client, world, world.fund_token, "pv-3").json()["error"]["reason"] == "no_deliberation"


@sqlite_only
def test_a_call_waits_for_another_writer_of_the_log_and_is_logged(client: TestClient, world: World) -> None:
    """Another process holding SQLite's write lock: the record is handed to the writer that waits for it."""
    database = world.engine.url.database
    assert database is not None
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        answer = _statuses(client, world, world.ocmw_token, "busy-1")
    finally:
        release.join()
        other.close()
    assert answer.status_code == 200, answer.text
    assert network.verify_audit(world.engine).records == 1


@sqlite_only
def test_the_fast_path_answers_as_the_router_does(
    client: TestClient, world: World, settings: Settings
) -> None:
    """The status consultation is dispatched before FastAPI's router; the router's answers are the same."""
    routed_app = create_app(settings)
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not StatusesFastPath]
    cases: list[tuple[str, str, dict[str, str]]] = [
        (world.head, world.ocmw_token, AT),
        (world.head, world.fund_token, AT),  # no deliberation for the fund
        (world.head, world.ocmw_token, {"at": "15/06/2024"}),
        ("1" * 41, world.ocmw_token, AT),
        (world.head, world.ocmw_token, {"from": "2023-01-01"}),
    ]
    with TestClient(routed_app) as routed:
        for number, (insz, token, params) in enumerate(cases):
            answers = [
                http.get(
                    f"/v1/persons/{insz}/statuses", params=params, headers=headers(token, f"{way}-{number}")
                )
                for way, http in (("fast", client), ("routed", routed))
            ]
            fast, through_router = (_comparable(a.json()) for a in answers)
            assert answers[0].status_code == answers[1].status_code, (params, answers[0].text)
            assert fast == through_router
    assert network.verify_audit(world.engine).intact


def _comparable(body: object) -> object:
    """A reply without what differs between two calls (their message ids and audit numbers)."""
    if isinstance(body, dict):
        return {k: _comparable(v) for k, v in body.items() if k not in ("audit_seq", "message_id")}
    return body
