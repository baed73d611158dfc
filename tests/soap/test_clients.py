"""The client mapping: deny by default, networks, uniqueness, removal revokes the credential."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.network import NetworkError, soap
from kruispunt.network.tables import partner_credential
from tests.soap.conftest import PURPOSE, World, build_world


@pytest.fixture
def sqlite_world(sqlite_settings: Settings, tmp_path: Path) -> Iterator[World]:
    """The world on SQLite only: these checks do not depend on the engine."""
    state = bootstrap(sqlite_settings)
    yield build_world(state.engine, tmp_path)
    state.engine.dispose()


def test_clients_are_listed_with_their_partner(sqlite_world: World) -> None:
    world = sqlite_world
    clients = {(c.org_unit, c.matrix_id): c for c in soap.list_clients(world.engine)}
    assert clients[(world.ocmw, 17)].partner_name == "OCMW Hoei"
    assert clients[(world.ocmw, 17)].networks == ("127.0.0.1/32",)


def test_networks_decide_who_may_speak_for_a_client(sqlite_world: World) -> None:
    world = sqlite_world
    client = soap.find_client(world.engine, "OCMW-REMOTE", 17)
    assert client is not None
    assert client.allows("10.1.2.3") and not client.allows("127.0.0.1")
    assert not client.allows(None) and not client.allows("testclient")


BAD = [
    ({"networks": ["300.1.1.1"]}, "not an IP network"),
    ({"networks": []}, "at least one allowed network"),
    ({"matrix_id": 1000}, "not a sector code"),
    ({"purpose": "Social Inquiry"}, "purpose"),
    ({"org_unit": ""}, "OrgUnit"),
    ({"partner_kbo": "0999999999"}, "KBO"),
]


def test_bad_clients_are_refused(sqlite_world: World) -> None:
    world = sqlite_world
    arguments: dict[str, object] = {
        "org_unit": "NEW",
        "matrix_id": 17,
        "partner_kbo": world.ocmw,
        "purpose": PURPOSE,
        "networks": ["192.0.2.0/24"],
    }
    for changes, message in BAD:
        with pytest.raises(NetworkError, match=message):
            soap.add_client(world.engine, **{**arguments, **changes})  # type: ignore[arg-type]
    assert soap.find_client(world.engine, "NEW", 17) is None


def test_a_client_is_added_once_and_removal_revokes_its_credential(world: World) -> None:
    with pytest.raises(NetworkError, match="already a SOAP client"):
        soap.add_client(
            world.engine,
            org_unit=world.ocmw,
            matrix_id=17,
            partner_kbo=world.ocmw,
            purpose=PURPOSE,
            networks=["::1"],
        )
    removed = soap.remove_client(world.engine, world.ocmw, 17)
    assert soap.find_client(world.engine, world.ocmw, 17) is None
    with world.engine.connect() as conn:
        revoked = conn.execute(
            select(partner_credential.c.revoked_at).where(partner_credential.c.id == removed.credential_id)
        ).scalar_one()
    assert revoked is not None
    assert removed.partner_kbo == world.ocmw
    with pytest.raises(NetworkError, match="no SOAP client"):
        soap.remove_client(world.engine, world.ocmw, 17)
