"""The ASGI application: a small factory that the web pages of later work mount into as well.

``create_app()`` builds nothing at import: the lifespan bootstraps the engine (and migrates), starts the
exchange hub, and disposes of both at shutdown. Run it with ``kruispunt serve`` or any ASGI server
(``uvicorn --factory kruispunt.api:create_app``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kruispunt import __version__ as version
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.network import Hub, HubSettings, Reason, metrics, router
from kruispunt.network import audit as audit_log
from kruispunt.network.feeds.routes import router as feeds_router
from kruispunt.network.routes import answer_statuses, document_call_headers
from kruispunt.network.soap import router as soap_router
from kruispunt.web import create_router


def _error(reason: Reason, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"reason": reason.value, "source": "hub", "message": message, "field": field}}


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, whether announced or streamed, before routing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(send)
            return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                metrics.HTTP_REQUESTS.labels(f"{message['status'] // 100}xx").inc()
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        metrics.HTTP_REQUESTS.labels("4xx").inc()
        body = json.dumps(
            _error(Reason.BODY_TOO_LARGE, f"the request body exceeds {self.max_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


_STATUSES_PATH = re.compile(r"/v1/persons/(?P<insz>[^/]+)/statuses")


class StatusesFastPath:
    """The status consultation, the hub's busiest call, answered before FastAPI's router.

    The router tries each route of the application in turn (the web pages, SOAP, feeds) through several
    layers per request, which cost a consultation about as much as the hub's own checks. The same
    route, matched the same way (Starlette's ``{insz}``: one path segment), still answers through the
    router for the OpenAPI document and for every other method and path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = (
            _STATUSES_PATH.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path")
            else None
        )
        if matched is None:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"insz": matched["insz"]}
        request = Request(scope, receive, send)
        try:
            response = await answer_statuses(request)
        except RequestValidationError as error:
            response = await _invalid_request(request, error)
        await response(scope, receive, send)


def create_app(settings: Settings | None = None, hub_settings: HubSettings | None = None) -> FastAPI:
    """The kruispunt web application: the exchange API under ``/v1``, ``/health``, ``/metrics``."""
    limits = hub_settings or HubSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = bootstrap(settings)
        timeout = httpx.Timeout(10.0, connect=2.0)
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            app.state.kruispunt = state
            app.state.hub = Hub(state.engine, http=client)
            yield
            app.state.hub.close()
        state.engine.dispose()

    app = FastAPI(
        title="kruispunt exchange hub",
        version=version,
        description="Consultation API of the crossroads bank: statuses, identity, reference directory. "
        "See docs/api.md.",
        lifespan=lifespan,
    )
    generate_openapi = app.openapi
    app.openapi = lambda: document_call_headers(generate_openapi())  # type: ignore[method-assign]
    app.add_middleware(StatusesFastPath)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)  # the outermost: it counts responses
    app.include_router(router, prefix="/v1")
    app.include_router(feeds_router, prefix="/v1")  # mutation feeds and batches (docs/feeds-and-batches.md)
    app.include_router(soap_router)  # the KSZ-compatible SOAP connector (docs/soap.md)
    app.include_router(create_router(lambda: app.state.kruispunt))  # the web pages (docs/web.md)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_api_route("/health", health, methods=["GET"], tags=["operations"])
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], tags=["operations"])
    app.add_api_route("/hello", hello, methods=["GET"], tags=["operations"])
    return app


async def _invalid_request(request: Request, error: Exception) -> Response:
    """Schema violations (bad dates, wrong body) in the hub's error format; no exchange took place."""
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
    field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
    metrics.REFUSALS.labels(Reason.INVALID_REQUEST.value, "hub").inc()
    return JSONResponse(_error(Reason.INVALID_REQUEST, str(first.get("msg")), field), status_code=422)


def health(request: Request) -> JSONResponse:
    """Database reachable and audit log writable (a probe record, rolled back): 200, else 503."""
    checks: dict[str, str] = {}
    engine = request.app.state.kruispunt.engine
    try:
        audit_log.probe(engine)
        checks = {"database": "ok", "audit_log": "writable"}
    except Exception as error:
        checks = {"database": "unknown", "audit_log": f"not writable: {type(error).__name__}"}
    healthy = checks["audit_log"] == "writable"
    return JSONResponse(
        {"status": "ok" if healthy else "failing", **checks}, status_code=200 if healthy else 503
    )


async def metrics_endpoint() -> Response:
    """Prometheus text format: exchanges, refusals by reason, latency histogram, HTTP status classes."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


async def hello() -> PlainTextResponse:
    """A bare endpoint: the yardstick the load benchmark compares consultations against."""
    return PlainTextResponse("hello")
