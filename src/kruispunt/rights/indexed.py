"""The population and the status periods as numpy arrays indexed by position, for the evaluation engine.

A national evaluation groups eleven million persons into five million households and looks up fifteen
million periods' holders. Done as hash joins and group-bys over keys this costs seconds; here every person
is a row number and every household a dense integer *group*, so looking up a holder's household, a
household's size or its receiver is an array index: a gather or a scatter, no hashing, no sorting.

Persons are rows of the population frame; ``person_id`` order is kept (the engine's output is sorted by
it). Households are groups ``0 .. households - 1``; a person without a household is a group of their own,
numbered after the households. An integer ``household_key`` column (one value per household, as
``identity.population(..., household_keys=True)`` hands over) spares ranking the household ids, which
are strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np

# Polars consults numpy.ma whenever it builds a Series from an array, and numpy imports that module on
# first use: imported here, with the rest of the module, not inside a national evaluation's first gather.
import numpy.ma
import polars as pl

IntArray = np.ndarray[Any, np.dtype[np.integer[Any]]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
OPEN = np.int64(np.iinfo(np.int32).max)  # the end day of a period still running
_EPOCH = date(1970, 1, 1)
_BIAS = 1 << 31
# an id range up to this many times the number of persons is indexed by a direct lookup table
_DENSE_FACTOR = 4
# rows wanted from a column are filtered by a mark per row (rather than gathered) from one row in this many
_FILTER_SHARE = 64
POPULATION_COLUMNS: dict[str, Any] = {
    "person_id": pl.Int64,
    "insz": pl.String,
    "birth_date": pl.Date,
    "municipality_nis": pl.String,
    "household_id": pl.String,
    "household_role": pl.String,
}


def day_number(day: date) -> int:
    """A date as the day count Polars uses for its Date type."""
    return (day - _EPOCH).days


def _days(column: pl.Series, missing: int) -> IntArray:
    return column.cast(pl.Date).cast(pl.Int64).fill_null(missing).to_numpy()


class _Lookup:
    """person_id -> row: an offset (ids ascending without gaps, the usual case), a table, or a search."""

    def __init__(self, ids: pl.Series) -> None:
        self.size = ids.len()
        self.low = int(ids.min() or 0) if self.size else 0  # type: ignore[arg-type]
        self.span = int(ids.max()) - self.low + 1 if self.size else 0  # type: ignore[arg-type]
        self.ascending = ids.is_sorted() and (self.span == self.size or _strictly_ascending(ids))
        self.offset = self.ascending and self.span == self.size
        self.table: IntArray | None = None
        self.sorted_ids: IntArray | None = None
        self.order: IntArray | None = None
        if self.offset:
            return
        values = ids.to_numpy()
        if self.span <= _DENSE_FACTOR * self.size + 1024:
            self.table = np.full(self.span, -1, np.int64)
            self.table[values - self.low] = np.arange(self.size)
        else:
            self.order = np.argsort(values, kind="stable")
            self.sorted_ids = values[self.order]

    def rows(self, ids: IntArray) -> IntArray:
        """The row of each id; -1 for ids not in the population."""
        if self.size == 0:
            return np.full(ids.size, -1, np.int64)
        if self.sorted_ids is not None and self.order is not None:
            at = np.minimum(np.searchsorted(self.sorted_ids, ids), self.size - 1)
            return np.where(self.sorted_ids[at] == ids, self.order[at], -1)
        shifted = ids - self.low
        inside = (shifted >= 0) & (shifted < self.span)
        if self.offset:
            shifted[~inside] = -1
            return shifted
        assert self.table is not None
        return np.where(inside, self.table[np.where(inside, shifted, 0)], -1)


def _strictly_ascending(ids: pl.Series) -> bool:
    values = ids.to_numpy()
    return bool(np.all(values[1:] > values[:-1]))


class PopulationIndex:
    """The population by row, its households as dense groups, and what a household right needs of them."""

    def __init__(self, population: pl.DataFrame | pl.LazyFrame, *, residence: bool = True) -> None:
        keyed = "household_key" in population.collect_schema().names()
        # read from a lazy frame (a Parquet scan), municipalities are only read when a rule asks
        columns = {k: v for k, v in POPULATION_COLUMNS.items() if residence or k != "municipality_nis"}
        self.frame = (
            population.lazy()
            .select(
                *(pl.col(name).cast(dtype) for name, dtype in columns.items()),
                *([pl.col("household_key").cast(pl.Int64)] if keyed else []),
            )
            .collect()
        )
        self.size = self.frame.height
        self.lookup = _Lookup(self.frame["person_id"])
        self.ascending = self.lookup.ascending

    @cached_property
    def ids(self) -> IntArray:
        return self.frame["person_id"].to_numpy()

    @cached_property
    def _order(self) -> IntArray:
        """Rows in person_id order (only built when the frame is not already in that order)."""
        return np.argsort(self.ids, kind="stable")

    @cached_property
    def _position(self) -> IntArray:
        """Each row's place in person_id order."""
        if self.ascending:
            return np.arange(self.size)
        position = np.empty(self.size, np.int64)
        position[self._order] = np.arange(self.size)
        return position

    def in_id_order(self, rows: IntArray) -> IntArray:
        """Distinct rows, ordered by person_id, without sorting: a mark per person, read in order."""
        marked = np.zeros(self.size, np.bool_)
        marked[rows] = True
        if self.ascending:
            return np.flatnonzero(marked)
        return self._order[marked[self._order]]

    def rows_of(self, person_ids: IntArray) -> IntArray:
        return self.lookup.rows(person_ids)

    def columns(self, names: list[str], rows: IntArray) -> pl.DataFrame:
        """These columns at these rows.

        Many rows, ascending without repeats (a national decision table): a filter by a mark per row, one
        sequential pass over each column. Otherwise, for ascending rows in a frame of many chunks (as
        read from Parquet), a gather chunk by chunk: a gather over all chunks looks up each row's chunk,
        cutting the rows at the chunk boundaries makes each gather a contiguous one.
        """
        ascending = rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1]))
        if ascending and rows.size * _FILTER_SHARE > self.size and bool(np.all(rows[1:] > rows[:-1])):
            marked = np.zeros(self.size, np.bool_)
            marked[rows] = True
            return self.frame.select(names).filter(pl.Series(marked))
        if self.frame.n_chunks() == 1 or not ascending:
            return self.frame.select(pl.col(names).gather(pl.Series(rows)))
        return pl.DataFrame([_gather_chunked(self.frame[name], rows) for name in names])

    def person_ids(self, rows: IntArray) -> pl.Series:
        """The person_id of these rows (without a gather when ids follow the rows)."""
        if self.lookup.offset:
            return pl.Series("person_id", rows + self.lookup.low, dtype=pl.Int64)
        return self.frame["person_id"].gather(pl.Series(rows))

    @cached_property
    def _grouping(self) -> tuple[IntArray, int]:
        household = self.frame["household_id"]
        lone = household.null_count()
        alone: BoolArray = household.is_null().to_numpy() if lone else np.zeros(0, np.bool_)
        key = self.frame["household_key"] if "household_key" in self.frame.columns else None
        if key is None or key.null_count() != lone:
            # the ids ranked: exact, and only paid when the caller gave no integer keys
            key = household.rank("dense").cast(pl.Int64)
        group, households = _dense(key, lone)
        if lone:
            group[alone] = households + np.arange(lone, dtype=group.dtype)
        return group, households + lone

    @property
    def group(self) -> IntArray:
        """Each row's group: its household, or itself alone."""
        return self._grouping[0]

    @property
    def groups(self) -> int:
        return self._grouping[1]

    @cached_property
    def sizes(self) -> IntArray:
        """Members per group."""
        return np.bincount(self.group, minlength=self.groups)

    def members(self, groups: IntArray) -> IntArray:
        """Every row belonging to one of ``groups``."""
        wanted = np.zeros(self.groups, np.bool_)
        wanted[groups] = True
        return np.flatnonzero(wanted[self.group])

    @cached_property
    def _heads(self) -> IntArray:
        """Per group, the row of its head with the lowest person_id (-1: no head in the data)."""
        heads = np.flatnonzero((self.frame["household_role"] == "head").fill_null(False).to_numpy())
        first: IntArray = np.full(self.groups, self.size, np.int32 if self.size < 2**31 - 1 else np.int64)
        position = self._position[heads] if not self.ascending else heads
        # the same dtype on both sides keeps ufunc.at on its fast path
        np.minimum.at(first, self.group[heads], position.astype(first.dtype))
        rows: IntArray = first if self.ascending else self._order[np.minimum(first, self.size - 1)]
        rows[first == self.size] = -1
        return rows

    def receivers(self, groups: IntArray) -> IntArray:
        """The member receiving a household right: the head; without a head, the oldest member.

        Among several heads the lowest person_id; among members born the same day (or with no known birth
        date, who come last) the lowest person_id.
        """
        found = self._heads[groups]
        headless = groups[found < 0]
        if headless.size:
            rows = self.members(headless)
            oldest = (
                pl.DataFrame(
                    {
                        "group": self.group[rows],
                        "birth_date": self.frame["birth_date"].gather(rows),
                        "person_id": self.frame["person_id"].gather(rows),
                        "row": rows,
                    }
                )
                .sort("group", "birth_date", "person_id", nulls_last=True)
                .unique("group", keep="first", maintain_order=True)
            )
            chosen = np.full(self.groups, -1, np.int64)
            chosen[oldest["group"].to_numpy()] = oldest["row"].to_numpy()
            found[found < 0] = chosen[headless]
        return found


def _gather_chunked(column: pl.Series, rows: IntArray) -> pl.Series:
    parts, start = [], 0
    for chunk in column.get_chunks():
        end = start + chunk.len()
        low, high = np.searchsorted(rows, (start, end))
        if high > low:
            parts.append(chunk.gather(pl.Series(rows[low:high] - start)))
        start = end
    return pl.concat(parts) if parts else column.clear()


def _dense(key: pl.Series, lone: int) -> tuple[IntArray, int]:
    """Integer household keys made dense: an offset when they are (nearly) dense already, else ranked."""
    if key.len() == lone:
        return np.zeros(key.len(), _index_type(key.len())), 0
    low, high = int(key.min()), int(key.max())  # type: ignore[arg-type]
    if high - low + 1 > _DENSE_FACTOR * key.len() + 1024:
        key = key.rank("dense").cast(pl.Int64)
        low, high = 1, int(key.max())  # type: ignore[arg-type]
    groups = high - low + 1
    return _shifted(key.fill_null(low) if lone else key, low, _index_type(key.len() + groups)), groups


def _index_type(size: int) -> type[np.signedinteger[Any]]:
    """The narrowest integer type holding row and group numbers up to ``size``: half the memory, and
    twice the numbers per cache line, for the random gathers and scatters the engine makes."""
    return np.int32 if size < np.iinfo(np.int32).max else np.int64


def _shifted(column: pl.Series, low: int, dtype: type[np.signedinteger[Any]]) -> IntArray:
    """An integer column (no nulls) less ``low`` as one numpy array of ``dtype``, in one pass.

    A frame read from Parquet comes in many chunks and ``to_numpy`` would first copy them into one array
    of the column's type; here each chunk is read in place and written, shifted and narrowed, into its
    slice of the result.
    """
    out = np.empty(column.len(), dtype)
    start = 0
    for chunk in column.get_chunks():
        end = start + chunk.len()
        np.subtract(chunk.to_numpy(), low, out=out[start:end], casting="unsafe")
        start = end
    return out


class Periods:
    """Status periods as compact arrays: the holder's row, the status, the first and last day.

    Only periods that can matter are kept, in one pass over the frame: touching the span of days the
    rules look at (compared first: dates are cheap, status strings are not), of a status asked for, and
    of a person in the population. Every question asked of them is about days within that span, so when
    it is one day (a rule on a reference date) the periods are cut to it: their own first and last days
    are then that day and are not read at all.
    """

    def __init__(
        self,
        periods: pl.DataFrame | pl.LazyFrame,
        people: PopulationIndex,
        wanted: Iterable[str],
        span: tuple[int, int],
    ) -> None:
        self.names = sorted(set(wanted))
        status = _code_of(pl.col("status").cast(pl.String), self.names)
        end_date, start_date = pl.col("end_date").cast(pl.Date), pl.col("start_date").cast(pl.Date)
        end = end_date.cast(pl.Int32).fill_null(int(OPEN))
        start = start_date.cast(pl.Int32)
        # dates compared as dates, a null end (still running) reaching every day
        touching = (end_date.is_null() | (end_date >= _date(span[0]))) & (start_date <= _date(span[1]))
        person = pl.col("person_id").cast(pl.Int64)
        lookup = people.lookup
        # ids without gaps (the usual case): the row is the id less the first, worked out in the same pass
        holder = (person - lookup.low).alias("row") if lookup.offset else person.alias("row")
        wanted_rows = (pl.col("row") >= 0) & (pl.col("row") < lookup.size) if lookup.offset else pl.lit(True)
        one_day = span[0] == span[1]
        dated = [] if one_day else [start.alias("start"), end.alias("end")]
        narrow = _index_type(lookup.size) == np.int32
        compact = (
            periods.lazy()
            .filter(touching)
            .select(holder, status.alias("code"), *dated)
            .filter(pl.col("code").is_not_null() & wanted_rows)
            # row numbers checked to lie within the population fit its index type
            .with_columns(pl.col("row").cast(pl.Int32) if lookup.offset and narrow else pl.col("row"))
            .collect()
        )
        self.rows: IntArray = compact["row"].to_numpy()
        self.code: IntArray = compact["code"].to_numpy()
        if one_day:
            self.start = self.end = np.full(compact.height, span[0], np.int32)
        else:
            self.start, self.end = compact["start"].to_numpy(), compact["end"].to_numpy()
        if not lookup.offset:
            rows = people.rows_of(self.rows)
            known = rows >= 0
            self.rows, self.code = rows[known].astype(_index_type(lookup.size)), self.code[known]
            self.start, self.end = self.start[known], self.end[known]

        self.span = span
        self._dates: dict[tuple[int, int], BoolArray] = {}

    def _of(self, stored: Iterable[str]) -> BoolArray:
        """Per period: is its status one of ``stored``? (a lookup in a table of the few codes)"""
        table = np.zeros(len(self.names), np.bool_)
        for code in stored:
            if code in self.names:
                table[self.names.index(code)] = True
        picked: BoolArray = table[self.code]
        return picked

    def of_codes(self, stored: Iterable[str]) -> tuple[IntArray, IntArray, IntArray]:
        """(rows, starts, ends) of the periods of these stored codes."""
        picked = self._of(stored)
        return self.rows[picked], self.start[picked].astype(np.int64), self.end[picked].astype(np.int64)

    def ranked(self, rank: IntArray, none: int, first: int, last: int) -> tuple[IntArray, IntArray]:
        """Rows and rank (``rank`` per code) of the periods running on a day from ``first`` to ``last``
        whose code has a rank other than ``none``."""
        ranks = rank[self.code]
        running = self._running(first, last)
        picked = ranks != none if running is None else running & (ranks != none)
        if picked.all():  # a rule on one day, all its codes ranked: nothing to drop
            return self.rows, ranks
        return self.rows[picked], ranks[picked]

    def _running(self, first: int, last: int) -> BoolArray | None:
        """Per period: does it run on a day from ``first`` to ``last``? None: all do (the periods were
        cut to that span when read)."""
        if first <= self.span[0] and last >= self.span[1]:
            return None
        if (first, last) not in self._dates:
            # grounds and exclusions of one unit share the dates: the test is made once
            self._dates = {(first, last): (self.start <= last) & (self.end >= first)}
        return self._dates[(first, last)]

    def held(self, stored: Iterable[str], first: int, last: int) -> IntArray:
        """Rows of the holders of these codes on at least one day from ``first`` to ``last``."""
        running = self._running(first, last)
        return self.rows[self._of(stored) if running is None else running & self._of(stored)]


def _date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


# up to this many codes, a status is coded by comparing it with each (short strings compare whole in
# Polars' string views, quicker than a hash lookup); beyond, by a cast to an enumeration
_COMPARED_CODES = 8


def _code_of(status: pl.Expr, names: list[str]) -> pl.Expr:
    """A status as its index in ``names`` (null: not one of them), as a small unsigned integer."""
    if not names or len(names) > _COMPARED_CODES:
        return status.cast(pl.Enum(names), strict=False).to_physical()
    coded: Any = pl.when(status == names[0]).then(pl.lit(0, pl.UInt8))
    for index, name in enumerate(names[1:], start=1):
        coded = coded.when(status == name).then(pl.lit(index, pl.UInt8))
    result: pl.Expr = coded.otherwise(pl.lit(None, pl.UInt8))
    return result


def islands(rows: IntArray, starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """One person's periods that touch or overlap joined into one, so "every day" sees continuous holding.

    Sorted by person and start, a running maximum of the ends (person in the high bits, so it restarts
    with each person) tells whether a period begins after everything before it has ended, plus a day.
    """
    if rows.size == 0:
        return rows, starts, ends
    order = np.lexsort((starts, rows))
    # in 64 bits: the person goes into the high half of the running maximum
    rows, starts, ends = rows[order].astype(np.int64), starts[order], ends[order]
    # days biased to be non-negative in 32 bits (periods may start before 1970)
    reach = np.maximum.accumulate((rows << 32) | (ends + _BIAS)) & 0xFFFFFFFF
    reach = reach - _BIAS
    new = np.ones(rows.size, np.bool_)
    new[1:] = (rows[1:] != rows[:-1]) | (starts[1:] > reach[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, rows.size - 1]
    return rows[first], starts[first], reach[last]
