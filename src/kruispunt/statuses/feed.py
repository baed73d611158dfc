"""The status feed contract and its validation, vectorised over the whole file.

Columns exactly :data:`STATUS_COLUMNS`; dates ``YYYY-MM-DD``; an empty ``end_date`` means the period still
runs. Every row is checked before anything is written: the INSZ (check digits, and that the register
knows the person), the status code, that the row's source is the load's source and may deliver that
status, the dates, and that the end is not before the start.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from kruispunt.feeds import LINE, MAX_REPORTED, FeedError, read_feed
from kruispunt.identity import Insz, InvalidNumber
from kruispunt.statuses.catalogue import Catalogue

STATUS_COLUMNS = ("insz", "status", "start_date", "end_date", "source")
ALL_SOURCES = "*"
UNKNOWN_PERSON = "no person with this number in the register"
_SEPARATORS = r"[\s.\-/]"


@dataclass(frozen=True)
class ValidatedFeed:
    """A read status file split into its good rows and its errors (one row per error)."""

    file: str
    raw: pl.DataFrame
    rows: pl.DataFrame
    errors: pl.DataFrame
    keys: pl.DataFrame  # line, person_id, status of every row whose person and status are known

    @property
    def held_back(self) -> pl.DataFrame:
        """(person_id, status) of rejected rows: a partial load leaves these keys as they are stored."""
        return (
            self.keys.join(self.errors.select(LINE).unique(), on=LINE, how="semi")
            .select("person_id", "status")
            .unique()
        )

    def holding_back_related(self) -> ValidatedFeed:
        """For a partial load: good rows of a rejected row's person and status are not loaded either.

        Loading only part of what a source says about one person's status would record a period the
        source never meant (half a correction, or in full mode the removal of a period whose row was
        wrong); those rows are reported instead, naming the line that holds them back.
        """
        if self.errors.is_empty():
            return self
        rejected = self.keys.join(self.errors.select(LINE).unique(), on=LINE, how="semi")
        first = rejected.group_by("person_id", "status").agg(pl.col(LINE).min().alias("_first"))
        related = self.rows.join(first, on=["person_id", "status"], how="inner").select(
            pl.col(LINE),
            pl.lit("status").alias("field"),
            pl.format("not loaded: line {} for the same person and status was rejected", "_first").alias(
                "reason"
            ),
        )
        return ValidatedFeed(
            self.file,
            self.raw,
            self.rows.join(related.select(LINE), on=LINE, how="anti"),
            pl.concat([self.errors, related]),
            self.keys,
        )

    @property
    def rejected_lines(self) -> int:
        return self.errors[LINE].n_unique()

    @property
    def unknown_persons(self) -> int:
        return self.errors.filter(pl.col("reason") == UNKNOWN_PERSON).height

    def feed_errors(self) -> list[FeedError]:
        """The first errors, in line order, as FeedError values."""
        ordered = self.errors.sort(LINE, "field").head(MAX_REPORTED)
        return [FeedError(self.file, line, field, reason) for line, field, reason in ordered.iter_rows()]

    def write_rejects(self, path: Path) -> None:
        """Every rejected row with its line, field and reason, as CSV (one line per error)."""
        rejected = self.errors.join(self.raw, on=LINE, how="left").sort(LINE, "field")
        rejected.rename({LINE: "line"}).select("line", "field", "reason", *STATUS_COLUMNS).write_csv(path)


@cache
def _insz_problem(text: str) -> str:
    """Why ``text`` does not name a registered person: a wrong number, or an unknown one."""
    try:
        Insz.parse(text)
    except InvalidNumber as error:
        return f"{text!r} is not a valid INSZ: {error}"
    return UNKNOWN_PERSON


def validate_status_feed(
    path: Path, *, source: str, numbers: pl.DataFrame | Future[pl.DataFrame], catalogue: Catalogue
) -> ValidatedFeed:
    """Read and check ``path``; ``numbers`` is the register's ``person_number_keys`` frame, or a future of
    it that is awaited once the file is parsed (a national register read then overlaps the file's).

    Raises FeedRejected only for file-level faults (unreadable, wrong header, truncated line); row faults
    come back in ``errors`` so that the caller can reject the file or accept its good part.
    """
    name = str(path)
    raw = read_feed(path, STATUS_COLUMNS)
    parsed = raw.with_columns(
        # Eleven digits as one integer, as the register's numbers are read: half the time of joining text.
        _as_number(pl.col("insz")).alias("_number"),
        pl.col("start_date").str.to_date("%Y-%m-%d", strict=False).alias("_start"),
        pl.col("end_date").str.to_date("%Y-%m-%d", strict=False).alias("_end"),
    )
    written = parsed.filter(pl.col("_number").is_null() & pl.col("insz").is_not_null())
    if not written.is_empty():  # numbers written with separators (93.05.18-223.61): the few, stripped
        digits = pl.col("insz").str.replace_all(_SEPARATORS, "")
        parsed = parsed.update(written.select(LINE, _as_number(digits).alias("_number")), on=LINE)
    if isinstance(numbers, Future):
        numbers = numbers.result()
    frame = parsed.join(
        numbers.select(pl.col("number").alias("_number"), pl.col("person_id").cast(pl.Int64)),
        on="_number",
        how="left",
    )
    errors = pl.concat(
        [
            *_insz_errors(frame),
            *_status_errors(frame, source, catalogue),
            *_date_errors(frame),
        ],
        how="vertical",
    )
    good = frame if errors.is_empty() else frame.join(errors.select(LINE).unique(), on=LINE, how="anti")
    good = good.select(
        "person_id",
        "status",
        "source",
        pl.col("_start").alias("start_date"),
        pl.col("_end").alias("end_date"),
        LINE,
    )
    keys = frame.filter(pl.col("person_id").is_not_null() & pl.col("status").is_in(list(catalogue.codes)))
    return ValidatedFeed(name, raw, good, errors, keys.select(LINE, "person_id", "status"))


def _as_number(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains("^[0-9]{11}$")).then(text.str.to_integer(strict=False))


def _error(frame: pl.DataFrame, condition: pl.Expr, field: str, reason: pl.Expr | str) -> pl.DataFrame:
    """The rows of ``frame`` meeting ``condition`` as (line, field, reason) errors."""
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return frame.filter(condition).select(
        pl.col(LINE), pl.lit(field).alias("field"), reason_expr.cast(pl.String).alias("reason")
    )


def _insz_errors(frame: pl.DataFrame) -> list[pl.DataFrame]:
    missing = _error(frame, pl.col("insz").is_null(), "insz", "a value is required")
    unresolved = frame.filter(pl.col("insz").is_not_null() & pl.col("person_id").is_null())
    # Only numbers the register does not know are parsed one by one (once per distinct value), to say
    # whether the number is wrong or merely unknown; registered numbers were checked when registered.
    reasons = pl.DataFrame(
        [(v, _insz_problem(v)) for v in unresolved["insz"].unique().to_list()],
        schema={"insz": pl.String, "reason": pl.String},
        orient="row",
    )
    wrong = unresolved.join(reasons, on="insz", how="left").select(
        pl.col(LINE), pl.lit("insz").alias("field"), pl.col("reason")
    )
    return [missing, wrong]


def _status_errors(frame: pl.DataFrame, source: str, catalogue: Catalogue) -> list[pl.DataFrame]:
    """Status and source faults depend on the pair alone: each distinct pair is judged once (a national
    feed holds a few dozen), then the rows holding a wrong pair get its errors."""
    codes = list(catalogue.codes)
    allowed = pl.DataFrame(
        [(code, s) for code, d in catalogue.statuses.items() for s in d.sources],
        schema={"status": pl.String, "source": pl.String},
        orient="row",
    )
    status, row_source = pl.col("status"), pl.col("source")
    if source == ALL_SOURCES:
        source_wrong = row_source.is_not_null() & ~row_source.is_in(list(catalogue.sources))
        source_reason: pl.Expr | str = pl.format("unknown source code '{}'", row_source)
    else:
        source_wrong = row_source.is_not_null() & (row_source != source)
        source_reason = pl.format(
            "the row is from source '{}' but this load is for source {}", row_source, pl.lit(source)
        )
    pairs = frame.select("status", "source").unique()
    checkable = pairs.filter(status.is_in(codes) & row_source.is_not_null() & ~source_wrong)
    not_owned = checkable.join(allowed, on=["status", "source"], how="anti")
    wrong = pl.concat(
        [
            _pair_error(pairs, status.is_null(), "status", "a value is required"),
            _pair_error(
                pairs,
                status.is_not_null() & ~status.is_in(codes),
                "status",
                pl.format("unknown status code '{}'", status),
            ),
            _pair_error(pairs, row_source.is_null(), "source", "a value is required"),
            _pair_error(pairs, source_wrong, "source", source_reason),
            _pair_error(
                not_owned,
                pl.lit(value=True),
                "status",
                pl.format("source {} does not deliver status {}", row_source, status),
            ),
        ]
    )
    if wrong.is_empty():
        return []
    rows = frame.join(wrong, on=["status", "source"], how="inner", nulls_equal=True)
    return [rows.select(pl.col(LINE), "field", "reason")]


def _pair_error(pairs: pl.DataFrame, condition: pl.Expr, field: str, reason: pl.Expr | str) -> pl.DataFrame:
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return pairs.filter(condition).select(
        "status", "source", pl.lit(field).alias("field"), reason_expr.cast(pl.String).alias("reason")
    )


def _date_errors(frame: pl.DataFrame) -> list[pl.DataFrame]:
    start, end = pl.col("start_date"), pl.col("end_date")
    return [
        _error(frame, start.is_null(), "start_date", "a value is required"),
        _error(
            frame,
            start.is_not_null() & pl.col("_start").is_null(),
            "start_date",
            pl.format("'{}' is not a date YYYY-MM-DD", start),
        ),
        _error(
            frame,
            end.is_not_null() & pl.col("_end").is_null(),
            "end_date",
            pl.format("'{}' is not a date YYYY-MM-DD", end),
        ),
        _error(frame, pl.col("_end") < pl.col("_start"), "end_date", "is before start_date"),
    ]
