"""Reading delivered files (CSV or Parquet) and reporting what is wrong with them.

Shared by every room that accepts a feed (the register, the status sources, batch files): a file is read
whole as text columns, its header checked against the contract, and each wrong value reported with the
file, the line (CSV: physical line, header = line 1; Parquet: row number) and the field.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

LINE = "__line"
MAX_REPORTED = 1_000


@dataclass(frozen=True)
class FeedError:
    """One reason a file or one of its lines cannot be accepted."""

    file: str
    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.reason}"


class FeedRejected(Exception):
    """A file was refused as a whole; ``errors`` says where and why. Nothing was written."""

    def __init__(self, errors: Sequence[FeedError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head = "; ".join(str(e) for e in self.errors[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"{count} error(s): {head}{more}")

    def write_report(self, path: Path) -> None:
        """All errors as CSV: file, line, field, reason."""
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "field", "reason"])
            for error in self.errors:
                writer.writerow([error.file, error.line or "", error.field or "", error.reason])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_feed(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    """Read ``path`` as text columns exactly named ``columns``, plus ``__line`` for error reports.

    Empty strings become nulls. Raises FeedRejected for an unreadable file, a wrong header or a
    truncated line.
    """
    name = str(path)
    if not path.exists():
        raise FeedRejected([FeedError(name, None, None, "file not found")])
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame, first_line = _read_parquet(path), 1
    elif suffix in (".csv", ".txt"):
        frame, first_line = _read_csv(path, columns), 2
    else:
        raise FeedRejected(
            [FeedError(name, None, None, f"unknown file type {suffix!r}; use .csv or .parquet")]
        )
    missing = [c for c in columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in columns]
    errors = [
        FeedError(name, 1 if first_line == 2 else None, c, "required column is missing") for c in missing
    ]
    errors += [FeedError(name, 1 if first_line == 2 else None, c, "unknown column") for c in extra]
    if errors:
        raise FeedRejected(errors)
    frame = frame.select(
        [pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c) for c in columns]
    ).with_row_index(LINE, offset=first_line)
    return frame.with_columns(pl.col(LINE).cast(pl.Int64))


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as error:  # polars raises several kinds for a damaged file
        raise FeedRejected(
            [FeedError(str(path), None, None, f"not a complete Parquet file ({type(error).__name__})")]
        ) from None


def _read_csv(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    name = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise FeedRejected([FeedError(name, None, None, "the file is empty; a header line is required")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FeedRejected([FeedError(name, line, None, "not valid UTF-8")]) from None
    width, ragged = _ragged_lines(text)
    if ragged:
        raise FeedRejected(
            [
                FeedError(
                    name,
                    line,
                    None,
                    f"has {count} fields, the header has {width} (truncated or shifted line?)",
                )
                for line, count in ragged[:MAX_REPORTED]
            ]
        )
    try:
        return pl.read_csv(raw, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise FeedRejected([FeedError(name, None, None, f"unreadable CSV: {error}")]) from None


def _ragged_lines(text: str) -> tuple[int, list[tuple[int, int]]]:
    """The header's field count, and the lines whose count differs (a truncated file ends in one).

    One pass of the csv module over the text, so quoted fields holding line breaks count right.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    width = len(next(reader))
    ragged = [(reader.line_num, len(row)) for row in reader if row and len(row) != width]
    return width, ragged


def errors_from(frame: pl.DataFrame, file: str, field: str, reason: str) -> list[FeedError]:
    """One FeedError per row of ``frame`` (which carries ``__line``)."""
    return [FeedError(file, int(line), field, reason) for line in frame[LINE].head(MAX_REPORTED)]
