"""What every page handler gets: the request, the language, the signed-in session and the engine.

Guards (sign-in, role, CSRF) raise :class:`PageError`; the router's route class turns those into a
redirect to the sign-in page or an error page in the visitor's language, so handlers stay a few lines.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from kruispunt.bootstrap import App
from kruispunt.web.accounts import Role, Session, find_session
from kruispunt.web.i18n import LANGUAGES, choose_language, environment, translations

SESSION_COOKIE = "kp_session"
LANGUAGE_COOKIE = "kp_lang"
PRESESSION_CSRF_COOKIE = "kp_csrf"
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebContext:
    """How the router reaches the rest of the system, fixed when the router is created."""

    get_app: Callable[[], App]
    secure_cookies: bool | None = None

    def secure(self, request: Request) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return request.url.scheme == "https"

    def cookie_name(self, request: Request, base: str) -> str:
        """``__Host-`` cookies are bound to the exact origin, over HTTPS only."""
        return f"__Host-{base}" if self.secure(request) else base


class PageError(Exception):
    """A guard refused the request; rendered by :class:`WebRoute`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SignInRequired(PageError):
    def __init__(self) -> None:
        super().__init__(303, "sign in first")


@dataclass
class Page:
    """One request to one page."""

    request: Request
    web: WebContext
    language: str
    session: Session | None
    language_chosen: bool = False
    extra_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.web.get_app().engine

    @property
    def role(self) -> Role | None:
        return self.session.account.role if self.session else None

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def url(self, route: str, /, **params: Any) -> str:
        path = str(self.request.app.url_path_for(route, **params))
        return str(self.request.scope.get("root_path", "")) + path

    def language_url(self, language: str) -> str:
        query = dict(self.request.query_params)
        query["lang"] = language
        return f"{self.request.url.path}?{urlencode(query)}"

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        env = environment(self.language)
        body = env.get_template(template).render(
            page=self, account=self.session and self.session.account, **context
        )
        response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
        self.finish(response)
        return response

    def redirect(self, route: str, /, **params: Any) -> RedirectResponse:
        response = RedirectResponse(self.url(route, **params), status_code=303, headers=SECURITY_HEADERS)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        """Remember the chosen language (a year) and any cookie a handler asked for."""
        secure = self.web.secure(self.request)
        if self.language_chosen:
            response.set_cookie(
                LANGUAGE_COOKIE,
                self.language,
                max_age=365 * 86400,
                samesite="lax",
                secure=secure,
                httponly=True,
            )
        for name, value in self.extra_cookies.items():
            response.set_cookie(name, value, samesite="strict", secure=secure, httponly=True, path="/")

    def require(self, *roles: Role) -> Session:
        """The session, when signed in with one of ``roles``."""
        if self.session is None:
            raise SignInRequired
        if roles and self.session.account.role not in roles:
            raise PageError(403, "forbidden_role")
        return self.session

    def check_csrf(self, submitted: str) -> None:
        """A state-changing request must carry the session's token and come from our own origin."""
        self._check_origin()
        expected = self.session.csrf_token if self.session else self.presession_csrf()
        if not expected or not hmac.compare_digest(submitted.encode(), expected.encode()):
            raise PageError(403, "csrf")

    def _check_origin(self) -> None:
        origin = self.request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != self.request.url.netloc:
            raise PageError(403, "csrf")

    def presession_csrf(self) -> str | None:
        return self.request.cookies.get(self.web.cookie_name(self.request, PRESESSION_CSRF_COOKIE))

    def new_presession_csrf(self) -> str:
        """A double-submit token for the sign-in form, before any session exists."""
        token = self.presession_csrf() or secrets.token_urlsafe(32)
        self.extra_cookies[self.web.cookie_name(self.request, PRESESSION_CSRF_COOKIE)] = token
        return token


def page_dependency(web: WebContext) -> Callable[[Request], Page]:
    """The dependency that builds a :class:`Page` for each request."""

    def page(request: Request) -> Page:
        asked = request.query_params.get("lang")
        language = choose_language(
            asked, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
        )
        token = request.cookies.get(web.cookie_name(request, SESSION_COOKIE))
        session = find_session(web.get_app().engine, token) if token else None
        return Page(request, web, language, session, language_chosen=asked in LANGUAGES)

    return page


def _error_page(request: Request, web: WebContext, error: PageError) -> Response:
    page = page_dependency(web)(request)
    if isinstance(error, SignInRequired):
        target = page.url("web_sign_in") + "?" + urlencode({"next": request.url.path})
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    return page.render("error.html", status=error.status, reason=error.reason)


def route_class(web: WebContext) -> type[APIRoute]:
    """A route class that renders :class:`PageError` as a page instead of a JSON error."""

    class WebRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except PageError as error:
                    return await run_in_threadpool(_error_page, request, web, error)

            return guarded

    return WebRoute
