"""The demo step on a small world: a status change reaches the OCMW's feed and withdraws a granted right."""

from __future__ import annotations

from datetime import date

from kruispunt import rights
from kruispunt.bootstrap import App
from kruispunt.cli.demo import DemoContext
from kruispunt.cli.feeds import demo_feeds
from kruispunt.config import Settings
from kruispunt.network import feeds
from tests.hub_world import World, sqlite_only


@sqlite_only
def test_demo_step_shows_the_feed_and_the_withdrawal(world: World, settings: Settings, capsys) -> None:  # type: ignore[no-untyped-def]
    rights.grant(world.engine, "waste-tax-exemption-huy", on=date(2024, 1, 1))
    context = DemoContext(App(settings, world.engine), world.folder, {"as_of": date(2024, 6, 15)})
    demo_feeds(context)
    shown = capsys.readouterr().out
    assert "status.ended LEEFLOON" in shown or "status.corrected LEEFLOON" in shown, shown
    assert "withdrawn" in shown
    assert rights.active_grants(world.engine, "waste-tax-exemption-huy").is_empty()
    assert feeds.dispatch(world.engine).entries == 0
