"""Signing in through the real form, CSRF token and all."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.seed import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, *, follow: bool = True) -> str:
    """Sign in and return the page the browser lands on."""
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
        follow_redirects=follow,
    )
    return response.text
