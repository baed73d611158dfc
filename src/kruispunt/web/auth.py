"""Sign-in, sign-out and the landing page that sends each role to its home.

Route modules do not use ``from __future__ import annotations``: FastAPI must see the local
``Annotated`` dependency aliases as objects.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from kruispunt.web.accounts import SignInRefused, authenticate, end_session, start_session
from kruispunt.web.context import SESSION_COOKIE, Page, WebContext, page_dependency
from kruispunt.web.navigation import home_route


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site, never another origin (``//host`` or ``https://...``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def add_routes(router: APIRouter, web: WebContext) -> None:
    PageDep = Annotated[Page, Depends(page_dependency(web))]

    @router.get("/", name="web_home")
    def home(page: PageDep) -> Response:
        session = page.require()
        route = home_route(session.account.role)
        if route is None:
            return page.render("home.html")
        return page.redirect(route)

    @router.get("/sign-in", name="web_sign_in")
    def sign_in_form(page: PageDep, next: str | None = None) -> Response:
        return page.render("sign_in.html", csrf_token=page.new_presession_csrf(), next=_safe_next(next))

    @router.post("/sign-in", name="web_sign_in_post")
    def sign_in(
        page: PageDep,
        username: Annotated[str, Form(max_length=80)],
        password: Annotated[str, Form(max_length=200)],
        csrf_token: Annotated[str, Form()],
        next: Annotated[str | None, Form()] = None,
    ) -> Response:
        page.session = None
        page.check_csrf(csrf_token)
        try:
            account = authenticate(page.engine, username, password)
        except SignInRefused:
            context = {"csrf_token": page.new_presession_csrf(), "next": _safe_next(next), "failed": True}
            return page.render("sign_in.html", status=401, username=username, **context)
        if earlier := page.request.cookies.get(web.cookie_name(page.request, SESSION_COOKIE)):
            end_session(page.engine, earlier)  # a sign-in never inherits a session
        token = start_session(page.engine, account)
        response = page.redirect("web_home")
        if target := _safe_next(next):
            response.headers["location"] = target
        response.set_cookie(
            web.cookie_name(page.request, SESSION_COOKIE),
            token,
            httponly=True,
            secure=web.secure(page.request),
            samesite="lax",
            path="/",
        )
        return response

    @router.post("/sign-out", name="web_sign_out")
    def sign_out(page: PageDep, csrf_token: Annotated[str, Form()]) -> Response:
        page.require()
        page.check_csrf(csrf_token)
        cookie = web.cookie_name(page.request, SESSION_COOKIE)
        end_session(page.engine, page.request.cookies[cookie])
        response = page.redirect("web_sign_in")
        response.delete_cookie(cookie, path="/", secure=web.secure(page.request), httponly=True)
        return response
