"""``kruispunt web user ...`` through the installed command, then signing in with what it printed."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.identity import NumberGenerator
from kruispunt.web import create_router
from tests.factories import household, write_register
from tests.test_cli import run
from tests.web.helpers import sign_in


def test_add_list_disable_and_sign_in(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = household(NumberGenerator(3))
    assert run(home, "register", "load", str(write_register(tmp_path / "r.csv", rows))).returncode == 0
    added = run(home, "web", "user", "add", "jan", "--role", "citizen", "--insz", rows[0]["insz"])
    assert added.returncode == 0, added.stderr
    password = re.search(r"password: (\S+)", added.stdout)
    assert password and "Jan Peeters" in added.stdout
    refused = run(home, "web", "user", "add", "officer", "--role", "officer")
    assert refused.returncode == 1 and "municipality" in refused.stderr
    assert "citizen" in run(home, "web", "user", "list").stdout

    state = bootstrap(Settings(home=home))
    api = FastAPI()
    api.include_router(create_router(lambda: state))
    with TestClient(api) as client:
        sign_in(client, "jan", password.group(1))
        assert client.get("/me").status_code == 200
        assert run(home, "web", "user", "disable", "jan").returncode == 0
        assert client.get("/me", follow_redirects=False).status_code == 303
    state.engine.dispose()


def test_demo_step_creates_one_account_per_role_and_resets_them(tmp_path: Path) -> None:
    from kruispunt.cli.demo import DemoContext
    from kruispunt.cli.web import demo_web
    from kruispunt.web import Role, list_accounts
    from tests.web.seed import seed_register

    state = bootstrap(Settings(home=tmp_path / "home"))
    seeded = seed_register(state.engine, tmp_path)
    context = DemoContext(app=state, out=tmp_path)
    demo_web(context)
    demo_web(context)
    accounts = {a.username: a for a in list_accounts(state.engine)}
    assert {a.role for a in accounts.values()} == set(Role)
    assert accounts["demo-citizen"].insz == seeded.citizen_insz
    assert accounts["demo-officer"].municipality_nis == "61031"
    state.engine.dispose()
