"""Fan-out: a status change reaches the feeds of entitled partners only, once, and rights follow it."""

from __future__ import annotations

from datetime import date

from kruispunt import network, rights, statuses
from kruispunt.network import feeds
from kruispunt.network.hub import CallMeta
from tests.hub_world import World, sqlite_only, write_statuses


def _caller(world: World, token: str, mid: str = "pull-1") -> feeds.Caller:
    return feeds.authenticate(world.engine, CallMeta(token, mid, None, None, None), "mutations")


def _end_leefloon(world: World, end: str = "2024-05-31") -> None:
    statuses.load_status_feed(
        world.engine,
        write_statuses(world.folder / "ocmw-1.csv", [(world.head, "LEEFLOON", "2023-01-01", end)], "OCMW"),
        source="OCMW",
    )


def test_status_change_reaches_subscribed_integrating_partner_only(world: World) -> None:
    feeds.subscribe(world.engine, world.ocmw, ["status"], "social-inquiry")
    feeds.subscribe(world.engine, world.fund, ["status"], "social-inquiry")  # no deliberation: nothing
    feeds.dispatch(world.engine)  # the initial load's events
    _end_leefloon(world)
    report = feeds.dispatch(world.engine)
    assert report.entries >= 1
    page = feeds.read_feed(world.engine, _caller(world, world.ocmw_token))
    ended = [e for e in page.entries if e.kind != "status.started"]
    assert ended and ended[-1].insz == world.head and ended[-1].subject == "LEEFLOON"
    assert ended[-1].capacity == 2 and ended[-1].deliberation == "20/123"
    assert feeds.read_feed(world.engine, _caller(world, world.fund_token)).entries == []
    again = feeds.dispatch(world.engine)
    assert again.entries == 0  # nothing fanned out twice


@sqlite_only
def test_unsubscribed_or_unintegrated_persons_get_nothing(world: World) -> None:
    feeds.subscribe(world.engine, world.ocmw, ["register.address_changed"], "social-inquiry")
    _end_leefloon(world)
    feeds.dispatch(world.engine)
    assert feeds.read_feed(world.engine, _caller(world, world.ocmw_token)).entries == []
    feeds.subscribe(world.engine, world.ocmw, ["status.started"], "social-inquiry")
    statuses.load_status_feed(
        world.engine,
        write_statuses(
            world.folder / "ocmw-2.csv",
            [
                (world.head, "LEEFLOON", "2023-01-01", "2024-05-31"),
                (world.child, "LEEFLOON", "2024-06-01", ""),
            ],
            "OCMW",
        ),
        source="OCMW",
    )
    feeds.dispatch(world.engine)
    assert (
        feeds.read_feed(world.engine, _caller(world, world.ocmw_token)).entries == []
    )  # child not integrated


def test_municipal_subscription_lists_residents_then_their_changes(world: World) -> None:
    subscription = feeds.add_municipal_subscription(
        world.engine,
        world.huy,
        municipality_nis="61031",
        statuses_wanted=["LEEFLOON", "VT"],
        regulation="Règlement-taxe déchets ménagers 2024, art. 5",
        purpose="municipal-tax",
        reference_date=date(2024, 1, 1),
    )
    listed = feeds.residents(world.engine, subscription)
    assert listed["insz"].to_list() == [world.head] and listed["status"].to_list() == ["LEEFLOON"]
    feeds.dispatch(world.engine)
    _end_leefloon(world)
    feeds.dispatch(world.engine)
    page = feeds.read_feed(world.engine, _caller(world, world.huy_token))
    assert {e.basis for e in page.entries} == {"residence:61031"}
    assert any(e.insz == world.head and e.kind != "status.started" for e in page.entries)


@sqlite_only
def test_municipal_subscription_needs_a_deliberation_for_every_status(world: World) -> None:
    try:
        feeds.add_municipal_subscription(
            world.engine,
            world.huy,
            municipality_nis="61031",
            statuses_wanted=["IVT"],
            regulation="tax",
            purpose="municipal-tax",
            reference_date=date(2024, 1, 1),
        )
    except network.NetworkError as error:
        assert "does not allow status(es) IVT" in str(error)
    else:
        raise AssertionError("a status outside the deliberation was accepted")


def test_rights_follow_the_status_change(world: World) -> None:
    granted = rights.grant(world.engine, "waste-tax-exemption-huy", on=date(2024, 1, 1))
    assert granted.granted == 1
    feeds.follow_rights(world.engine)  # consume the load's events: nothing changes
    _end_leefloon(world, "2023-10-31")  # the OCMW corrects: leefloon ended before 1 January
    report = feeds.process(world.engine)
    assert report.rights_runs >= 1
    assert rights.active_grants(world.engine, "waste-tax-exemption-huy").is_empty()


def test_a_resident_with_a_status_moving_out_reaches_the_municipality(world: World) -> None:
    from kruispunt import identity
    from tests.factories import household, write_register

    feeds.add_municipal_subscription(
        world.engine,
        world.huy,
        municipality_nis="61031",
        statuses_wanted=["LEEFLOON"],
        regulation="Règlement-taxe 2024",
        purpose="municipal-tax",
        reference_date=date(2024, 1, 1),
    )
    feeds.dispatch(world.engine)
    rows = household(identity.NumberGenerator(11))
    moved = [
        {**r, "municipality_nis": "62051", "postal_code": "4040", "address_from": "2024-07-01"} for r in rows
    ]
    identity.load_register(
        world.engine, write_register(world.folder / "moved.csv", moved), as_of=date(2024, 7, 1)
    )
    feeds.dispatch(world.engine)
    page = feeds.read_feed(world.engine, _caller(world, world.huy_token))
    moves = [(e.kind, e.subject, e.insz) for e in page.entries if e.kind.startswith("register.")]
    assert moves == [("register.address_changed", "moved_out", world.head)]  # the others hold no status
