"""Rewriting a column of millions of rows in batches by primary key, one statement per batch.

Used by the key rotation (fangfan.ops.keys) and by the data steps of the migrations that
encrypted the personal data: Django's bulk_update writes `SET c = CASE WHEN id = 1 THEN ... END`,
whose size and planning cost grow with the batch (about 10× slower on a million members).

Here PostgreSQL gets `UPDATE t SET c = v.c FROM unnest(%s::bigint[], %s::text[]) AS v(...)`
(two parameters whatever the batch size: the protocol's 65,535-parameter limit never bites) and
SQLite an executemany of `UPDATE t SET c = ? WHERE id = ?` (one prepared statement, no network).
Functions take the connection (a migration passes schema_editor.connection); no Django imports."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence


def walk(connection, *, table: str, columns: Sequence[str], batch: int, pk: str = "id", where: str = "",
         params: Sequence = (), after: int = 0) -> Iterator[list[tuple]]:
    """Batches of (pk, *columns) in primary-key order (integer keys above `after`), each read
    after the caller has handled the previous one; `where` is an extra SQL condition with %s
    `params`. Walking the key keeps each read an index range scan, whatever was already rewritten."""
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in columns)
    extra = f" AND ({where})" if where else ""
    sql = f"SELECT {q(pk)}, {cols} FROM {q(table)} WHERE {q(pk)} > %s{extra} ORDER BY {q(pk)} LIMIT %s"
    last = after
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, *params, batch])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def update_by_pk(connection, *, table: str, columns: Sequence[str], rows: Sequence[Sequence], pk: str = "id",
                 guard: str | None = None, casts: Mapping[str, str] | None = None) -> int:
    """Set `columns` of the rows whose key is each row's first value: rows are
    (pk, *values[, old value of `guard`]). With `guard`, a row is written only if that column still
    holds the old value (a value changed by someone else meanwhile is left alone). `casts` gives
    PostgreSQL types other than text (e.g. {"before": "jsonb"}). Returns the rows written."""
    if not rows:
        return 0
    q = connection.ops.quote_name
    casts = casts or {}
    if connection.vendor == "postgresql":
        names = ["k", *(f"c{i}" for i in range(len(columns)))] + (["g"] if guard else [])
        arrays = ", ".join(["%s::bigint[]", *["%s::text[]"] * (len(names) - 1)])
        sets = ", ".join(
            f"{q(c)} = v.c{i}" + (f"::{casts[c]}" if c in casts else "") for i, c in enumerate(columns)
        )
        check = f" AND t.{q(guard)} = v.g" if guard else ""
        # The key range of the batch: the planner reads only that slice of the table (by the
        # primary key index) instead of hashing all of it for every batch.
        sql = (f"UPDATE {q(table)} AS t SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}) "
               f"WHERE t.{q(pk)} = v.k AND t.{q(pk)} BETWEEN %s AND %s{check}")
        keys = [r[0] for r in rows]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*(list(values) for values in zip(*rows)), min(keys), max(keys)])
            return cursor.rowcount
    sets = ", ".join(f"{q(c)} = %s" for c in columns)
    check = f" AND {q(guard)} = %s" if guard else ""
    sql = f"UPDATE {q(table)} SET {sets} WHERE {q(pk)} = %s{check}"
    width = len(columns)
    # (values..., pk[, old]) in the statement's order
    ordered = [(*r[1 : 1 + width], r[0], *r[1 + width :]) for r in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, ordered)
        return cursor.rowcount
