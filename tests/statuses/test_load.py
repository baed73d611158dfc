"""Loading status feeds on SQLite and PostgreSQL: merges, idempotence, full and delta, rejections."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from kruispunt.feeds import FeedRejected
from kruispunt.identity import NumberGenerator, NumberKind, Sex, replace_number
from kruispunt.statuses import (
    UnknownPerson,
    UnknownStatus,
    holders,
    load_status_feed,
    mutation_events,
    periods_frame,
    person_statuses,
)
from kruispunt.statuses import load as status_load_module
from kruispunt.statuses.snapshot import newest_seq
from kruispunt.store import mutation_event
from tests.statuses.helpers import count, events, registered_household, write_statuses


def test_load_merges_overlapping_and_adjacent_periods(engine: Engine, tmp_path: Path) -> None:
    jan, els, _ = registered_household(engine, tmp_path)
    feed = write_statuses(
        tmp_path / "nic.csv",
        [
            (jan, "VT", "2020-01-01", "2020-06-30", "NIC"),
            (jan, "VT", "2020-07-01", "2020-12-31", "NIC"),  # adjacent
            (jan, "VT", "2020-11-01", "", "NIC"),  # overlapping, open
            (els, "VT_DEPENDANT", "2021-01-01", "2021-12-31", "NIC"),
        ],
    )
    report = load_status_feed(engine, feed, source="NIC")
    assert (report.rows, report.periods_added, report.started, report.rejected) == (4, 2, 2, 0)
    [period] = person_statuses(engine, jan)
    assert (period.status, period.start_date, period.end_date, period.source) == (
        "VT",
        date(2020, 1, 1),
        None,
        "NIC",
    )
    assert events(engine) == [("status.started", "VT", jan), ("status.started", "VT_DEPENDANT", els)]


def test_same_file_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    jan, _, _ = registered_household(engine, tmp_path)
    feed = write_statuses(tmp_path / "fpd.csv", [(jan, "IGO", "2019-03-01", "", "FPD")])
    load_status_feed(engine, feed, source="FPD")
    before = (count(engine, "status_period"), count(engine, "mutation_event"), count(engine, "status_load"))
    again = load_status_feed(engine, feed, source="FPD")
    assert not again.changed_anything and again.load_id is None and again.events == 0
    after = (count(engine, "status_period"), count(engine, "mutation_event"), count(engine, "status_load"))
    assert after == before


def test_full_mode_ends_corrects_and_removes_with_history(engine: Engine, tmp_path: Path) -> None:
    jan, els, lien = registered_household(engine, tmp_path)
    first = write_statuses(
        tmp_path / "a.csv",
        [
            (jan, "LEEFLOON", "2020-01-01", "", "OCMW"),
            (els, "LEEFLOON", "2020-01-01", "2020-12-31", "OCMW"),
            (lien, "EQUIV_LEEFLOON", "2020-05-01", "", "OCMW"),
        ],
    )
    load_status_feed(engine, first, source="OCMW")
    second = write_statuses(
        tmp_path / "b.csv",
        [
            (jan, "LEEFLOON", "2020-01-01", "2021-03-31", "OCMW"),  # ended
            (els, "LEEFLOON", "2020-02-01", "2020-12-31", "OCMW"),  # corrected
        ],  # lien's period removed
    )
    report = load_status_feed(engine, second, source="OCMW")
    assert (report.ended, report.corrected, report.removed, report.started) == (1, 1, 1, 0)
    assert [p.end_date for p in person_statuses(engine, jan)] == [date(2021, 3, 31)]
    assert person_statuses(engine, lien) == []
    assert person_statuses(engine, jan, at=date(2021, 6, 1)) == []
    # What we knew before the correction stays answerable.
    with engine.connect() as conn:
        recorded = conn.execute(
            select(mutation_event.c.recorded_at).where(mutation_event.c.kind == "status.removed")
        ).scalar_one()
    earlier = recorded - timedelta(microseconds=1)
    [old] = person_statuses(engine, jan, known_at=earlier)
    assert old.end_date is None and old.superseded_at == recorded
    assert [p.start_date for p in person_statuses(engine, els, known_at=earlier)] == [date(2020, 1, 1)]
    assert [p.status for p in person_statuses(engine, lien, known_at=earlier)] == ["EQUIV_LEEFLOON"]
    with engine.connect() as conn:
        details = {
            r.kind: json.loads(r.detail)
            for r in conn.execute(select(mutation_event.c.kind, mutation_event.c.detail)).all()
            if r.kind.startswith("status.") and r.kind != "status.started"
        }
    assert details["status.ended"] == {
        "source": "OCMW",
        "old": [{"start": "2020-01-01", "end": None}],
        "new": {"start": "2020-01-01", "end": "2021-03-31"},
    }
    assert details["status.removed"]["new"] is None


def test_delta_adds_ends_and_leaves_the_rest(engine: Engine, tmp_path: Path) -> None:
    jan, els, lien = registered_household(engine, tmp_path)
    load_status_feed(
        engine,
        write_statuses(
            tmp_path / "full.csv",
            [(jan, "IVT", "2018-01-01", "", "DG_HAN"), (els, "IT", "2019-01-01", "", "DG_HAN")],
        ),
        source="DG_HAN",
    )
    delta = write_statuses(
        tmp_path / "delta.csv",
        [
            (jan, "IVT", "2018-01-01", "2022-08-31", "DG_HAN"),  # ends the open period
            (lien, "HANDICAP_66", "2023-01-01", "", "DG_HAN"),  # new
        ],
    )
    report = load_status_feed(engine, delta, source="DG_HAN", mode="delta")
    assert (report.ended, report.started, report.removed, report.corrected) == (1, 1, 0, 0)
    assert [p.end_date for p in person_statuses(engine, jan)] == [date(2022, 8, 31)]
    assert [p.status for p in person_statuses(engine, els)] == ["IT"]  # untouched by the delta
    assert not load_status_feed(engine, delta, source="DG_HAN", mode="delta").changed_anything


def test_bad_rows_reject_the_whole_file(engine: Engine, tmp_path: Path) -> None:
    jan, els, _ = registered_household(engine, tmp_path)
    stranger = NumberGenerator(99).insz(date(1960, 1, 1), Sex.MALE).number
    feed = write_statuses(
        tmp_path / "bad.csv",
        [
            (jan, "VT", "2020-01-01", "", "NIC"),
            (els, "IGO", "2020-01-01", "", "NIC"),  # NIC does not deliver IGO
            ("12345678901", "VT", "2020-01-01", "", "NIC"),  # check digits
            (stranger, "VT", "2020-01-01", "", "NIC"),  # not registered
            (jan, "NOPE", "2020-01-01", "", "NIC"),
            (jan, "VT", "2020-02-30", "", "NIC"),
            (jan, "VT", "2020-05-01", "2020-04-30", "NIC"),
            (jan, "VT", "2020-01-01", "", "FPD"),
        ],
    )
    with pytest.raises(FeedRejected) as rejected:
        load_status_feed(engine, feed, source="NIC")
    found = {(e.line, e.field) for e in rejected.value.errors}
    assert found == {
        (3, "status"),
        (4, "insz"),
        (5, "insz"),
        (6, "status"),
        (7, "start_date"),
        (8, "end_date"),
        (9, "source"),
    }
    reasons = {e.line: e.reason for e in rejected.value.errors}
    assert "check digits" in reasons[4] and "in the register" in reasons[5]
    assert "does not deliver status IGO" in reasons[3]
    assert count(engine, "status_period") == 0 and events(engine) == []


def test_accept_partial_writes_good_rows_and_a_rejects_file(engine: Engine, tmp_path: Path) -> None:
    jan, els, _ = registered_household(engine, tmp_path)
    feed = write_statuses(
        tmp_path / "mixed.csv",
        [(jan, "THAB", "2020-01-01", "", "VSB"), (els, "THAB", "not a date", "", "VSB")],
    )
    rejects = tmp_path / "rejects.csv"
    report = load_status_feed(engine, feed, source="VSB", accept_partial=True, rejects_path=rejects)
    assert (report.periods_added, report.rejected) == (1, 1)
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,field,reason,insz,status,start_date,end_date,source"
    assert lines[1].startswith("3,start_date,'not a date' is not a date YYYY-MM-DD," + els)


def test_partial_full_load_leaves_a_rejected_rows_status_as_stored(engine: Engine, tmp_path: Path) -> None:
    jan, els, lien = registered_household(engine, tmp_path)
    load_status_feed(
        engine,
        write_statuses(
            tmp_path / "a.csv",
            [(jan, "IGO", "2019-01-01", "", "FPD"), (els, "IGO", "2019-01-01", "", "FPD")],
        ),
        source="FPD",
    )
    rejects = tmp_path / "rejects.csv"
    second = write_statuses(
        tmp_path / "b.csv",
        [
            (jan, "IGO", "2019-01-01", "2019-13-45", "FPD"),  # wrong: jan's IGO must not be removed
            (jan, "IGO", "2021-01-01", "", "FPD"),  # held back with it
            (els, "IGO", "2019-01-01", "2022-06-30", "FPD"),  # good: ends els's IGO
            (lien, "IGO", "2023-01-01", "", "FPD"),  # good: new
        ],
    )
    report = load_status_feed(engine, second, source="FPD", accept_partial=True, rejects_path=rejects)
    assert (report.rejected, report.removed, report.ended, report.started) == (2, 0, 1, 1)
    assert [(p.start_date, p.end_date) for p in person_statuses(engine, jan)] == [(date(2019, 1, 1), None)]
    assert "not loaded: line 2 for the same person and status was rejected" in rejects.read_text(
        encoding="utf-8"
    )


def test_replaced_bis_number_keeps_history(engine: Engine, tmp_path: Path) -> None:
    from kruispunt.identity import load_register
    from tests.factories import person_row, write_register

    gen = NumberGenerator(5)
    bis = gen.insz(date(1990, 3, 3), Sex.FEMALE, NumberKind.BIS).number
    load_register(
        engine,
        write_register(tmp_path / "r.csv", [person_row(gen, insz=bis, birth_date="", sex="")]),
        as_of=date(2020, 1, 1),
    )
    load_status_feed(
        engine, write_statuses(tmp_path / "s.csv", [(bis, "WERKLOOS", "2020-01-01", "", "RVA")]), source="RVA"
    )
    national = gen.insz(date(1990, 3, 3), Sex.FEMALE).number
    replace_number(engine, bis, national)
    assert [p.status for p in person_statuses(engine, national)] == ["WERKLOOS"]
    assert [p.status for p in person_statuses(engine, bis)] == ["WERKLOOS"]
    assert periods_frame(engine)["insz"].to_list() == [national]


def test_holders_and_periods_frame(engine: Engine, tmp_path: Path) -> None:
    jan, els, lien = registered_household(engine, tmp_path)
    load_status_feed(
        engine,
        write_statuses(
            tmp_path / "nic.csv",
            [
                (jan, "VT", "2020-01-01", "", "NIC"),
                (els, "VT_DEPENDANT", "2020-01-01", "2020-12-31", "NIC"),
                (lien, "VT_DEPENDANT", "2021-01-01", "", "NIC"),
            ],
        ),
        source="NIC",
    )
    from kruispunt.statuses import expand_codes

    on = date(2020, 6, 1)
    assert holders(engine, ["VT"], at=on)["insz"].to_list() == [jan]
    assert sorted(holders(engine, expand_codes(["VT"]), at=on)["insz"].to_list()) == sorted([jan, els])
    assert holders(engine, expand_codes(["VT"]), at=on, municipality="61031").height == 2
    assert holders(engine, expand_codes(["VT"]), at=on, municipality="62063").height == 0
    with pytest.raises(UnknownStatus):
        holders(engine, ["NOPE"], at=on)
    frame = periods_frame(engine)
    assert frame.columns == ["person_id", "insz", "status", "start_date", "end_date", "source"]
    assert str(frame.schema["person_id"]) == "Int64" and str(frame.schema["end_date"]) == "Date"
    assert frame.height == 3 and frame["end_date"].null_count() == 2
    assert periods_frame(engine, statuses=["VT"]).height == 1
    with pytest.raises(UnknownPerson):
        person_statuses(engine, NumberGenerator(77).insz().number)


def test_a_loads_started_periods_are_one_outbox_record_read_one_row_each(
    engine: Engine, tmp_path: Path
) -> None:
    jan, els, lien = registered_household(engine, tmp_path)
    first = [(jan, "IVT", "2018-01-01", "", "DG_HAN"), (lien, "IT", "2019-01-01", "2019-12-31", "DG_HAN")]
    load_status_feed(engine, write_statuses(tmp_path / "a.csv", first), source="DG_HAN")
    delta = [
        (jan, "IVT", "2018-01-01", "2022-08-31", "DG_HAN"),  # ended: planned in Python
        (els, "HANDICAP_66", "2023-01-01", "", "DG_HAN"),  # started: one record with the next one
        (jan, "IT", "2020-02-01", "", "DG_HAN"),  # started
    ]
    load_status_feed(engine, write_statuses(tmp_path / "d.csv", delta), source="DG_HAN", mode="delta")
    with engine.connect() as conn:
        records = conn.execute(
            select(mutation_event.c.kind).where(mutation_event.c.kind.like("status.%"))
        ).scalars()
        stream = mutation_events(conn, 0).subquery()
        rows = conn.execute(select(stream).where(stream.c.kind.like("status.%")).order_by(stream.c.seq)).all()
    assert sorted(records) == ["status.bulk_started", "status.bulk_started", "status.ended"]
    assert [(r.kind, r.insz, r.subject) for r in rows] == [
        ("status.started", jan, "IVT"),
        ("status.started", lien, "IT"),
        ("status.started", jan, "IT"),  # a load's started periods in (person, status, start) order
        ("status.started", els, "HANDICAP_66"),
        ("status.ended", jan, "IVT"),
    ]
    assert [r.seq for r in rows] == sorted({r.seq for r in rows})  # each change its own number
    details = {(r.insz, r.subject): r.detail for r in rows if r.kind == "status.started"}
    # byte for byte the JSON the planner writes for the other kinds
    assert details[(lien, "IT")] == (
        '{"source":"DG_HAN","old":[],"new":{"start":"2019-01-01","end":"2019-12-31"}}'
    )
    assert (
        details[(els, "HANDICAP_66")]
        == '{"source":"DG_HAN","old":[],"new":{"start":"2023-01-01","end":null}}'
    )
    assert {r.effective_from for r in rows[2:4]} == {date(2020, 2, 1), date(2023, 1, 1)}


def test_person_statuses_on_a_day_over_a_period_and_as_known(engine: Engine, tmp_path: Path) -> None:
    jan, els, _ = registered_household(engine, tmp_path)
    rows = [
        (jan, "LEEFLOON", "2020-01-01", "2020-06-30", "OCMW"),
        (jan, "LEEFLOON", "2021-01-01", "", "OCMW"),
    ]
    load_status_feed(engine, write_statuses(tmp_path / "a.csv", rows), source="OCMW")
    over = person_statuses(engine, jan, period=(date(2020, 6, 30), date(2020, 12, 31)))
    assert [p.start_date for p in over] == [date(2020, 1, 1)]
    over = person_statuses(engine, jan, period=(date(2020, 7, 1), date(2021, 1, 1)))
    assert [p.start_date for p in over] == [date(2021, 1, 1)]
    assert [p.start_date for p in person_statuses(engine, jan)] == [date(2020, 1, 1), date(2021, 1, 1)]
    assert person_statuses(engine, els) == []
    [running] = person_statuses(engine, jan, at=date(2030, 1, 1))
    assert running.end_date is None and running.superseded_at is None
    assert person_statuses(engine, jan, known_at=running.recorded_at) == person_statuses(engine, jan)
    before = running.recorded_at - timedelta(microseconds=1)
    assert person_statuses(engine, jan, known_at=before) == []


def test_any_range_of_numbers_reads_each_started_period_once(engine: Engine, tmp_path: Path) -> None:
    """A consumer reading the stream in windows (a cursor, a round limit) sees every change exactly once,
    whatever the windows cut through a load's block of numbers."""
    jan, els, lien = registered_household(engine, tmp_path)
    rows = [
        (jan, "IVT", "2018-01-01", "", "DG_HAN"),
        (els, "IT", "2019-01-01", "2019-12-31", "DG_HAN"),
        (lien, "HANDICAP_66", "2020-01-01", "", "DG_HAN"),
    ]
    load_status_feed(engine, write_statuses(tmp_path / "a.csv", rows), source="DG_HAN")
    ended = [(jan, "IVT", "2018-01-01", "2022-08-31", "DG_HAN")]
    load_status_feed(engine, write_statuses(tmp_path / "e.csv", ended), source="DG_HAN", mode="delta")
    with engine.connect() as conn:
        newest = newest_seq(conn)

        def window(after: int, upto: int) -> list[tuple[int, str]]:
            stream = mutation_events(conn, after, upto).subquery()
            return [(r.seq, r.kind) for r in conn.execute(select(stream.c.seq, stream.c.kind))]

        whole = sorted(window(0, newest))
        for cut in range(newest + 1):
            assert sorted(window(0, cut) + window(cut, newest)) == whole
    status_rows = [seq for seq, kind in whole if kind == "status.started"]
    assert len(status_rows) == 3 and status_rows == list(range(status_rows[0], status_rows[0] + 3))
    assert [seq for seq, kind in whole if kind == "status.ended"] == [status_rows[-1] + 1]


def test_a_large_first_load_stores_what_a_small_one_does(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first load past the large-load size rebuilds the indexes afterwards and, on PostgreSQL, empties
    the table in its transaction to write its rows frozen: what it stores, and later loads, are the same."""
    monkeypatch.setattr(status_load_module, "_LARGE_LOAD", 1)
    jan, els, _ = registered_household(engine, tmp_path)
    rows = [(jan, "VT", "2020-01-01", "2020-06-30", "NIC"), (els, "VT_DEPENDANT", "2021-01-01", "", "NIC")]
    load_status_feed(engine, write_statuses(tmp_path / "first.csv", rows), source="NIC")
    assert [(p.status, p.start_date) for p in person_statuses(engine, els)] == [
        ("VT_DEPENDANT", date(2021, 1, 1))
    ]
    assert events(engine) == [("status.started", "VT", jan), ("status.started", "VT_DEPENDANT", els)]
    if engine.dialect.name == "postgresql":  # frozen rows are all-visible: ANALYZE counts their pages so
        with engine.connect() as conn:
            visible = conn.execute(
                text("SELECT relallvisible FROM pg_class WHERE relname = 'status_period'")
            ).scalar_one()
        assert visible > 0
    ended = [(jan, "VT", "2020-01-01", "2020-03-31", "NIC"), rows[1]]
    report = load_status_feed(engine, write_statuses(tmp_path / "second.csv", ended), source="NIC")
    assert (report.periods_superseded, report.periods_added) == (1, 1)
    assert [p.end_date for p in person_statuses(engine, jan)] == [date(2020, 3, 31)]
