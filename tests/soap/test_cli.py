"""``kruispunt soap client ...`` through the installed command, and the demo step on a small world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kruispunt import network
from kruispunt.bootstrap import App, bootstrap
from kruispunt.cli import app
from kruispunt.cli._common import app_state
from kruispunt.cli.demo import DemoContext
from kruispunt.cli.network import demo_network
from kruispunt.cli.soap import demo_soap
from kruispunt.config import Settings
from tests.soap.conftest import build_world


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command in process (a subprocess pays the whole import each time), on a fresh home."""
    home = tmp_path / "home"
    monkeypatch.setenv("KRUISPUNT_HOME", str(home))
    monkeypatch.delenv("KRUISPUNT_DATABASE_URL", raising=False)
    app_state.cache_clear()
    yield CliRunner()
    app_state().engine.dispose()
    app_state.cache_clear()


def test_add_list_renew_and_remove_a_client(tmp_path: Path, cli: CliRunner) -> None:
    runner = cli
    world = build_world(app_state().engine, tmp_path)

    def run(*args: str) -> Result:
        return runner.invoke(app, ["soap", "client", *args])

    added = run("add", "0200", "--matrix-id", "17", "--partner", world.ocmw, "--purpose", "social-inquiry",
                "--allow", "192.0.2.0/24", "--allow", "2001:db8::/32")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "speaks for" in added.output
    listed = json.loads(run("list", "--json").output)
    assert {"org_unit": "0200", "matrix_id": 17, "partner": world.ocmw, "purpose": "social-inquiry",
            "networks": ["192.0.2.0/24", "2001:db8::/32"]} in listed  # fmt: skip
    assert run("renew", "0200", "--matrix-id", "17").exit_code == 0
    assert "0200" in run("list").output
    assert run("remove", "0200", "--matrix-id", "17").exit_code == 0
    missing = run("remove", "0200", "--matrix-id", "17")
    assert missing.exit_code == 1
    refused = run("add", "0300", "--matrix-id", "17", "--partner", world.ocmw, "--purpose", "x",
                  "--allow", "not-a-network")  # fmt: skip
    assert refused.exit_code == 1


def test_demo_step_after_the_hubs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(home=tmp_path / "home")
    state = bootstrap(settings)
    build_world(state.engine, tmp_path)
    context = DemoContext(App(settings, state.engine), tmp_path, {"as_of": date.today()})
    demo_network(context)
    capsys.readouterr()
    demo_soap(context)
    demo_soap(context)  # idempotent: a second run registers again (a no-op) and asks again
    shown = capsys.readouterr().out
    assert "ManageAccess REGISTER (capacity 2, leefloon): HTTP 200, ReturnCode 0" in shown, shown
    assert "IdentifyPerson phonetically" in shown and "1 person(s)" in shown, shown
    assert "IdentifyPerson by INSZ: HTTP 200, ReturnCode 0, 1 person(s)" in shown, shown
    assert network.verify_audit(state.engine).intact
    state.engine.dispose()
