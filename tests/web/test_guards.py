"""Every page checks sign-in and role: none is reachable without a session or with another role."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kruispunt.web import create_router
from kruispunt.web.navigation import NAVIGATION
from tests.web.helpers import sign_in

PUBLIC = {"web_sign_in", "web_sign_in_post", "web_static"}
SAMPLE_PATHS = {
    "web_citizen_right": "/me/rights/waste-tax-exemption-huy/2024-01-01",
    "web_officer_report": "/officer/report?rule=waste-tax-exemption-huy&on=2024-01-01",
    "web_officer_accounting": "/officer/accounting?rule=waste-tax-exemption-huy",
    "web_research_csv": "/research/table.csv",
}
ROLE_OF_USER = {
    "jan": "citizen",
    "officer": "officer",
    "ocmw": "ocmw",
    "admin": "admin",
    "researcher": "researcher",
}
OWNER = {
    "web_citizen": "citizen",
    "web_citizen_right": "citizen",
    "web_officer": "officer",
    "web_officer_report": "officer",
    "web_officer_accounting": "officer",
    "web_ocmw": "ocmw",
    "web_ocmw_person": "ocmw",
    "web_admin": "admin",
    "web_admin_audit": "admin",
    "web_research": "researcher",
    "web_research_csv": "researcher",
}


def _get_routes(client: TestClient) -> dict[str, str]:
    routes = [r for r in create_router(lambda: None).routes if isinstance(r, APIRoute)]  # type: ignore[arg-type, return-value]
    return {
        r.name: SAMPLE_PATHS.get(r.name, r.path)
        for r in routes
        if "GET" in r.methods and r.name not in PUBLIC
    }


def test_every_page_has_an_owner(client: TestClient) -> None:
    assert set(_get_routes(client)) - {"web_home"} == set(OWNER)
    assert {item.route for item in NAVIGATION} <= set(OWNER)


def test_no_page_without_a_session(client: TestClient) -> None:
    for name, path in _get_routes(client).items():
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, name
        assert response.headers["location"].startswith("/sign-in?next="), name


@pytest.mark.parametrize("user", sorted(ROLE_OF_USER))
def test_no_page_of_another_role(client: TestClient, user: str) -> None:
    sign_in(client, user, follow=False)
    for name, path in _get_routes(client).items():
        if name == "web_home" or OWNER[name] == ROLE_OF_USER[user]:
            continue
        assert client.get(path, follow_redirects=False).status_code == 403, (user, name)


@pytest.mark.parametrize("user", sorted(ROLE_OF_USER))
def test_each_role_lands_on_its_home_page(client: TestClient, user: str) -> None:
    sign_in(client, user, follow=False)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    homes = {str(client.app.url_path_for(item.route)): item.route for item in NAVIGATION}  # type: ignore[attr-defined]
    assert OWNER[homes[response.headers["location"]]] == ROLE_OF_USER[user]


def test_state_changing_forms_need_the_csrf_token(client: TestClient) -> None:
    sign_in(client, "ocmw")
    assert client.post("/ocmw", data={"csrf_token": "forged", "on": "2024-01-01"}).status_code == 403
    sign_in(client, "officer")
    response = client.post(
        "/officer",
        data={"csrf_token": "forged", "rule": "waste-tax-exemption-huy", "on": "2024-01-01"},
        files={"current": ("today.txt", b"75020300123\n")},
    )
    assert response.status_code == 403
