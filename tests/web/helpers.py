"""Signing in through the real form, CSRF token and all."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.seed import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The token of the page's main form (the last one: the header's sign-out form comes first)."""
    found = _CSRF.findall(html)
    assert found, "no CSRF token in the page"
    return str(found[-1])


def sign_in(client: TestClient, username: str, password: str = PASSWORD, *, follow: bool = True) -> str:
    """Sign in and return the page the browser lands on."""
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
        follow_redirects=follow,
    )
    return response.text
