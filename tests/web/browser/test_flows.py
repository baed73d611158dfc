"""Each user's main flow, clicked through in headless chromium against the running server."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kruispunt.identity import Insz
from tests.web.browser.conftest import shoot
from tests.web.browser.world import AS_OF, OCMW_NAME, PASSWORD, QUARTER, RIGHT, World

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
    expect(page.get_by_test_id("grants")).to_contain_text("Huy")
    expect(page.get_by_test_id("consultations")).to_contain_text(OCMW_NAME)
    expect(page.get_by_test_id("consultations")).to_contain_text("21/017")
    shoot(page, "citizen-en")
    page.get_by_role("link", name="Why was this granted?").first.click()
    expect(page.get_by_test_id("decision")).to_have_text("granted")
    shoot(page, "citizen-why")
    page.go_back()
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


def test_officer_simulates_compares_and_downloads(page: Page, world: World, tmp_path: Path) -> None:
    sign_in(page, "officer")
    expect(page.get_by_role("heading", name="Simulate a right")).to_be_visible()
    page.get_by_label("Right").select_option(RIGHT)
    page.get_by_label("Reference date").fill(AS_OF.isoformat())
    page.get_by_label("Variant 1").fill("higher:exempted_tax=120")
    page.get_by_role("button", name="Simulate").click()
    expect(page.get_by_test_id("beneficiaries")).to_have_text(f"{len(world.granted):,}".replace(",", "."))
    expect(page.get_by_test_id("variants")).to_contain_text("higher")
    expect(page.locator("figure.chart img").first).to_be_visible()
    shoot(page, "officer-simulation")
    today = tmp_path / "today.txt"
    today.write_text("\n".join(world.granted[: len(world.granted) // 2]) + "\n", encoding="utf-8")
    page.get_by_label("Beneficiaries today").set_input_files(str(today))
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_test_id("receiving")).to_have_text(str(len(world.granted) // 2))
    expect(page.get_by_test_id("non-take-up")).to_have_text(str(len(world.granted) - len(world.granted) // 2))
    shoot(page, "officer-take-up")
    with page.expect_download() as report:
        page.get_by_role("link", name="Download the report (HTML)").click()
    assert RIGHT in report.value.suggested_filename
    with page.expect_download() as accounting:
        page.get_by_role("link", name="csv", exact=True).click()
    text = Path(accounting.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "insz"
    assert {row[0] for row in rows[1:] if row and row[0].isdigit()} == set(world.granted)


def test_ocmw_draws_the_outreach_list(page: Page, world: World) -> None:
    sign_in(page, "ocmw")
    expect(
        page.get_by_role("heading", name="Outreach: people who may be entitled but never asked")
    ).to_be_visible()
    page.get_by_label("Reference date").fill(AS_OF.isoformat())
    page.get_by_label("Case reference").fill("outreach-2024")
    page.get_by_role("button", name="Draw the list").click()
    expect(page.get_by_text("Authorisation: deliberation 21/017")).to_be_visible()
    rows = page.get_by_test_id("outreach").locator("tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    shoot(page, "ocmw-outreach")


def test_admin_sees_partners_deliberations_and_audit(page: Page, world: World) -> None:
    sign_in(page, "admin")
    expect(page.get_by_role("heading", name="Exchange hub", exact=True)).to_be_visible()
    expect(page.get_by_test_id("partners")).to_contain_text(OCMW_NAME)
    expect(page.get_by_test_id("partners")).to_contain_text("status.started (outreach)")
    expect(page.get_by_test_id("deliberations")).to_contain_text("21/017")
    expect(page.get_by_test_id("integration-count")).not_to_have_text("0")
    shoot(page, "admin-hub")
    page.get_by_role("link", name="Verify the whole chain now").click()
    expect(page.get_by_test_id("audit-state")).to_have_text("The chain is intact.")
    shoot(page, "admin-audit")


def test_researcher_reads_a_protected_table(page: Page) -> None:
    sign_in(page, "researcher")
    expect(page.get_by_role("heading", name="Protected tables of the data warehouse")).to_be_visible()
    page.get_by_label("Rows 1").select_option("municipality")
    page.get_by_label("Columns").select_option("sex")
    page.get_by_role("button", name="Show").click()
    table = page.get_by_test_id("protected-table")
    expect(table).to_contain_text("Hoei")
    expect(table).to_contain_text(QUARTER)
    shoot(page, "researcher-table")
