"""The pages over HTTP, in-process: sign-in with CSRF, roles, the citizen page, languages, headers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kruispunt.bootstrap import App, bootstrap
from kruispunt.config import Settings
from kruispunt.identity import Insz
from kruispunt.web import create_router
from tests.web.helpers import csrf_token, sign_in
from tests.web.seed import PASSWORD, Seeded, seed_accounts, seed_register


def test_pages_need_a_signed_in_user(client: TestClient) -> None:
    response = client.get("/me", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fme"


def test_sign_in_page_says_it_is_simulated(client: TestClient) -> None:
    page = client.get("/sign-in?lang=en").text
    assert "Local simulated sign-in." in page
    assert 'autocomplete="current-password"' in page


def test_sign_in_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"username": "jan", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert "/me" not in response.headers.get("location", "")


def test_a_foreign_origin_is_refused(client: TestClient) -> None:
    token = csrf_token(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"username": "jan", "password": PASSWORD, "csrf_token": token},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_wrong_password_shows_the_form_again(client: TestClient) -> None:
    client.cookies.set("kp_lang", "en")
    page = sign_in(client, "jan", "not-the-password")
    assert "The user name or password is wrong" in page
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_citizen_sees_record_household_addresses_and_statuses(
    client: TestClient, seeded_app: tuple[App, Seeded]
) -> None:
    _, seeded = seeded_app
    page = sign_in(client, "jan")
    client.cookies.set("kp_lang", "en")
    page = client.get("/me").text
    assert Insz.parse(seeded.citizen_insz).formatted in page
    assert "Jan Peeters" in page
    assert "Els Peeters" in page and "Lien Peeters" in page
    assert "Quai de Namur 5" in page and "Grand-Place 1" in page
    assert "Increased reimbursement (holder)" in page
    assert "National Intermutualist College" in page
    assert "Income guarantee" not in page


def test_sessions_cookies_and_headers_are_strict(client: TestClient) -> None:
    client.get("/sign-in")
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": "jan", "password": PASSWORD, "csrf_token": csrf_token(form.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "kp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/me")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_secure_requests_get_host_prefixed_secure_cookies(seeded_app: tuple[App, Seeded]) -> None:
    state, _ = seeded_app
    api = FastAPI()
    api.include_router(create_router(lambda: state))
    with TestClient(api, base_url="https://testserver") as secure:
        sign_in(secure, "jan")
        assert "__Host-kp_session" in secure.cookies
        assert secure.get("/me").status_code == 200


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, "jan")
    page = client.get("/me")
    assert page.status_code == 200
    token = csrf_token(page.text)
    old_cookie = client.cookies["kp_session"]
    client.post("/sign-out", data={"csrf_token": token})
    assert client.get("/me", follow_redirects=False).status_code == 303
    client.cookies.set("kp_session", old_cookie)
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token(client: TestClient) -> None:
    sign_in(client, "jan")
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/me").status_code == 200


def test_other_roles_cannot_open_the_citizen_page(client: TestClient) -> None:
    sign_in(client, "researcher")
    response = client.get("/me?lang=en")
    assert response.status_code == 403
    assert "This page is not for your role" in response.text


def test_next_only_goes_to_this_site(client: TestClient) -> None:
    form = client.get("/sign-in?next=//evil.example/x")
    assert 'name="next"' not in form.text
    response = client.post(
        "/sign-in",
        data={
            "username": "jan",
            "password": PASSWORD,
            "csrf_token": csrf_token(form.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_language_choice_is_remembered(client: TestClient) -> None:
    assert "Se connecter" in client.get("/sign-in?lang=fr").text
    assert "Se connecter" in client.get("/sign-in").text
    assert "Aanmelden" in client.get("/sign-in?lang=nl").text
    assert '<html lang="nl">' in client.get("/sign-in").text


def test_browser_language_is_the_default(client: TestClient) -> None:
    page = client.get("/sign-in", headers={"accept-language": "fr-BE,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in page.text


def test_citizen_page_in_french(client: TestClient) -> None:
    sign_in(client, "jan")
    page = client.get("/me?lang=fr").text
    assert "Intervention majorée (titulaire)" in page
    assert "Mes données" in page


def test_static_files_are_served_from_a_fixed_list(client: TestClient) -> None:
    assert client.get("/static/kruispunt.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/..%2Fcontext.py").status_code == 404


def test_sign_in_and_citizen_page_on_both_engines(settings: Settings, tmp_path: Path) -> None:
    state = bootstrap(settings)
    seeded = seed_register(state.engine, tmp_path)
    seed_accounts(state.engine, seeded)
    api = FastAPI()
    api.include_router(create_router(lambda: state))
    with TestClient(api) as browser:
        sign_in(browser, "jan")
        page = browser.get("/me?lang=en").text
        assert Insz.parse(seeded.citizen_insz).formatted in page and "Quai de Namur 5" in page
        browser.post("/sign-out", data={"csrf_token": csrf_token(page)})
        assert browser.get("/me", follow_redirects=False).status_code == 303
    state.engine.dispose()


def test_signing_in_again_ends_the_earlier_session(client: TestClient) -> None:
    sign_in(client, "jan")
    earlier = client.cookies["kp_session"]
    sign_in(client, "researcher")
    assert client.cookies["kp_session"] != earlier
    client.cookies.set("kp_session", earlier)
    assert client.get("/me", follow_redirects=False).status_code == 303
