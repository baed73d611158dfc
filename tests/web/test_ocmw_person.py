"""The OCMW person view: statuses through the hub (authorised, refused, logged), rights history; the admin
page's feed backlog."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kruispunt import network, rights, statuses
from kruispunt.bootstrap import App
from kruispunt.identity import NumberGenerator
from kruispunt.network import feeds
from kruispunt.web import NewAccount, Role, add_account
from tests.web.helpers import csrf_token, sign_in
from tests.web.seed import PASSWORD, Seeded

RIGHT = "waste-tax-exemption-huy"


@pytest.fixture
def ocmw_kbo(seeded_app: tuple[App, Seeded]) -> str:
    """An OCMW partner with a statuses deliberation that has integrated the citizen (not the single man)."""
    app, seeded = seeded_app
    kbo = NumberGenerator(17).kbo().number
    network.add_partner(app.engine, kbo, 17, "OCMW Hoei")
    network.add_deliberation(
        app.engine,
        number="21/017",
        decided_on=date(2021, 1, 19),
        title="OCMW social inquiry",
        service="statuses",
        purpose="social-inquiry",
        fields=["VT", "IGO", "LEEFLOON"],
        capacities=[1, 2],
        parties=[kbo],
    )
    network.register_integration(app.engine, kbo, seeded.citizen_insz, 1, date(2023, 1, 1))
    add_account(
        app.engine, NewAccount("cpas.huy", Role.OCMW, PASSWORD, municipality_nis="61031", organisation=kbo)
    )
    return kbo


def _consult(
    client: TestClient, insz: str, on: str = "2024-03-01", case: str = "dossier-7"
) -> tuple[int, str]:
    form = client.get("/ocmw/person")
    assert form.status_code == 200
    response = client.post(
        "/ocmw/person",
        data={"csrf_token": csrf_token(form.text), "insz": insz, "case_reference": case, "on": on},
    )
    return response.status_code, response.text


def test_statuses_and_rights_history_of_an_integrated_person(
    client: TestClient, seeded_app: tuple[App, Seeded], ocmw_kbo: str
) -> None:
    app, seeded = seeded_app
    rights.grant(app.engine, RIGHT, on=date(2024, 1, 1))
    granted = set(rights.active_grants(app.engine, RIGHT)["insz"].to_list())
    sign_in(client, "cpas.huy")
    status, page = _consult(client, seeded.citizen_insz)
    assert status == 200, page
    assert 'data-testid="statuses"' in page and "21/017" in page
    assert statuses.catalogue().status("VT").label("nl") in page
    assert seeded.citizen_insz in granted  # a VT holder in Huy
    assert 'data-testid="rights"' in page and "2024" in page.split('data-testid="rights"')[1]
    consulted = network.who_consulted(app.engine, seeded.citizen_insz)
    mine = [c for c in consulted if c.service == "statuses"]
    assert len(mine) == 1
    assert mine[0].outcome == "answered" and mine[0].deliberation == "21/017"
    assert mine[0].requester == ocmw_kbo and mine[0].case_reference == "dossier-7"
    assert network.verify_audit(app.engine).intact


def test_a_person_not_integrated_is_refused_and_the_refusal_logged(
    client: TestClient, seeded_app: tuple[App, Seeded], ocmw_kbo: str
) -> None:
    app, seeded = seeded_app
    sign_in(client, "cpas.huy")
    status, page = _consult(client, seeded.single_insz)
    assert status == 403
    assert "not_integrated" in page and 'data-testid="statuses"' not in page
    assert 'data-testid="rights"' not in page  # no rights history without the authorisation either
    refused = [c for c in network.who_consulted(app.engine, seeded.single_insz) if c.service == "statuses"]
    assert len(refused) == 1 and refused[0].outcome == "refused"
    before = network.audit_head(app.engine)[0]
    status, page = _consult(client, "12345678901")
    assert status == 400 and "invalid_insz" in page
    assert network.audit_head(app.engine)[0] == before + 1  # a malformed number is refused and logged too


def test_no_deliberation_for_the_purpose_is_refused(
    client: TestClient, seeded_app: tuple[App, Seeded], ocmw_kbo: str
) -> None:
    _, seeded = seeded_app
    sign_in(client, "cpas.huy")
    form = client.get("/ocmw/person")
    response = client.post(
        "/ocmw/person",
        data={
            "csrf_token": csrf_token(form.text),
            "insz": seeded.citizen_insz,
            "case_reference": "dossier-7",
            "on": "2024-03-01",
            "purpose": "curiosity",
        },
    )
    assert response.status_code == 403 and "purpose_not_covered" in response.text


def test_role_partner_and_csrf_are_checked(client: TestClient, seeded_app: tuple[App, Seeded]) -> None:
    _, seeded = seeded_app
    sign_in(client, "officer")
    assert client.get("/ocmw/person").status_code == 403
    client.cookies.clear()
    sign_in(client, "ocmw")  # an OCMW account that names no partner institution
    status, page = _consult(client, seeded.citizen_insz)
    assert status == 403 and 'data-testid="refusal"' in page
    forged = client.post(
        "/ocmw/person",
        data={"csrf_token": "forged", "insz": seeded.citizen_insz, "case_reference": "x", "on": "2024-03-01"},
    )
    assert forged.status_code == 403


def _status_change(engine: Engine, folder: Path, insz: str) -> None:
    path = folder / "nic-change.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(statuses.STATUS_COLUMNS)
        writer.writerow([insz, "VT", "2020-01-01", "2024-02-29", "NIC"])
    statuses.load_status_feed(engine, path, source="NIC")


def test_admin_page_shows_the_feed_backlog(
    client: TestClient, seeded_app: tuple[App, Seeded], ocmw_kbo: str, tmp_path: Path
) -> None:
    app, seeded = seeded_app
    feeds.subscribe(app.engine, ocmw_kbo, ["status"], "social-inquiry")
    _status_change(app.engine, tmp_path, seeded.citizen_insz)
    feeds.dispatch(app.engine)
    pending = feeds.backlog(app.engine)
    assert pending.get(ocmw_kbo, 0) >= 1
    sign_in(client, "admin")
    page = client.get("/admin").text
    assert f'data-testid="backlog-{ocmw_kbo}">{pending[ocmw_kbo]}<' in page
