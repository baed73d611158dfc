"""Writing the feeds chunk by chunk, so that a national population never sits in memory whole.

Every column is text (the feed contracts are text contracts); Parquet files get one row group per chunk,
CSV files one header. Writers use fixed settings, so the same rows give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
#: Columns with (nearly) one value per row: dictionary encoding only costs time there.
_UNIQUE_COLUMNS = frozenset({"insz", "household_id"})


class FeedWriter:
    """Appends frames with fixed columns to one ``.parquet`` or ``.csv`` file."""

    def __init__(self, path: Path, columns: tuple[str, ...], fmt: Format) -> None:
        self.path = path
        self.columns = columns
        self.rows = 0
        self._fmt = fmt
        self._schema = pa.schema([(name, pa.large_string()) for name in columns])
        self._parquet: pq.ParquetWriter | None = None
        self._csv: IO[bytes] | None = None

    def __enter__(self) -> FeedWriter:
        if self._fmt == "parquet":
            self._parquet = pq.ParquetWriter(
                self.path,
                self._schema,
                compression="zstd",
                use_dictionary=[c for c in self.columns if c not in _UNIQUE_COLUMNS],
                write_statistics=False,
                store_schema=False,
            )
        else:
            self._csv = self.path.open("wb")
            pl.DataFrame(schema={c: pl.String for c in self.columns}).write_csv(self._csv)
        return self

    def write(self, frame: pl.DataFrame) -> None:
        frame = frame.select(self.columns)
        self.rows += frame.height
        if self._parquet is not None:
            self._parquet.write_table(pa.Table.from_arrays(frame.to_arrow().columns, schema=self._schema))
        elif self._csv is not None:
            frame.write_csv(self._csv, include_header=False)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
