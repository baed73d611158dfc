"""The pull feed over HTTP: cursor, at-least-once redelivery, idempotent acknowledgement, audit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kruispunt import network, statuses
from kruispunt.network import feeds
from tests.hub_world import World, headers, sqlite_only, write_statuses


def _changes(world: World) -> None:
    feeds.subscribe(world.engine, world.ocmw, ["status"], "social-inquiry")
    for number, end in enumerate(("2024-05-31", "2024-04-30", "2024-03-31"), start=1):
        statuses.load_status_feed(
            world.engine,
            write_statuses(
                world.folder / f"ocmw-{number}.csv", [(world.head, "LEEFLOON", "2023-01-01", end)], "OCMW"
            ),
            source="OCMW",
        )
    feeds.dispatch(world.engine)


def test_feed_is_at_least_once_and_a_double_ack_changes_nothing(client: TestClient, world: World) -> None:
    _changes(world)
    first = client.get("/v1/mutations", params={"limit": 2}, headers=headers(world.ocmw_token, "p-1"))
    assert first.status_code == 200, first.text
    body = first.json()
    ids = [e["id"] for e in body["entries"]]
    assert len(ids) == 2 and ids == sorted(ids) and body["more"] is True
    assert body["entries"][0]["insz"] == world.head and body["entries"][0]["deliberation"] == "20/123"
    again = client.get("/v1/mutations", params={"limit": 2}, headers=headers(world.ocmw_token, "p-2")).json()
    assert [e["id"] for e in again["entries"]] == ids  # not acknowledged: delivered again, same ids
    ack = client.post("/v1/mutations/ack", json={"up_to": ids[-1]}, headers=headers(world.ocmw_token, "a-1"))
    assert ack.json() == {"acknowledged": ids[-1], "changed": True}
    twice = client.post(
        "/v1/mutations/ack", json={"up_to": ids[-1]}, headers=headers(world.ocmw_token, "a-2")
    )
    assert twice.json() == {"acknowledged": ids[-1], "changed": False}
    older = client.post("/v1/mutations/ack", json={"up_to": ids[0]}, headers=headers(world.ocmw_token, "a-3"))
    assert older.json() == {"acknowledged": ids[-1], "changed": False}
    rest = client.get("/v1/mutations", headers=headers(world.ocmw_token, "p-3")).json()
    assert rest["entries"] and all(e["id"] > ids[-1] for e in rest["entries"]) and rest["more"] is False
    delivered = [c for c in network.who_consulted(world.engine, world.head) if c.service == "mutations"]
    assert len(delivered) == 2 + 2 + len(rest["entries"])  # every delivery audited, redeliveries too
    assert network.verify_audit(world.engine).intact


@sqlite_only
def test_feed_refusals(client: TestClient, world: World) -> None:
    assert client.get("/v1/mutations").json()["error"]["reason"] == "token_missing"
    bad = client.get("/v1/mutations", headers={"Authorization": "Bearer kp_nope", "X-Message-Id": "x"})
    assert bad.status_code == 401 and bad.json()["error"]["reason"] == "token_invalid"
    beyond = client.post("/v1/mutations/ack", json={"up_to": 99}, headers=headers(world.ocmw_token, "a-9"))
    assert beyond.status_code == 422 and "not an entry of your feed" in beyond.json()["error"]["message"]
    assert network.verify_audit(world.engine).intact


@sqlite_only
def test_subscriptions_over_http(client: TestClient, world: World) -> None:
    made = client.post(
        "/v1/subscriptions",
        json={"kinds": ["status.ended", "register.address_changed"], "purpose": "social-inquiry"},
        headers=headers(world.ocmw_token, "s-1"),
    )
    assert made.status_code == 201, made.text
    unknown = client.post(
        "/v1/subscriptions",
        json={"kinds": ["status.exploded"], "purpose": "x"},
        headers=headers(world.ocmw_token),
    )
    assert unknown.status_code == 422 and "unknown mutation kind" in unknown.json()["error"]["message"]
    listed = client.get("/v1/subscriptions", headers=headers(world.ocmw_token, "s-2")).json()
    assert {s["kind"] for s in listed["subscriptions"]} == {"status.ended", "register.address_changed"}
    municipal = client.post(
        "/v1/subscriptions/municipal",
        json={
            "municipality_nis": "61031",
            "statuses": ["LEEFLOON"],
            "regulation": "Règlement-taxe 2024",
            "reference_date": "2024-01-01",
        },
        headers=headers(world.huy_token, "m-1", purpose="municipal-tax"),
    )
    assert municipal.status_code == 201, municipal.text
    found = client.get(
        f"/v1/subscriptions/municipal/{municipal.json()['id']}/residents",
        headers=headers(world.huy_token, "m-2", purpose="municipal-tax"),
    )
    assert [r["insz"] for r in found.json()["residents"]] == [world.head]
    audited = [c for c in network.who_consulted(world.engine, world.head) if c.requester == world.huy]
    assert len(audited) == 1 and audited[0].deliberation == "21/045"
