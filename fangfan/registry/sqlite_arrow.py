"""A SQLite registry read straight into Arrow by the ADBC SQLite driver, in a child process.

Why a child: the driver carries its own copy of the SQLite library, and two copies in one
process corrupt a database — closing a file in one copy drops the POSIX locks the other copy
holds on it (sqlite.org/howtocorrupt.html §2.2.1; seen here as "database disk image is
malformed" after a killed screening and its rerun). A child only reads, as any other process
may, its queries in one read transaction, and hands the tables back as an Arrow IPC stream on its
standard output. fetch_tables gives each query a child of its own (each its own snapshot, as
Django's autocommit reads are). Django-free, so that a child starts quickly.

    python -m fangfan.registry.sqlite_arrow   < {"path": ..., "queries": [[sql, [params]], ...]}
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

# Rows per Arrow batch: the driver infers each column's type from the first batch and fails on
# a later value of another type (a column NULL throughout the first batch is taken as an
# integer), so the first batch holds every row of any read up to this size.
BATCH_ROWS = 1 << 22
MMAP_BYTES = 1 << 30


def _serve(request: dict, out) -> None:
    # The driver's own API, not its DB-API module (that one imports pandas: 0.3 s of start-up).
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite
    import pyarrow as pa

    with (
        adbc_driver_sqlite.connect(request["path"]) as database,
        adbc.AdbcConnection(database) as conn,
    ):
        conn.set_autocommit(False)  # one read transaction: every query sees the same snapshot

        def run(sql: str, params: list | None = None) -> pa.Table:
            with adbc.AdbcStatement(conn) as statement:
                statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
                statement.set_sql_query(sql)
                if params:
                    batch = pa.record_batch([_param(pa, v) for v in params], names=[str(i) for i in range(len(params))])
                    statement.bind(batch)
                stream, _ = statement.execute_query()
                return pa.RecordBatchReader.from_stream(stream).read_all()

        run(f"PRAGMA mmap_size = {MMAP_BYTES}")  # as registry.bulk does for Django's connection
        for sql, params in request["queries"]:
            table = run(sql, params)
            with pa.ipc.new_stream(out, table.schema) as writer:
                writer.write_table(table)
        conn.rollback()
    out.flush()


def _param(pa, value):
    """A one-value Arrow array, built from its buffers: pa.array() of Python values imports
    pandas on first use (0.2 s of every child's start-up)."""
    if value is None:
        return pa.nulls(1)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(struct.pack("<q", value))])
    if isinstance(value, float):
        return pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(struct.pack("<d", value))])
    data = str(value).encode()
    return pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(struct.pack("<ii", 0, len(data))), pa.py_buffer(data)])


def fetch_tables(path: Path, queries: list[tuple[str, list]]):
    """The results of `queries` (SQL with ? placeholders, parameters as SQLite takes them) as
    Arrow tables, or None when a child cannot give them (driver missing, a column whose type it
    cannot infer, a locked file): the caller then reads through its own connection. One child
    per query, all at once: the two cores each read a table (a county's members take as long as
    its other tables together)."""
    import pyarrow as pa

    children = []
    try:
        for sql, params in queries:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            children.append(child)
            child.stdin.write(json.dumps({"path": str(path), "queries": [[sql, list(params)]]}).encode())
            child.stdin.close()
        outputs = []
        for child in children:  # each writes into its own pipe meanwhile
            outputs.append(child.stdout.read())
            child.stdout.close()
            child.wait()
    except OSError:  # a child that could not start, or died before reading its query
        for child in children:
            child.kill()
            child.wait()
        return None
    if any(child.returncode != 0 for child in children):
        return None
    try:
        return [pa.ipc.open_stream(pa.BufferReader(output)).read_all() for output in outputs]
    except pa.ArrowInvalid:
        return None


if __name__ == "__main__":
    _serve(json.load(sys.stdin), sys.stdout.buffer)
