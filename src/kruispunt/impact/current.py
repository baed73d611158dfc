"""The ``--current`` file: who receives the right today, after applying by hand.

Two shapes are accepted, told apart by their first line:

- a list of INSZ numbers, one per line (blank lines and lines starting with ``#`` are skipped);
- an accounting file as ``kruispunt rights export`` writes it: CSV (``;``-separated, header
  ``insz;last_name;...``, decimal commas, totals and checksum lines at the end), JSON, or the fixed-width
  layout. These carry the amount paid and the period, so today's cost is known rather than estimated.

Every problem is reported with the file, the line and the field, and the whole file is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from kruispunt import identity, rights
from kruispunt.feeds import FeedError, FeedRejected

SCHEMA: dict[str, Any] = {
    "line": pl.Int64,
    "insz": pl.String,
    "amount": pl.Decimal(18, 2),
    "period_start": pl.Date,
    "period_end": pl.Date,
}
_Row = tuple[int, str, Decimal | None, date | None, date | None]


@dataclass(frozen=True)
class CurrentFile:
    """The records of a ``--current`` file: line, insz (validated), amount and period when the file says."""

    path: Path
    kind: str
    records: pl.DataFrame

    @property
    def has_amounts(self) -> bool:
        return self.kind != "insz list"


def read_current(path: Path) -> CurrentFile:
    """Read and validate a ``--current`` file; raises FeedRejected naming file, line and field."""
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise FeedRejected([FeedError(name, None, None, "file not found")]) from None
    except UnicodeDecodeError as error:
        raise FeedRejected([FeedError(name, None, None, f"not UTF-8 text ({error.reason})")]) from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("{"):
        kind, rows, errors = "accounting JSON", *_json_rows(name, text)
    elif first.startswith("insz;"):
        kind, rows, errors = "accounting CSV", *_csv_rows(name, lines)
    elif first.startswith("H") and len(first) == rights.FIXED_WIDTH:
        kind, rows, errors = "accounting fixed-width", *_fixed_rows(name, lines)
    else:
        kind, rows, errors = "insz list", *_list_rows(name, lines)
    records = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    errors += _check_numbers(name, records)
    if not errors:
        records = records.with_columns(insz=identity.parse_insz_column(records["insz"])["number"])
    if errors:
        raise FeedRejected(errors)
    if records.is_empty():
        raise FeedRejected([FeedError(name, None, None, "the file lists nobody")])
    return CurrentFile(path, kind, records)


def _check_numbers(name: str, records: pl.DataFrame) -> list[FeedError]:
    if records.is_empty():
        return []
    checked = identity.parse_insz_column(records["insz"])
    problems = records.with_columns(why=checked["error"], number=checked["number"]).filter(
        pl.col("number").is_null()
    )
    return [
        FeedError(name, row["line"], "insz", row["why"] or "not a valid INSZ") for row in problems.to_dicts()
    ]


def _list_rows(name: str, lines: list[str]) -> tuple[list[_Row], list[FeedError]]:
    rows: list[_Row] = []
    errors: list[FeedError] = []
    for number, line in enumerate(lines, start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        digits = value.replace(".", "").replace("-", "").replace(" ", "")
        if not digits.isdigit():
            errors.append(FeedError(name, number, "insz", f"{value!r} is not an INSZ number (11 digits)"))
            continue
        rows.append((number, digits, None, None, None))
    return rows, errors


def _csv_rows(name: str, lines: list[str]) -> tuple[list[_Row], list[FeedError]]:
    header = lines[0].split(";")
    missing = [c for c in ("insz", "period_start", "period_end", "amount") if c not in header]
    if missing:
        return [], [FeedError(name, 1, None, f"missing column(s) {', '.join(missing)}")]
    at = {column: header.index(column) for column in ("insz", "period_start", "period_end", "amount")}
    rows: list[_Row] = []
    errors: list[FeedError] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith(("TOTAL;", "SHA256;")):
            continue
        cells = _split(line)
        if len(cells) != len(header):
            errors.append(FeedError(name, number, None, f"{len(cells)} fields, expected {len(header)}"))
            continue
        row = _row(
            name,
            number,
            cells[at["insz"]],
            cells[at["amount"]].replace(",", "."),
            cells[at["period_start"]],
            cells[at["period_end"]],
            errors,
        )
        if row is not None:
            rows.append(row)
    return rows, errors


def _split(line: str) -> list[str]:
    """One ``;``-separated line with the export's quoting (fields with ``;`` or quotes are double-quoted)."""
    cells, current, quoted, index = [], [], False, 0
    while index < len(line):
        char = line[index]
        if quoted and char == '"' and line[index + 1 : index + 2] == '"':
            current.append('"')
            index += 1
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    cells.append("".join(current))
    return cells


def _json_rows(name: str, text: str) -> tuple[list[_Row], list[FeedError]]:
    try:
        document = json.loads(text)
        records = document["records"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        return [], [FeedError(name, None, "records", f"not an accounting JSON file ({error})")]
    rows: list[_Row] = []
    errors: list[FeedError] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            errors.append(FeedError(name, number, None, "a record is not an object"))
            continue
        row = _row(
            name,
            number,
            str(record.get("insz", "")),
            str(record.get("amount", "")),
            str(record.get("period_start", "")),
            str(record.get("period_end", "")),
            errors,
        )
        if row is not None:
            rows.append(row)
    return rows, errors


def _fixed_rows(name: str, lines: list[str]) -> tuple[list[_Row], list[FeedError]]:
    offsets, position = {}, 0
    for field, width, _ in rights.FIXED_LAYOUT:
        offsets[field] = (position, position + width)
        position += width

    def cut(line: str, field: str) -> str:
        start, end = offsets[field]
        return line[start:end].strip()

    rows: list[_Row] = []
    errors: list[FeedError] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith("D"):
            continue
        if len(line) != rights.FIXED_WIDTH:
            errors.append(
                FeedError(name, number, None, f"{len(line)} characters, expected {rights.FIXED_WIDTH}")
            )
            continue
        cents = cut(line, "amount_cents")
        amount = f"{int(cents) / 100:.2f}" if cents.isdigit() else cents
        start, end = (_compact(cut(line, f)) for f in ("period_start", "period_end"))
        row = _row(name, number, cut(line, "insz"), amount, start, end, errors)
        if row is not None:
            rows.append(row)
    return rows, errors


def _compact(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 and value.isdigit() else value


def _row(
    name: str, number: int, insz: str, amount: str, start: str, end: str, errors: list[FeedError]
) -> _Row | None:
    """One accounting record checked field by field; errors are added to ``errors``."""
    found = len(errors)
    try:
        value = Decimal(amount).quantize(Decimal("0.01"))
    except InvalidOperation:
        errors.append(FeedError(name, number, "amount", f"{amount!r} is not an amount"))
    days = []
    for field, text in (("period_start", start), ("period_end", end)):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            errors.append(FeedError(name, number, field, f"{text!r} is not a date (YYYY-MM-DD)"))
    if len(errors) > found:
        return None
    return number, insz.strip(), value, days[0], days[1]
