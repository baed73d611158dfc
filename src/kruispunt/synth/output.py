"""Writing the feeds chunk by chunk, so that a national population never sits in memory whole.

Every column is text (the feed contracts are text contracts); Parquet files get one row group per chunk,
CSV files one header. Writers use fixed settings, so the same rows give the same bytes.

Worker processes hand their chunks to the writing process as *parts*: files in the encoding that is
cheapest to append (an Arrow IPC file, read back memory-mapped, for Parquet; the CSV lines themselves for
CSV), so that no frame is pickled and the writer only encodes Parquet pages or copies bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from kruispunt.identity import REGISTER_COLUMNS

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
STATUS_COLUMNS = ("insz", "status", "start_date", "end_date", "source")
REGISTER, STATUSES = "register", "statuses"
#: The columns of each feed, in file order.
FEED_COLUMNS = {REGISTER: REGISTER_COLUMNS, STATUSES: STATUS_COLUMNS}
#: Columns with (nearly) one value per row: dictionary encoding only costs time there.
_UNIQUE_COLUMNS = frozenset({"insz", "household_id"})


def _schema(columns: tuple[str, ...]) -> pa.Schema:
    return pa.schema([(name, pa.large_string()) for name in columns])


def arrow_table(frame: pl.DataFrame, columns: tuple[str, ...]) -> pa.Table:
    """The frame's ``columns`` as an Arrow table of large strings (the writers' one schema)."""
    return pa.Table.from_arrays(frame.select(columns).to_arrow().columns, schema=_schema(columns))


def write_part(frame: pl.DataFrame, feed: str, fmt: Format, path: Path) -> None:
    """Encode a chunk's rows of ``feed`` into ``path``, for :meth:`FeedWriter.append_part`."""
    columns = FEED_COLUMNS[feed]
    if fmt == "csv":
        frame.select(columns).write_csv(path, include_header=False)
        return
    table = arrow_table(frame, columns)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as part:
        part.write_table(table)


class FeedWriter:
    """Appends frames with fixed columns to one ``.parquet`` or ``.csv`` file."""

    def __init__(self, path: Path, columns: tuple[str, ...], fmt: Format) -> None:
        self.path = path
        self.columns = columns
        self.rows = 0
        self._fmt = fmt
        self._schema = _schema(columns)
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
        self.rows += frame.height
        if self._parquet is not None:
            self._parquet.write_table(arrow_table(frame, self.columns))
        elif self._csv is not None:
            frame.select(self.columns).write_csv(self._csv, include_header=False)

    def append_part(self, path: Path, rows: int) -> None:
        """Append ``rows`` rows a worker encoded into ``path`` (see :func:`write_part`), then delete it."""
        self.rows += rows
        if self._parquet is not None:
            with pa.memory_map(str(path)) as source:
                self._parquet.write_table(pa.ipc.open_file(source).read_all())
        elif self._csv is not None:
            with path.open("rb") as part:
                shutil.copyfileobj(part, self._csv, 1 << 20)
        path.unlink()

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
