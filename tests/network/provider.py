"""A real, small statuses provider on localhost, to test routing through the knowledge directory.

Its base paths choose its behaviour: ``/good`` answers, ``/slow`` answers late, ``/broken`` fails with
HTTP 500, ``/garbage`` answers something that is not the protocol, ``/unknown`` does not know the person.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Header, Response
from starlette.types import ASGIApp

SEEN: list[dict[str, str | None]] = []


def provider_app() -> FastAPI:
    app = FastAPI()

    @app.get("/good/statuses/{insz}")
    async def good(
        insz: str, at: str | None = None, x_requester: str | None = Header(None)
    ) -> dict[str, object]:
        SEEN.append({"insz": insz, "at": at, "requester": x_requester})
        return {
            "statuses": [
                {"status": "EQUIV_LEEFLOON", "start_date": "2024-01-01", "end_date": None, "source": "OCMW"},
                {"status": "IGO", "start_date": "2020-01-01", "end_date": None, "source": "FPD"},
            ]
        }

    @app.get("/slow/statuses/{insz}")
    async def slow(insz: str) -> dict[str, object]:
        await asyncio.sleep(2)
        return {"statuses": []}

    @app.get("/broken/statuses/{insz}")
    async def broken(insz: str) -> Response:
        return Response("internal error", status_code=500)

    @app.get("/garbage/statuses/{insz}")
    async def garbage(insz: str) -> dict[str, object]:
        return {"statuses": [{"status": "LEEFLOON", "start_date": "not a date"}]}

    @app.get("/unknown/statuses/{insz}")
    async def unknown(insz: str) -> Response:
        return Response(status_code=404)

    return app


@contextmanager
def serve_in_thread(app: ASGIApp, lifespan: str = "off") -> Iterator[str]:
    """Serve ``app`` on a free localhost port in a background thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


@contextmanager
def running_provider() -> Iterator[str]:
    """The provider on a free localhost port; yields its base URL."""
    with serve_in_thread(provider_app()) as url:
        yield url
