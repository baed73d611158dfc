"""A small world for the exchange hub and its feeds, shared by their tests.

A household in Huy with a leefloon (OCMW) and, optionally, a health-insurance status (NIC); an OCMW, a
health fund and the municipality of Huy as partners, each with a token; the OCMW's deliberations for
statuses and identity, the municipality's for tax exemptions; the OCMW's integration of the head.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kruispunt import identity, network, statuses
from tests.factories import household, write_register

TODAY = date(2024, 6, 15)

# Behaviour that does not depend on the database runs on SQLite only, to keep the suite fast.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class World:
    engine: Engine
    folder: Path
    head: str
    partner_insz: str
    child: str
    ocmw: str
    fund: str
    huy: str
    ocmw_token: str
    fund_token: str
    huy_token: str


def write_statuses(path: Path, rows: list[tuple[str, str, str, str]], source: str) -> Path:
    """A status feed: (insz, status, start, end) rows delivered by ``source``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(statuses.STATUS_COLUMNS))
        writer.writeheader()
        for insz, status, start, end in rows:
            writer.writerow(
                {"insz": insz, "status": status, "start_date": start, "end_date": end, "source": source}
            )
    return path


def build_world(engine: Engine, folder: Path, *, seed: int = 7, health_insurance: bool = True) -> World:
    """The world above; ``health_insurance``: the head also holds VT (delivered by the NIC) since 2022."""
    gen = identity.NumberGenerator(seed)
    rows = household(gen)
    identity.load_register(engine, write_register(folder / "register.csv", rows), as_of=date(2024, 1, 1))
    head, partner_insz, child = (r["insz"] for r in rows)
    feeds = [("OCMW", "LEEFLOON", "2023-01-01")] + ([("NIC", "VT", "2022-01-01")] if health_insurance else [])
    for source, status, start in feeds:
        feed = write_statuses(folder / f"{source.lower()}-0.csv", [(head, status, start, "")], source)
        statuses.load_status_feed(engine, feed, source=source)
    ocmw = network.add_partner(engine, gen.kbo().number, 17, "OCMW Hoei").kbo
    fund = network.add_partner(engine, gen.kbo().number, 6, "Ziekenfonds").kbo
    huy = network.add_partner(engine, gen.kbo().number, 99, "Ville de Huy").kbo
    for number, service, purpose, fields, capacities, party in (
        ("20/123", "statuses", "social-inquiry", ["LEEFLOON", "EQUIV_LEEFLOON"], [1, 2, 3], ocmw),
        ("20/124", "identity", "social-inquiry", ["last_name", "first_name", "household"], [2], ocmw),
        ("21/045", "statuses", "municipal-tax", ["LEEFLOON", "VT", "IGO"], [1], huy),
    ):
        network.add_deliberation(
            engine,
            number=number,
            decided_on=date(2020, 6, 2),
            title=f"{service} for {purpose}",
            service=service,
            purpose=purpose,
            fields=fields,
            capacities=capacities,
            parties=[party],
        )
    network.register_integration(engine, ocmw, head, 2, date(2023, 1, 1), date(2024, 12, 31))
    tokens = [network.issue_token(engine, kbo).token for kbo in (ocmw, fund, huy)]
    return World(engine, folder, head, partner_insz, child, ocmw, fund, huy, *tokens)


def headers(
    token: str | None, message_id: str = "m-1", purpose: str = "social-inquiry", **overrides: str
) -> dict[str, str]:
    """Call metadata as a partner sends it; an override of "" leaves that header out."""
    sent = {
        "X-Message-Id": message_id,
        "X-End-User": "sw-0042",
        "X-Case-Reference": "dossier-2024-17",
        "X-Purpose": purpose,
    }
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(overrides)
    return {k: v for k, v in sent.items() if v != ""}
