"""Period algebra on frames, free of the database: merging, the target of a delta, and the differences.

A period is keyed by (person_id, status, source) and runs from ``start_date`` to ``end_date`` inclusive;
an open end (NULL) is treated as :data:`OPEN_END` inside these functions. Everything is vectorised, so a
national feed of fifteen million periods is merged and compared in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import polars as pl

KEY = ("person_id", "status", "source")
OPEN_END = date(9999, 12, 31)
_END = "_end"
_DAY_OFFSET = 1 << 21  # shifts day numbers (days since 1970) of years 0001..9999 into positive range
_SEGMENT = 1 << 23  # larger than every shifted day number


def _with_end(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("end_date").fill_null(OPEN_END).alias(_END))


def _overlaps(suffix: str) -> pl.Expr:
    """Two periods (columns ``x`` and ``x<suffix>``) share at least one day."""
    return (pl.col("start_date") <= pl.col(f"{_END}{suffix}")) & (
        pl.col(f"start_date{suffix}") <= pl.col(_END)
    )


def merge_periods(frame: pl.DataFrame) -> pl.DataFrame:
    """Merge overlapping and adjacent periods of the same key; returns KEY, start_date, end_date.

    After sorting by key and start, a period starts a new run when it begins more than a day after the
    furthest end reached so far within its key. The running furthest end is a cumulative maximum over
    (key number, day) packed in one integer, which needs no per-group window and stays linear. A run's
    first row gives its key and start, its last row the furthest end reached: no grouping either.
    """
    columns = [*KEY, "start_date", "end_date"]
    if frame.is_empty():
        return frame.select(columns)
    # Two integer sort keys instead of the key's text columns (twice as fast on a national feed): status
    # and source as one code (any consistent order keeps a key's periods together) packed with the start.
    code = pl.concat_str(["status", "source"], separator="\x1f").cast(pl.Categorical).to_physical()
    start = pl.col("start_date").cast(pl.Int64) + _DAY_OFFSET
    ordered = (
        frame.select(columns)
        .with_columns((code.cast(pl.Int64) * _SEGMENT + start).alias("_order"))
        .sort("person_id", "_order")
    )
    key_code = pl.col("_order") // _SEGMENT
    first_of_key = (pl.col("person_id") != pl.col("person_id").shift(1)) | (key_code != key_code.shift(1))
    ordered = ordered.with_columns(first_of_key.fill_null(value=True).alias("_first"))
    key_no = pl.col("_first").cum_sum().cast(pl.Int64)
    end = pl.col("end_date").fill_null(OPEN_END).cast(pl.Int64) + _DAY_OFFSET
    ordered = ordered.with_columns(((key_no * _SEGMENT + end).cum_max() - key_no * _SEGMENT).alias("_reach"))
    starts_run = pl.col("_first") | (start > pl.col("_reach").shift(1) + 1)
    ordered = ordered.with_columns(starts_run.fill_null(value=True).alias("_starts"))
    firsts = ordered.filter(pl.col("_starts")).select(*KEY, "start_date")
    last_of_run = pl.col("_starts").shift(-1, fill_value=True)
    reached = (pl.col("_reach") - _DAY_OFFSET).cast(pl.Int32).cast(pl.Date)
    ends = ordered.filter(last_of_run).select(
        pl.when(reached == OPEN_END).then(None).otherwise(reached).alias("end_date")
    )
    return firsts.hstack(ends)


def delta_target(current: pl.DataFrame, delta: pl.DataFrame) -> pl.DataFrame:
    """What the periods of the keys in ``delta`` become when the delta is applied.

    A delta period replaces every current period of its key that it overlaps (so it can end, shorten,
    lengthen or move a period) and merges with the periods it touches; periods of other keys are not
    part of the result.
    """
    merged = merge_periods(delta)
    scope = current.join(merged.select(KEY).unique(), on=KEY, how="semi")
    overlapped = (
        _with_end(scope)
        .join(_with_end(merged), on=KEY, suffix="_delta")
        .filter(_overlaps("_delta"))
        .select("id")
        .unique()
    )
    kept = scope.join(overlapped, on="id", how="anti")
    return merge_periods(pl.concat([kept.select(merged.columns), merged], how="vertical_relaxed"))


@dataclass(frozen=True)
class Changes:
    """Current rows to supersede, rows to insert, and the events that describe the change.

    ``inserted`` holds every period to insert, with ``started`` telling the periods that overlap no
    superseded period of their key: their ``status.started`` events are plain enough to be written by the
    database itself from the stored periods (see :func:`started_events`), so they are not built here.
    ``other_events`` are the ended, corrected and removed events.
    """

    superseded: pl.DataFrame
    inserted: pl.DataFrame
    other_events: pl.DataFrame

    @property
    def empty(self) -> bool:
        return self.superseded.is_empty() and self.inserted.is_empty()

    @cached_property
    def started(self) -> pl.DataFrame:
        # cached: a national load asks for it several times, and each filter copies millions of rows
        return self.inserted.filter(pl.col("started")).drop("started")

    @cached_property
    def replacing(self) -> pl.DataFrame:
        """Inserted periods that replace stored ones (their events are among ``other_events``)."""
        return self.inserted.filter(~pl.col("started")).drop("started")

    @property
    def events(self) -> pl.DataFrame:
        """Every event of the change, started ones included.

        An inserted period that overlaps no superseded one of its key started; a superseded period that
        overlaps no inserted one was removed; an inserted period that only closes the open period it
        replaces (same start) ended it; any other overlap is a correction listing the old periods.
        """
        return pl.concat([started_events(self.started), self.other_events], how="vertical_relaxed")


def plan_changes(current: pl.DataFrame, target: pl.DataFrame) -> Changes:
    """Compare the current rows (with ``id``) of some keys with what they must become.

    Identical periods stay untouched; every other current row is superseded and every other target
    period inserted, so loading the same data twice changes nothing.
    """
    if current.is_empty():  # nothing stored (a first load): every period starts, nothing to compare
        nothing = _overlapping_pairs(current, target.head(0))
        return Changes(
            current, target.with_columns(pl.lit(value=True).alias("started")), _other_events(current, nothing)
        )
    on = [*KEY, "start_date", _END]
    old, new = _with_end(current), _with_end(target)
    superseded = old.join(new.select(on), on=on, how="anti", nulls_equal=True).drop(_END)
    inserted = new.join(old.select(on), on=on, how="anti", nulls_equal=True).drop(_END)
    pairs = _overlapping_pairs(superseded, inserted)
    replacing = pairs.select(*KEY, pl.col("start_date_new").alias("start_date")).unique()
    flagged = inserted.join(
        replacing.with_columns(pl.lit(value=False).alias("started")), on=[*KEY, "start_date"], how="left"
    ).with_columns(pl.col("started").fill_null(value=True))
    return Changes(superseded, flagged, _other_events(superseded, pairs))


def _period_json(start: str, end: str) -> pl.Expr:
    return pl.struct(pl.col(start).alias("start"), pl.col(end).alias("end")).struct.json_encode()


def _detail(old: pl.Expr, new: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        [
            pl.lit('{"source":"'),
            pl.col("source"),
            pl.lit('","old":'),
            old,
            pl.lit(',"new":'),
            new,
            pl.lit("}"),
        ]
    )


def _events(frame: pl.DataFrame, kind: pl.Expr, start: str, end: str, detail: pl.Expr) -> pl.DataFrame:
    return frame.select(
        kind.alias("kind"),
        pl.col("person_id"),
        pl.col("status").alias("subject"),
        pl.col(start).alias("effective_from"),
        pl.col(end).alias("effective_to"),
        detail.alias("detail"),
    )


def _overlapping_pairs(superseded: pl.DataFrame, inserted: pl.DataFrame) -> pl.DataFrame:
    """Each superseded period with every inserted period of its key it overlaps (suffix ``_new``)."""
    return (
        _with_end(superseded)
        .join(_with_end(inserted), on=list(KEY), suffix="_new")
        .filter(_overlaps("_new"))
        .drop(_END, f"{_END}_new")
    )


def started_events(started: pl.DataFrame) -> pl.DataFrame:
    """``status.started`` events of periods that replace nothing (what the loader writes in SQL)."""
    return _events(
        started,
        pl.lit("status.started"),
        "start_date",
        "end_date",
        _detail(pl.lit("[]"), _period_json("start_date", "end_date")),
    )


def _other_events(superseded: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Ended or corrected events per inserted period that replaces stored ones; removed per dropped one."""
    new_key = [*KEY, "start_date_new", "end_date_new"]
    removed = superseded.join(pairs.select("id"), on="id", how="anti")
    replaced = pairs.group_by(new_key).agg(
        pl.len().alias("_n"),
        pl.col("start_date").first().alias("_old_start"),
        pl.col("end_date").first().alias("_old_end"),
        ("[" + _period_json("start_date", "end_date").str.join(",") + "]").alias("_old"),
    )
    ends = (
        (pl.col("_n") == 1)
        & (pl.col("_old_start") == pl.col("start_date_new"))
        & pl.col("_old_end").is_null()
        & pl.col("end_date_new").is_not_null()
    )
    frames = [
        _events(
            replaced,
            pl.when(ends).then(pl.lit("status.ended")).otherwise(pl.lit("status.corrected")),
            "start_date_new",
            "end_date_new",
            _detail(pl.col("_old"), _period_json("start_date_new", "end_date_new")),
        ),
        _events(
            removed,
            pl.lit("status.removed"),
            "start_date",
            "end_date",
            _detail("[" + _period_json("start_date", "end_date") + "]", pl.lit("null")),
        ),
    ]
    return pl.concat(frames, how="vertical_relaxed")
