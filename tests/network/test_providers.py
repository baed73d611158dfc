"""Routing to an external provider over HTTP: answers, and failures told apart from the hub's own."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kruispunt import network
from kruispunt.network import NetworkError
from tests.hub_world import TODAY, World, headers, sqlite_only
from tests.network.provider import SEEN, running_provider

pytestmark = sqlite_only


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with running_provider() as url:
        yield url


def _ask(client: TestClient, world: World, mid: str):  # type: ignore[no-untyped-def]
    return client.get(
        f"/v1/persons/{world.head}/statuses",
        params={"at": TODAY.isoformat()},
        headers=headers(world.ocmw_token, mid),
    )


def test_routed_service_is_answered_by_the_provider_and_filtered_by_the_hub(
    client: TestClient, world: World, provider: str
) -> None:
    network.set_route(world.engine, "statuses", f"{provider}/good", timeout_ms=2000)
    answer = _ask(client, world, "p-1")
    assert answer.status_code == 200, answer.text
    assert [s["status"] for s in answer.json()["statuses"]] == ["EQUIV_LEEFLOON"]  # IGO not allowed
    assert SEEN[-1] == {"insz": world.head, "at": TODAY.isoformat(), "requester": world.ocmw}
    record = network.who_consulted(world.engine, world.head)[0]
    assert record.outcome == "answered"


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("slow", 504, "provider_timeout"),
        ("broken", 502, "provider_error"),
        ("garbage", 502, "provider_bad_answer"),
    ],
)
def test_provider_failures_say_the_provider_failed(
    client: TestClient, world: World, provider: str, path: str, status: int, reason: str
) -> None:
    network.set_route(world.engine, "statuses", f"{provider}/{path}", timeout_ms=300)
    answer = _ask(client, world, f"f-{path}")
    assert answer.status_code == status
    assert answer.json()["error"] | {"message": None} == {
        "reason": reason,
        "source": "provider",
        "message": None,
        "field": None,
        "message_id": f"f-{path}",
        "audit_seq": 1,
    }
    assert answer.headers["X-Error-Source"] == "provider"
    assert network.who_consulted(world.engine, world.head)[0].outcome == "failed"
    # A transient failure is not stored: the retry with the same id reaches the provider again.
    network.set_route(world.engine, "statuses", f"{provider}/good")
    assert _ask(client, world, f"f-{path}").status_code == 200


def test_unreachable_provider_and_unknown_person(client: TestClient, world: World, provider: str) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    network.set_route(world.engine, "statuses", f"http://127.0.0.1:{port}", timeout_ms=500)
    assert _ask(client, world, "u-1").json()["error"]["reason"] == "provider_unreachable"
    network.set_route(world.engine, "statuses", f"{provider}/unknown")
    empty = _ask(client, world, "u-2")
    assert empty.status_code == 200 and empty.json()["statuses"] == []
    assert network.remove_route(world.engine, "statuses")
    assert [s["status"] for s in _ask(client, world, "u-3").json()["statuses"]] == ["LEEFLOON"]


def test_routes_are_checked(world: World) -> None:
    with pytest.raises(NetworkError, match="not an http"):
        network.set_route(world.engine, "statuses", "file:///etc/passwd")
    with pytest.raises(NetworkError, match="cannot be routed"):
        network.set_route(world.engine, "directory", "http://localhost:1")
