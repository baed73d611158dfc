"""The period algebra, property-based: merging, delta targets and change plans keep the days right."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kruispunt.statuses.periods import delta_target, merge_periods, plan_changes

BASE = date(2020, 1, 1)
HORIZON = 200  # days; an open period counts as running to the horizon in these checks

period = st.tuples(
    st.integers(1, 3),  # person_id
    st.sampled_from(["VT", "IGO"]),
    st.integers(0, 120),  # start offset
    st.one_of(st.none(), st.integers(0, 40)),  # length - 1, or open
)


def frame(rows: list[tuple[int, str, int, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (p, s, "NIC", BASE + timedelta(days=a), None if n is None else BASE + timedelta(days=a + n))
            for p, s, a, n in rows
        ],
        schema={
            "person_id": pl.Int64,
            "status": pl.String,
            "source": pl.String,
            "start_date": pl.Date,
            "end_date": pl.Date,
        },
        orient="row",
    )


def days(f: pl.DataFrame) -> set[tuple[int, str, int]]:
    out = set()
    for p, s, _, start, end in f.select(
        "person_id", "status", "source", "start_date", "end_date"
    ).iter_rows():
        last = (end - BASE).days if end is not None else HORIZON
        out |= {(p, s, d) for d in range((start - BASE).days, last + 1)}
    return out


def with_ids(f: pl.DataFrame) -> pl.DataFrame:
    return f.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))


@given(st.lists(period, max_size=12))
@settings(max_examples=150, deadline=None)
def test_merge_keeps_the_days_and_leaves_no_touching_periods(
    rows: list[tuple[int, str, int, int | None]],
) -> None:
    merged = merge_periods(frame(rows))
    assert days(merged) == days(frame(rows))
    for (_, _), group in merged.group_by("person_id", "status"):
        spans = sorted(group.select("start_date", "end_date").iter_rows())
        for (_, end), (next_start, _) in itertools.pairwise(spans):
            assert end is not None and next_start > end + timedelta(days=1)
    assert (
        merge_periods(merged)
        .sort("person_id", "status", "start_date")
        .equals(merged.sort("person_id", "status", "start_date"))
    )


@given(st.lists(period, max_size=10), st.lists(period, max_size=10))
@settings(max_examples=150, deadline=None)
def test_plan_turns_current_into_target(
    current_rows: list[tuple[int, str, int, int | None]], target_rows: list[tuple[int, str, int, int | None]]
) -> None:
    current = with_ids(merge_periods(frame(current_rows)))
    target = merge_periods(frame(target_rows))
    changes = plan_changes(current, target)
    kept = current.join(changes.superseded.select("id"), on="id", how="anti").drop("id")
    result = pl.concat([kept, changes.inserted.select(kept.columns)])
    key = ["person_id", "status", "source", "start_date", "end_date"]
    assert sorted(result.select(key).rows()) == sorted(target.select(key).rows())
    assert plan_changes(with_ids(target), target).empty
    kinds = changes.events["kind"].to_list()
    assert set(kinds) <= {"status.started", "status.ended", "status.corrected", "status.removed"}
    assert (len(kinds) == 0) == changes.empty


@given(st.lists(period, max_size=10), st.lists(period, min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_delta_target_covers_the_delta_and_nothing_new(
    current_rows: list[tuple[int, str, int, int | None]], delta_rows: list[tuple[int, str, int, int | None]]
) -> None:
    current = with_ids(merge_periods(frame(current_rows)))
    delta = frame(delta_rows)
    target = delta_target(current, delta)
    assert days(delta) <= days(target) <= days(delta) | days(current.drop("id"))
    untouched_keys = current.join(
        delta.select("person_id", "status").unique(), on=["person_id", "status"], how="anti"
    )
    assert target.join(
        untouched_keys.select("person_id", "status"), on=["person_id", "status"], how="semi"
    ).is_empty()


def test_ending_an_open_period_is_one_ended_event() -> None:
    current = with_ids(frame([(1, "VT", 0, None)]))
    target = delta_target(current, frame([(1, "VT", 0, 30)]))
    changes = plan_changes(current, target)
    assert changes.events.select("kind", "effective_from", "effective_to").rows() == [
        ("status.ended", BASE, BASE + timedelta(days=30))
    ]


def test_planned_started_detail_is_what_the_database_writes() -> None:
    from kruispunt.statuses.periods import started_events

    frame = pl.DataFrame(
        {
            "person_id": [1, 2],
            "status": ["VT", "IT"],
            "source": ["NIC", "DG_HAN"],
            "start_date": [date(2020, 1, 1), date(2021, 2, 3)],
            "end_date": [None, date(2021, 12, 31)],
        }
    )
    assert started_events(frame)["detail"].to_list() == [
        '{"source":"NIC","old":[],"new":{"start":"2020-01-01","end":null}}',
        '{"source":"DG_HAN","old":[],"new":{"start":"2021-02-03","end":"2021-12-31"}}',
    ]


def test_a_first_load_plan_has_the_shape_of_any_other() -> None:
    target = merge_periods(frame([(1, "VT", 0, None), (2, "IGO", 5, 10)]))
    first = plan_changes(with_ids(target).head(0), target)
    later = plan_changes(with_ids(frame([(3, "VT", 0, 3)])), target)
    assert first.started.sort("person_id").equals(target.sort("person_id"))
    assert first.superseded.is_empty() and first.other_events.is_empty()
    for mine, theirs in [(first.superseded, later.superseded), (first.inserted, later.inserted)]:
        assert mine.schema == theirs.schema
    assert first.other_events.schema == later.other_events.schema
