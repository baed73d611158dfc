"""A small world for the SOAP connector: persons in the register, an OCMW with a deliberation, a health fund
without one, their SSDN clients; and a real server (uvicorn on 127.0.0.1, a free port) for zeep."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from kruispunt import identity, network
from kruispunt.api import create_app
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.identity import Sex
from kruispunt.network import soap
from tests.factories import person_row, write_register

PURPOSE = "social-inquiry"


@dataclass
class World:
    engine: Engine
    dubois: str  # Jean-Pierre Dubois, born 1975-02-03: integrated by the OCMW
    peeters: str  # An Peeters, born 1980-04-12: not integrated
    duboys: str  # Marie Duboys, born 1976-05-05: a near namesake
    ocmw: str
    fund: str


def build_world(engine: Engine, folder: Path) -> World:
    gen = identity.NumberGenerator(11)
    rows = [
        person_row(gen, birth=date(1975, 2, 3), sex_=Sex.MALE, last_name="Dubois", first_name="Jean-Pierre"),
        person_row(gen, birth=date(1980, 4, 12), household_id="H2"),
        person_row(gen, birth=date(1976, 5, 5), last_name="Duboys", first_name="Marie", household_id="H3"),
        person_row(gen, birth=date(1975, 9, 1), last_name="Janssens", first_name="Jean", household_id="H4"),
    ]
    identity.load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2024, 1, 1))
    ocmw = network.add_partner(engine, gen.kbo().number, 17, "OCMW Hoei").kbo
    fund = network.add_partner(engine, gen.kbo().number, 6, "Ziekenfonds").kbo
    network.add_deliberation(
        engine,
        number="21/001",
        decided_on=date(2021, 1, 19),
        title="OCMW: identification for the social inquiry",
        service="identity",
        purpose=PURPOSE,
        fields=["last_name", "first_name", "birth_date", "sex", "address"],
        capacities=[1, 2],
        parties=[ocmw],
    )
    soap.add_client(
        engine, org_unit=ocmw, matrix_id=17, partner_kbo=ocmw, purpose=PURPOSE, networks=["127.0.0.1"]
    )
    soap.add_client(
        engine, org_unit=fund, matrix_id=6, partner_kbo=fund, purpose=PURPOSE, networks=["127.0.0.0/8"]
    )
    soap.add_client(
        engine,
        org_unit="OCMW-REMOTE",
        matrix_id=17,
        partner_kbo=ocmw,
        purpose=PURPOSE,
        networks=["10.0.0.0/8"],
    )
    network.register_integration(engine, ocmw, rows[0]["insz"], 2, date(2020, 1, 1))
    return World(engine, rows[0]["insz"], rows[1]["insz"], rows[2]["insz"], ocmw, fund)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """The world on SQLite and on PostgreSQL (in-process calls)."""
    return build_world(engine, tmp_path)


@dataclass
class Served:
    world: World
    url: str  # the connector's address on the running server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real server for the module's zeep round trips (SQLite)."""
    folder = tmp_path_factory.mktemp("soap")
    settings = Settings(home=folder / "home", database_url=f"sqlite:///{folder / 'kruispunt.sqlite3'}")
    state = bootstrap(settings)
    world = build_world(state.engine, folder)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield Served(world, f"http://127.0.0.1:{port}{soap.PATH}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        state.engine.dispose()
