"""Webhook push to a real HTTP receiver on 127.0.0.1: down, then up; in order; signed; dead letters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kruispunt import network, statuses
from kruispunt.network import feeds
from kruispunt.network.partners import now
from tests.hub_world import World, sqlite_only, write_statuses


class Receiver:
    """A small webhook receiver; ``up`` False answers 503 as a receiver in maintenance would."""

    def __init__(self) -> None:
        self.up = False
        self.batches: list[dict[str, object]] = []
        self.signatures: list[tuple[bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.batches.append(json.loads(body))
                receiver.signatures.append((body, self.headers["X-Kruispunt-Signature"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def ids(self) -> list[int]:
        return [int(e["id"]) for b in self.batches for e in b["entries"]]  # type: ignore[attr-defined]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _changes(world: World, count: int) -> None:
    feeds.subscribe(world.engine, world.ocmw, ["status"], "social-inquiry")
    for number in range(count):
        statuses.load_status_feed(
            world.engine,
            write_statuses(
                world.folder / f"w-{number}.csv",
                [(world.head, "LEEFLOON", "2023-01-01", f"2024-0{9 - number}-01")],
                "OCMW",
            ),
            source="OCMW",
        )
    feeds.dispatch(world.engine)


def test_receiver_down_gets_everything_later_in_order(world: World, receiver: Receiver) -> None:
    hook = feeds.set_webhook(world.engine, world.ocmw, receiver.url)
    _changes(world, 3)
    backoff = feeds.Backoff(base=30, max_attempts=5)
    down = feeds.push(world.engine, backoff=backoff)
    assert (down.delivered, down.failed_attempts) == (0, 1)
    waiting = feeds.get_webhook(world.engine, world.ocmw)
    assert waiting is not None and waiting.attempts == 1 and waiting.last_error == "HTTP 503"
    assert feeds.push(world.engine, backoff=backoff).failed_attempts == 0  # not due yet: no attempt
    receiver.up = True
    later = feeds.push(world.engine, backoff=backoff, clock=lambda: now() + timedelta(seconds=31))
    assert later.delivered >= 3
    ids = receiver.ids()
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    body, signature = receiver.signatures[0]
    assert signature == feeds.sign(hook.secret, body)
    assert feeds.push(world.engine).delivered == 0  # nothing twice
    pushed = [c for c in network.who_consulted(world.engine, world.head) if c.service == "mutations"]
    assert len(pushed) == len(ids)
    assert network.verify_audit(world.engine).intact


@sqlite_only
def test_after_the_last_attempt_a_batch_goes_to_dead_letters(world: World, receiver: Receiver) -> None:
    feeds.set_webhook(world.engine, world.ocmw, receiver.url)
    _changes(world, 2)
    backoff = feeds.Backoff(base=0, max_attempts=2)
    feeds.push(world.engine, backoff=backoff)
    final = feeds.push(world.engine, backoff=backoff)
    dead = feeds.dead_letters(world.engine, world.ocmw)
    assert final.dead_lettered == len(dead) > 0
    receiver.up = True
    assert feeds.redeliver_dead_letters(world.engine, world.ocmw) == len(dead)
    assert feeds.dead_letters(world.engine, world.ocmw) == []
    assert receiver.ids() == [d[0] for d in dead]
