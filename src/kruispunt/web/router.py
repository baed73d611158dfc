"""The router factory: every page of the web application, ready to include in the hub's FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response

from kruispunt.bootstrap import App
from kruispunt.web import admin, auth, citizen, ocmw, officer, research
from kruispunt.web.context import SECURITY_HEADERS, PageError, WebContext, route_class

STATIC = Path(__file__).with_name("static")
_STATIC_FILES = {"kruispunt.css": "text/css"}


def create_router(get_app: Callable[[], App], *, secure_cookies: bool | None = None) -> APIRouter:
    """All pages, over the app that ``get_app`` returns (called per request, after bootstrap).

    ``secure_cookies`` forces the ``Secure`` cookie attribute on or off; by default it follows the
    request's scheme (HTTPS behind a proxy that sets ``X-Forwarded-Proto`` and uvicorn's proxy headers).
    """
    web = WebContext(get_app=get_app, secure_cookies=secure_cookies)
    router = APIRouter(route_class=route_class(web), include_in_schema=False)
    _add_static(router)
    for module in (auth, citizen, officer, ocmw, admin, research):
        module.add_routes(router, web)
    return router


def _add_static(router: APIRouter) -> None:
    @router.get("/static/{name}", name="web_static")
    def static(name: Annotated[str, PathParam(max_length=40)]) -> Response:
        if name not in _STATIC_FILES:
            raise PageError(404, "not_found")
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
        return FileResponse(STATIC / name, media_type=_STATIC_FILES[name], headers=headers)
