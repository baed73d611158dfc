"""Accounting files: what a municipal tax or accounting package loads, with a totals line and a checksum.

Three formats, all built from the ledger's active grants joined with names and addresses from the
register: CSV as Belgian spreadsheets expect (UTF-8, ``;``, decimal comma), a fixed-width layout
(documented in ``docs/rules.md``), and JSON. The checksum is SHA-256 over the detail records as written,
so the receiving package can tell a complete file from a truncated or edited one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy import Engine

from kruispunt import identity
from kruispunt.identity.register import current_situation
from kruispunt.rights.model import Rule

Format = Literal["csv", "fixed", "json"]

EXPORT_COLUMNS = (
    "insz",
    "last_name",
    "first_name",
    "street",
    "house_number",
    "postal_code",
    "municipality",
    "household_id",
    "period_start",
    "period_end",
    "ground",
    "amount",
    "legal_reference",
)

# (field, width, alignment) of a fixed-width detail record; amounts in cents, right-aligned, zero-padded.
FIXED_LAYOUT: tuple[tuple[str, int, str], ...] = (
    ("record_type", 1, "<"),
    ("insz", 11, "<"),
    ("last_name", 40, "<"),
    ("first_name", 30, "<"),
    ("street", 40, "<"),
    ("house_number", 10, "<"),
    ("postal_code", 4, "<"),
    ("municipality", 30, "<"),
    ("household_id", 20, "<"),
    ("period_start", 8, "<"),
    ("period_end", 8, "<"),
    ("ground", 12, "<"),
    ("amount_cents", 12, "0>"),
    ("legal_reference", 80, "<"),
)
FIXED_WIDTH = sum(width for _, width, _ in FIXED_LAYOUT)


class NothingToExport(LookupError):
    """The ledger holds no active grant for the rule (run ``grant`` first)."""


@dataclass(frozen=True)
class ExportReport:
    """What was written: records, total, checksum."""

    path: Path
    format: str
    records: int
    total_amount: Decimal
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "format": self.format,
            "records": self.records,
            "total_amount": str(self.total_amount),
            "sha256": self.sha256,
        }


def accounting_records(engine: Engine, rule: Rule, grants: pl.DataFrame) -> pl.DataFrame:
    """The active grants with the receiver's name and current address from the register."""
    if grants.is_empty():
        raise NothingToExport(
            f"no active grant of {rule.id} in the ledger; run 'kruispunt rights grant' first"
        )
    register = (
        current_situation(engine)
        .select(
            "person_id",
            "last_name",
            "first_name",
            "street",
            "house_number",
            "postal_code",
            "municipality_nis",
        )
        .unique("person_id")
    )
    names = {
        nis: identity.municipality(nis).name for nis in register["municipality_nis"].drop_nulls().unique()
    }
    joined = grants.join(register, on="person_id", how="left").with_columns(
        municipality=pl.col("municipality_nis").replace_strict(names, default=None, return_dtype=pl.String),
        legal_reference=pl.lit(" ".join(rule.legal_basis.reference.split())),
    )
    return joined.select(
        *(
            pl.col(c).cast(pl.String).fill_null("")
            if c not in ("amount", "period_start", "period_end")
            else pl.col(c)
            for c in EXPORT_COLUMNS
        )
    ).sort("period_start", "insz")


def write_export(records: pl.DataFrame, rule: Rule, fmt: Format, out: Path) -> ExportReport:
    """Write the records in ``fmt`` to ``out`` (replacing it whole: written aside, then renamed)."""
    writers: dict[str, Callable[[pl.DataFrame, Rule], tuple[bytes, str]]] = {
        "csv": _csv,
        "fixed": _fixed,
        "json": _json,
    }
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; use csv, fixed or json")
    content, digest = writers[fmt](records, rule)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(content)
    partial.replace(out)
    return ExportReport(out, fmt, records.height, _total(records), digest)


def _total(records: pl.DataFrame) -> Decimal:
    return sum((Decimal(str(a)) for a in records["amount"].to_list()), Decimal("0.00")).quantize(
        Decimal("0.01")
    )


def _comma(amount: Any) -> str:
    return f"{Decimal(str(amount)).quantize(Decimal('0.01'))}".replace(".", ",")


def _text_rows(records: pl.DataFrame) -> list[dict[str, str]]:
    rows = []
    for row in records.iter_rows(named=True):
        rows.append(
            {
                **row,
                "period_start": row["period_start"].isoformat(),
                "period_end": row["period_end"].isoformat(),
            }
        )
    return rows


def _csv(records: pl.DataFrame, rule: Rule) -> tuple[bytes, str]:
    """UTF-8 with a byte-order mark (so spreadsheets detect it), ``;`` between fields, decimal commas."""
    lines = [";".join(EXPORT_COLUMNS)]
    for row in _text_rows(records):
        values = [_comma(row["amount"]) if c == "amount" else _csv_field(str(row[c])) for c in EXPORT_COLUMNS]
        lines.append(";".join(values))
    body = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    trailer = f"TOTAL;{records.height};{_comma(_total(records))}\r\nSHA256;{digest}\r\n".encode()
    return b"\xef\xbb\xbf" + body + trailer, digest


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ';"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _fixed(records: pl.DataFrame, rule: Rule) -> tuple[bytes, str]:
    """Header, one detail record per grant, trailer; every record FIXED_WIDTH characters and CRLF."""
    created = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    header = _pad(f"H{rule.id:<80}{created}{rule.authority.nis or '':<5}", FIXED_WIDTH)
    details = []
    for row in _text_rows(records):
        values = {
            **row,
            "record_type": "D",
            "period_start": row["period_start"].replace("-", ""),
            "period_end": row["period_end"].replace("-", ""),
            "amount_cents": str(int(Decimal(str(row["amount"])) * 100)),
        }
        details.append("".join(_cell(str(values[name]), width, align) for name, width, align in FIXED_LAYOUT))
    body = "".join(d + "\r\n" for d in details).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    total_cents = int(_total(records) * 100)
    trailer = _pad(f"T{records.height:09d}{total_cents:015d}{digest}", FIXED_WIDTH)
    return (header + "\r\n").encode("utf-8") + body + (trailer + "\r\n").encode("utf-8"), digest


def _cell(value: str, width: int, align: str) -> str:
    clipped = value[:width]
    return f"{clipped:{align}{width}}"


def _pad(text: str, width: int) -> str:
    return f"{text:<{width}}"[:width]


def _json(records: pl.DataFrame, rule: Rule) -> tuple[bytes, str]:
    """An object with the rule, the records (amounts as decimal strings), totals and the checksum."""
    rows = [
        {**row, "amount": str(Decimal(str(row["amount"])).quantize(Decimal("0.01")))}
        for row in _text_rows(records)
    ]
    canonical = json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hashlib.sha256(canonical).hexdigest()
    document = {
        "rule": rule.id,
        "title": rule.title.model_dump(),
        "authority": rule.authority.model_dump(),
        "legal_basis": rule.legal_basis.model_dump(),
        "created": date.today().isoformat(),
        "records": rows,
        "totals": {"records": len(rows), "amount": str(_total(records))},
        "checksum": {"algorithm": "sha256", "over": "records (canonical JSON, sorted keys)", "value": digest},
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"), digest
