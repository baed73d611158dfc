"""Each user's main flow, clicked through in headless chromium against the running server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from kruispunt.identity import Insz
from tests.web.browser.conftest import shoot
from tests.web.browser.world import PASSWORD, World

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str) -> None:
    page.goto("/sign-in?lang=en")
    expect(page.get_by_text("Local simulated sign-in.")).to_be_visible()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_citizen_sees_own_data_and_switches_language(page: Page, world: World) -> None:
    sign_in(page, "citizen")
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_visible()
    expect(page.get_by_test_id("insz")).to_have_text(Insz.parse(world.citizen_insz).formatted)
    expect(page.get_by_text(world.citizen_name).first).to_be_visible()
    expect(page.get_by_role("heading", name="My household")).to_be_visible()
    expect(page.get_by_test_id("statuses")).to_be_visible()
    shoot(page, "citizen-en")
    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", name="Mes données", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    shoot(page, "citizen-fr")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()


def test_wrong_password_and_role_guard(page: Page) -> None:
    page.goto("/sign-in?lang=en")
    page.get_by_label("User name").fill("citizen")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    sign_in(page, "admin")
    page.goto("/me")
    expect(page.get_by_role("heading", name="This page is not for your role")).to_be_visible()
