"""Bulk writes (binary COPY on PostgreSQL, executemany on SQLite) and columnar reads through ADBC.

Bulk work never loops over ORM objects: frames go in and come out whole.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
from pgpq import ArrowToPostgresBinaryEncoder
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Select,
    SmallInteger,
    String,
    Table,
    TextClause,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

_BATCH = 200_000
_CONSTANT_FROM_ROWS = 1_000  # below this, looking for constant columns costs more than it saves


def bulk_insert(conn: Connection, table: Table, frame: pl.DataFrame, *, frozen: bool = False) -> int:
    """Insert every row of ``frame`` (columns named as in ``table``) inside the caller's transaction.

    ``frozen``: on PostgreSQL, write the rows already frozen and all-visible (``COPY ... FREEZE``), as
    a vacuum would leave them; only for a table created or truncated in this transaction.
    """
    if frame.is_empty():
        return 0
    if conn.dialect.name == "postgresql":
        _copy_into(conn, table, frame, frozen=frozen)
    else:
        _insert_sqlite(conn, table, frame)
    return frame.height


def _insert_sqlite(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """executemany over plain tuples; a column holding one value throughout is written into the statement.

    sqlite3 binds every parameter of every row from a Python object, so a load's constant columns (its
    timestamp, its id, an empty end) would cost as much as its data. Large frames go through staging
    files instead (:func:`_insert_sqlite_staged`).
    """
    constants = _constant_columns(frame) if frame.height >= _CONSTANT_FROM_ROWS else {}
    varying = [c for c in frame.columns if c not in constants]
    free = _free_attachments(conn) if frame.height >= SQLITE_STAGE_FROM_ROWS and varying else 0
    if free > 0:
        # Dates as text here too: ADBC would write them itself, but at twice the cost of Polars' formatting.
        _insert_sqlite_staged(conn, table, _dates_as_text(frame.select(varying)), constants, free)
        return
    names = ", ".join(f'"{c}"' for c in frame.columns)
    values = ", ".join(constants.get(c, "?") for c in frame.columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({values})'  # noqa: S608 (names from schema, values quoted)
    data = _dates_as_text(frame.select(varying))
    for start in range(0, data.height, _BATCH):
        batch = data.slice(start, _BATCH)
        rows = batch.rows() if varying else [()] * batch.height
        conn.exec_driver_sql(sql, rows)


SQLITE_STAGE_FROM_ROWS = 300_000
"""From this many rows on, SQLite bulk inserts go through staging files written by ADBC."""
STAGE_ALIAS = "kp_stage"
_STAGE_SLICE = 2_000_000  # rows per staging file
_STAGE_FILES = 5  # at most, per insert (see _free_attachments)

# ADBC's bulk ingest into a new SQLite file, from an Arrow IPC file (the low-level API: see the reader).
_STAGE_WRITER = """
import sys
import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa
source, target = sys.argv[1], sys.argv[2]
reader = pa.ipc.open_file(pa.memory_map(source))
count = reader.num_record_batches
batches = pa.RecordBatchReader.from_batches(reader.schema, (reader.get_batch(i) for i in range(count)))
database = adbc_driver_sqlite.connect(target)
connection = adbc.AdbcConnection(database)
statement = adbc.AdbcStatement(connection)
for pragma in ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF"):  # a scratch file: no crash safety
    statement.set_sql_query(pragma)
    statement.execute_update()
statement.set_options(**{"adbc.ingest.target_table": "rows", "adbc.ingest.mode": "adbc.ingest.mode.create"})
statement.bind_stream(batches)
statement.execute_update()
statement.close()
connection.close()
database.close()
"""


def _insert_sqlite_staged(
    conn: Connection, table: Table, data: pl.DataFrame, constants: dict[str, str], free: int
) -> None:
    """Millions of rows: ADBC writes them into staging files, SQLite copies them with INSERT ... SELECT.

    sqlite3's executemany costs about 2 µs of Python per row; ADBC's columnar ingest (in C) and a copy
    inside SQLite take a third of that. The ingest runs in a child process (ADBC bundles its own SQLite
    library: see :func:`_read_sqlite_arrow`) into a file of its own, which this connection then attaches:
    the rows enter the table inside the caller's transaction, so a failed load still changes nothing.
    The rows go in slices: while this connection copies one slice, the child writes the next, so the
    two halves of the work run on two cores. The staging files are unlinked at once; the connection
    detaches them when it returns to the pool. ``free``: the attachment places left
    (:func:`_free_attachments`).
    """
    count = max(1, min(_STAGE_FILES, -(-data.height // _STAGE_SLICE), free // 2))
    size = -(-data.height // count)
    slices = [data.slice(start, size) for start in range(0, data.height, size)]
    ordered = ", ".join(f'"{c}"' for c in (*data.columns, *constants))
    values = ", ".join(constants.get(c, f'"{c}"') for c in (*data.columns, *constants))
    with tempfile.TemporaryDirectory(prefix="kruispunt-stage-") as tmp:
        folder = Path(tmp)
        writing = _start_stage_writer(slices[0], folder / "0")
        try:
            for number in range(len(slices)):
                target = _finish_stage_writer(writing)
                if number + 1 < len(slices):
                    writing = _start_stage_writer(slices[number + 1], folder / str(number + 1))
                alias = f"{STAGE_ALIAS}_{uuid.uuid4().hex}"
                conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (str(target),))
                conn.exec_driver_sql(
                    f'INSERT INTO "{table.name}" ({ordered}) SELECT {values} FROM {alias}.rows'  # noqa: S608 (names from schema, values quoted)
                )
        finally:  # a failed copy leaves no child writing into the folder being removed
            writing[0].kill()
            writing[0].wait()


def _free_attachments(conn: Connection) -> int:
    """How many more files this connection may attach. SQLite cannot detach a file a transaction has
    read, so each staging file takes a place until the end of the transaction; an insert takes at most
    half of what is left, leaving places to the transaction's later inserts (with none left, rows go
    through executemany)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    names: list[str] = [row[1] for row in raw.execute("PRAGMA database_list")]
    attached = sum(name.startswith(STAGE_ALIAS) for name in names)
    return raw.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) - attached


def _start_stage_writer(data: pl.DataFrame, stem: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Write ``data`` as an Arrow IPC file and start the child that ingests it into ``stem``.sqlite."""
    import pyarrow as pa

    source, target = stem.with_suffix(".arrow"), stem.with_suffix(".sqlite")
    arrow = data.to_arrow()
    with pa.OSFile(str(source), "wb") as sink, pa.ipc.new_file(sink, arrow.schema) as writer:
        for batch in arrow.to_batches(max_chunksize=_BATCH):
            writer.write_batch(batch)
    child = subprocess.Popen(
        [sys.executable, "-c", _STAGE_WRITER, str(source), str(target)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return child, target


def _finish_stage_writer(writing: tuple[subprocess.Popen[bytes], Path]) -> Path:
    child, target = writing
    _, errors = child.communicate()
    target.with_suffix(".arrow").unlink()
    if child.returncode != 0:
        raise RuntimeError(f"SQLite staging write failed: {errors.decode(errors='replace')[-2000:]}")
    return target


@contextmanager
def indexes_deferred(conn: Connection, table: Table, *, when: bool) -> Iterator[None]:
    """Drop ``table``'s indexes (and on PostgreSQL its primary key) ``when`` asked, and build them again
    after the caller's inserts, inside the caller's transaction.

    For loading millions of rows into an empty table: PostgreSQL maintains a B-tree row by row (with a
    WAL record each), which made up half a national status load; building an index from the finished
    table is a sort. On PostgreSQL, readers of the table then wait for the transaction instead of
    seeing it empty; SQLite readers keep reading the last committed state.
    """
    if not when:
        yield
        return
    primary_key = _primary_key_name(conn, table)
    if primary_key is not None:
        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{primary_key}"')
    for index in table.indexes:
        index.drop(conn)
    yield
    if primary_key is not None:
        columns = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        conn.exec_driver_sql(
            f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{primary_key}" PRIMARY KEY ({columns})'
        )
    for index in table.indexes:
        index.create(conn)


def _primary_key_name(conn: Connection, table: Table) -> str | None:
    """The name of ``table``'s primary-key constraint on PostgreSQL (SQLite's is the row id itself)."""
    if conn.dialect.name != "postgresql":
        return None
    name = conn.execute(
        text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:table AS regclass) AND contype = 'p'"),
        {"table": table.name},
    ).scalar()
    return None if name is None else str(name)


def detach_staging(dbapi_connection: Any, _record: Any = None) -> None:
    """Detach the staging files a bulk insert attached (called when a connection returns to the pool;
    an invalidated connection comes back as None)."""
    if dbapi_connection is None:
        return
    attached = [row[1] for row in dbapi_connection.execute("PRAGMA database_list").fetchall()]
    for alias in attached:
        if alias.startswith(STAGE_ALIAS):
            dbapi_connection.execute(f"DETACH DATABASE {alias}")


def _constant_columns(frame: pl.DataFrame) -> dict[str, str]:
    """Columns with one value (or only nulls) in every row, as SQL literals."""
    constants = {}
    for name in frame.columns:
        column = frame.get_column(name)
        if column.null_count() == column.len():
            constants[name] = "NULL"
        elif (
            column.null_count() == 0
            and (literal := _sql_literal(column[0])) is not None
            and bool((column == column[0]).all())
        ):
            constants[name] = literal
    return constants


_SQLITE_DATE = "%Y-%m-%d"
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite
_POLARS_DATETIME = "%Y-%m-%d %H:%M:%S.%6f"  # the same in Polars' (chrono's) spelling


def _sql_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal, for the types bulk frames carry."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = value.strftime(_SQLITE_DATETIME)
    elif isinstance(value, date):
        value = value.strftime(_SQLITE_DATE)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def _dates_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates and timestamps as the ISO text SQLAlchemy stores in SQLite."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            casts.append(pl.col(name).dt.strftime(_SQLITE_DATE))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime(_POLARS_DATETIME))
    return frame.with_columns(casts) if casts else frame


def _copy_into(conn: Connection, table: Table, frame: pl.DataFrame, *, frozen: bool) -> None:
    """COPY in PostgreSQL's binary format when every column has a wire type we encode, else as CSV.

    The server parses binary rows in about half the time of CSV (2.3 M status periods: 2.8 against 5.5 s),
    and pgpq encodes them from the Arrow buffers faster than CSV is written.
    """
    try:
        _copy_rows(conn, table, frame, ", FREEZE" if frozen else "")
    except psycopg.Error as error:  # the driver's cursor: raise what SQLAlchemy raises on other paths
        raise DBAPIError.instance(f"COPY {table.name}", None, error, psycopg.Error) from error


def _copy_rows(conn: Connection, table: Table, frame: pl.DataFrame, options: str) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in frame.columns)
    wire = _binary_wire_types(conn, table, frame.columns)
    with raw.cursor() as cursor:
        if wire is not None:
            arrow = frame.with_columns(pl.col(name).cast(dtype) for name, dtype in wire.items()).to_arrow()
            encoder = ArrowToPostgresBinaryEncoder(arrow.schema)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT binary{options})') as copy:
                copy.write(encoder.write_header())
                for batch in arrow.to_batches(max_chunksize=_BATCH):
                    copy.write(encoder.write_batch(batch))
                copy.write(encoder.finish())
            return
        for start in range(0, frame.height, _BATCH):
            buffer = io.BytesIO()
            frame.slice(start, _BATCH).write_csv(
                buffer, include_header=False, null_value="\\N", datetime_format=_POLARS_DATETIME
            )
            statement = f"COPY \"{table.name}\" ({names}) FROM STDIN (FORMAT csv, NULL '\\N'{options})"
            with cursor.copy(statement) as copy:
                copy.write(buffer.getvalue())


def _binary_wire_types(conn: Connection, table: Table, names: list[str]) -> dict[str, Any] | None:
    """The Polars type whose binary form each column's PostgreSQL type reads, or None if one has none.

    Binary COPY does not convert: a bigint column must receive 8 bytes, a timestamp microseconds.
    """
    wire = {}
    for name in names:
        sql_type = table.c[name].type.dialect_impl(conn.dialect)
        dtype = _polars_type(sql_type, exact=True)
        if dtype is None:
            return None
        wire[name] = dtype
    return wire


def read_frame(
    engine: Engine,
    statement: Select[Any] | TextClause,
    params: Mapping[str, Any] | None = None,
    *,
    bulk: bool = False,
) -> pl.DataFrame:
    """Run a query and return a Polars frame typed after the SQL columns, on both engines.

    PostgreSQL results stream as Arrow through ADBC. SQLite results are fetched with the process's own
    sqlite3 library: a second SQLite copy in one process (ADBC bundles one) would break its file locks.
    On a large SQLite database, a read of millions of rows goes through ADBC's columnar reader in a child
    process instead (half a second to start, then several times faster): for a statement reading a whole
    table (no WHERE, LIMIT or GROUP BY), or when the caller says it expects a large result (``bulk``).
    """
    if engine.dialect.name == "postgresql":
        frame = _read_postgresql(engine, statement, params)
    else:
        frame = _read_sqlite(engine, statement, params, bulk=bulk or _whole_table(statement))
    return _typed(frame, statement)


def _whole_table(statement: Select[Any] | TextClause) -> bool:
    return (
        isinstance(statement, Select)
        and statement.whereclause is None
        and statement._limit_clause is None
        and not statement._group_by_clauses
    )


def _read_postgresql(
    engine: Engine, statement: Select[Any] | TextClause, params: Mapping[str, Any] | None
) -> pl.DataFrame:
    import adbc_driver_postgresql.dbapi as adbc_pg

    compiled = statement.compile(dialect=postgresql.psycopg.dialect(paramstyle="numeric_dollar"))  # type: ignore[no-untyped-call]
    values = {**compiled.params, **(params or {})}
    positional = [values[name] for name in (compiled.positiontup or [])]
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc_pg.connect(uri) as conn, conn.cursor() as cursor:
        cursor.execute(str(compiled), positional or None)
        frame = pl.from_arrow(cursor.fetch_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _read_sqlite(
    engine: Engine, statement: Select[Any] | TextClause, params: Mapping[str, Any] | None, *, bulk: bool
) -> pl.DataFrame:
    compiled = statement.compile(dialect=sqlite.dialect(paramstyle="qmark"))
    values = {**compiled.params, **(params or {})}
    positional = [sqlite_value(values[name]) for name in (compiled.positiontup or [])]
    path = _sqlite_path(engine)
    if bulk and path is not None and _sqlite_size(path) >= SQLITE_ARROW_THRESHOLD_BYTES:
        return _read_sqlite_arrow(path, str(compiled), positional)
    schema = _sqlite_schema(statement)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(str(compiled), positional)
        names = [d[0] for d in cursor.description]
        chunks = []
        while rows := cursor.fetchmany(500_000):
            chunks.append(pl.DataFrame(rows, schema=_row_schema(names, schema), orient="row"))
        cursor.close()
    finally:
        raw.close()
    if not chunks:
        return pl.DataFrame(schema=_row_schema(names, schema))
    return pl.concat(chunks)


def _sqlite_path(engine: Engine) -> Path | None:
    """The database file, or None for an in-memory database."""
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


SQLITE_ARROW_THRESHOLD_BYTES = 64 * 1024 * 1024
"""From this database size on, SQLite reads stream as Arrow from a helper process (see below)."""

# The low-level ADBC API: its DB-API module imports pyarrow.dataset and pandas, seconds per read.
_ARROW_READER = """
import sys, json
import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa
path, sql, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
database = adbc_driver_sqlite.connect(path)
connection = adbc.AdbcConnection(database)
statement = adbc.AdbcStatement(connection)
statement.set_options(**{"adbc.sqlite.query.batch_rows": "1000000000"})
statement.set_sql_query(sql)
if params:
    names = [str(i) for i in range(len(params))]
    statement.bind(pa.record_batch([pa.array([v]) for v in params], names=names))
handle, _ = statement.execute_query()
reader = pa.RecordBatchReader._import_from_c(handle.address)
with pa.ipc.new_stream(sys.stdout.buffer, reader.schema) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""


def _sqlite_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return (path.stat().st_size if path.exists() else 0) + (wal.stat().st_size if wal.exists() else 0)


def _read_sqlite_arrow(path: Path, sql: str, positional: list[Any]) -> pl.DataFrame:
    """Large SQLite reads: ADBC's columnar reader, run in a child process.

    ADBC bundles its own SQLite library. Two SQLite libraries in one process break each other's POSIX
    file locks (closing one's file descriptor drops the other's locks), so the reader runs in its own
    process and hands the result over as an Arrow IPC stream. It reads the last committed state, like
    any other connection.
    """
    result = subprocess.run(
        [sys.executable, "-c", _ARROW_READER, str(path), sql, json.dumps(positional)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"columnar SQLite read failed: {result.stderr.decode(errors='replace')[-2000:]}")
    import pyarrow as pa

    frame = pl.from_arrow(pa.ipc.open_stream(result.stdout).read_all())
    assert isinstance(frame, pl.DataFrame)
    return frame


def sqlite_value(value: Any) -> Any:
    """A bound value as SQLAlchemy stores it in SQLite (dates and times as ISO text, microseconds always
    written), for statements run on the driver itself."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sqlite_schema(statement: Select[Any] | TextClause) -> dict[str, Any]:
    """Column types as SQLite hands them over: dates and timestamps arrive as ISO text."""
    if not isinstance(statement, Select):
        return {}
    result: dict[str, Any] = {}
    for column in statement.selected_columns:
        target = _polars_type(column.type)
        result[str(column.key)] = pl.String if target in (pl.Date, pl.Datetime("us")) else target
    return result


def _row_schema(names: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    return {name: schema.get(name) for name in names}


def _polars_type(sql_type: Any, *, exact: bool = False) -> Any:
    """The Polars type of ``sql_type``'s values as read (integers Int64, numbers Float64), or ``exact``:
    the width PostgreSQL's binary format carries for it (None where it has no plain one)."""
    if isinstance(sql_type, DateTime):
        return None if exact and sql_type.timezone else pl.Datetime("us")
    if isinstance(sql_type, Date):
        return pl.Date
    if isinstance(sql_type, Boolean):
        return pl.Boolean
    if isinstance(sql_type, Integer):
        if not exact or isinstance(sql_type, BigInteger):
            return pl.Int64
        return pl.Int16 if isinstance(sql_type, SmallInteger) else pl.Int32
    if isinstance(sql_type, Float | Numeric):
        return None if exact else pl.Float64  # binary: float precision and numeric go as CSV
    if isinstance(sql_type, String):  # varchar and text take the same bytes
        return pl.String
    if isinstance(sql_type, LargeBinary):
        return pl.Binary if exact else None
    return None


def _typed(frame: pl.DataFrame, statement: Select[Any] | TextClause) -> pl.DataFrame:
    """Give every column the type its SQL column declares, whatever the engine returned (or inferred)."""
    if not isinstance(statement, Select):
        return frame
    casts = []
    for column in statement.selected_columns:
        name, target = column.key, _polars_type(column.type)
        if name not in frame.columns or target is None or frame.schema[name] == target:
            continue
        if frame.schema[name] == pl.String and target == pl.Date:
            casts.append(pl.col(name).str.to_date("%Y-%m-%d"))
        elif frame.schema[name] == pl.String and target == pl.Datetime("us"):
            casts.append(pl.col(name).str.to_datetime(time_unit="us", strict=False))
        else:
            casts.append(pl.col(name).cast(target))
    return frame.with_columns(casts) if casts else frame
