"""Canonical frames (fangfan.common.tables) ⇄ database rows of the registry.

One mapping per table, so imports, exports and screening agree on how a file's value is
stored: codes and text as strings ('' for empty), multi-valued codes joined by ';',
money as fen, dates as dates."""
from __future__ import annotations

import json

import polars as pl

from fangfan.common.tables import HOUSEHOLDS, INCOMES, MEASURES, MEMBERS, Table
from fangfan.regions.scope import code_range_sql
from fangfan.registry.bulk import fetch_frame

DB_JOIN = ";"

# canonical key → database column, per table (only where they differ)
RENAMES = {
    "households": {"household_id": "household_number"},
    "members": {},
    "incomes": {},
    "measures": {},
}
DB_TABLE = {
    "households": "registry_household",
    "members": "registry_member",
    "incomes": "registry_incomeyear",
    "measures": "registry_measure",
}


def _db_column(table: str, key: str) -> str:
    return RENAMES[table].get(key, key)


def db_columns(table: Table) -> list[str]:
    """Database columns that hold file values (in file order), without the household link."""
    skip = {"household_id"} if table.name != "households" else set()
    cols = [_db_column(table.name, c.key) for c in table.columns if c.key not in skip]
    if table.name == "members":
        cols += ["birth_date", "sex"]
    return cols


def _db_dtype(kind: str) -> pl.DataType:
    return {"bool": pl.Boolean, "date": pl.Date, "money": pl.Int64, "int": pl.Int64, "year": pl.Int64}.get(kind, pl.String)


def db_schema(table: Table) -> dict[str, pl.DataType]:
    schema = {_db_column(table.name, c.key): _db_dtype(c.kind) for c in table.columns}
    if table.name == "members":
        schema.update({"birth_date": pl.Date, "sex": pl.String})
    schema["extra"] = pl.String
    return schema


def extra_json(frame: pl.DataFrame, extra_columns: list[str]) -> pl.Series:
    """Unknown columns of a file, kept as a JSON object per row (sorted keys, empty cells left out)."""
    if not extra_columns:
        return pl.Series("extra", ["{}"] * frame.height, dtype=pl.String)
    values = []
    for row in frame.select(extra_columns).iter_rows(named=True):
        kept = {k: v for k, v in row.items() if v not in (None, "")}
        values.append(json.dumps(kept, ensure_ascii=False, sort_keys=True))
    return pl.Series("extra", values, dtype=pl.String)


def to_db_frame(table: Table, frame: pl.DataFrame, extra_columns: list[str] | None = None) -> pl.DataFrame:
    """Canonical frame → frame of database values (column names of the database)."""
    exprs = []
    for col in table.columns:
        if col.key not in frame.columns or (col.key == "household_id" and table.name != "households"):
            continue
        c = pl.col(col.key)
        if col.kind == "multi":
            c = c.list.join(DB_JOIN).fill_null("")
        elif _db_dtype(col.kind) == pl.String:
            c = c.fill_null("")
        exprs.append(c.alias(_db_column(table.name, col.key)))
    if table.name == "members":
        exprs += [pl.col("birth_date"), pl.col("sex")]
    out = frame.select(exprs)
    return out.with_columns(extra_json(frame, extra_columns or []))


def from_db_frame(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Frame of database values → canonical frame (plus unknown columns expanded from `extra`)."""
    exprs = []
    for col in table.columns:
        name = _db_column(table.name, col.key)
        if name not in frame.columns:
            continue
        c = pl.col(name)
        if col.kind == "multi":
            c = pl.when(c == "").then(pl.lit([], dtype=pl.List(pl.String))).otherwise(c.str.split(DB_JOIN))
        elif _db_dtype(col.kind) == pl.String:
            c = pl.when(c == "").then(None).otherwise(c)
        exprs.append(c.alias(col.key))
    if table.name == "members":
        exprs += [pl.col("birth_date"), pl.col("sex")]
    out = frame.select(exprs)
    if "extra" in frame.columns:
        # Most rows have no unknown columns ("{}"): only the others are parsed (json.loads of every
        # row was most of the time a screening spent reading a county).
        rows = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), "extra").filter(
            pl.col("extra").is_not_null() & (pl.col("extra") != "") & (pl.col("extra") != "{}")
        )
        extras = [json.loads(v) for v in rows["extra"].to_list()]
        names = sorted({k for e in extras for k in e})
        if names:
            positions = rows["row"]
            for name in names:
                # Values the workflows put there (a measure's plan id, green_channel) are not text.
                values = [None if (v := e.get(name)) is None else v if isinstance(v, str) else json.dumps(v)
                          for e in extras]
                column = pl.Series(name, [None] * frame.height, dtype=pl.String).scatter(
                    positions, pl.Series(name, values, dtype=pl.String)
                )
                out = out.with_columns(column)
    return out


def select_list(alias: str, cols: list[str], dates: frozenset[str] | set[str] = frozenset()) -> str:
    # JSON as text on both databases; normalise_extra makes the text canonical. Dates in `dates` are
    # read as ISO text (both databases write YYYY-MM-DD): the SQLite driver would otherwise parse each
    # one in Python, Polars parses the column at once.
    return ", ".join(
        f"CAST({alias}.{c} AS TEXT) AS {c}" if c == "extra" or c in dates else f"{alias}.{c}" for c in cols
    )


def normalise_extra(frame: pl.DataFrame) -> pl.DataFrame:
    """PostgreSQL's jsonb text and Python's json.dumps differ in spacing and key order."""
    if "extra" not in frame.columns or frame.height == 0:
        return frame
    extra = pl.col("extra")
    if frame.select((extra.is_null() | (extra == "{}")).all()).item():
        return frame.with_columns(extra.fill_null("{}"))
    # Only the rows that hold something are re-encoded.
    empty = extra.is_null() | (extra == "{}")
    rows = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), "extra").filter(~empty)
    fixed = [json.dumps(json.loads(v), ensure_ascii=False, sort_keys=True) for v in rows["extra"].to_list()]
    column = frame["extra"].fill_null("{}").scatter(rows["row"], pl.Series("extra", fixed, dtype=pl.String))
    return frame.with_columns(column)


def _region_clause(prefix: str, column: str) -> tuple[str, list]:
    sql, params = code_range_sql(column, prefix)
    return (f" WHERE {sql}" if sql else ""), params


TABLE_NAMES = ("households", "members", "incomes", "measures")


def read_tables_for(household_numbers: list[str]) -> dict[str, pl.DataFrame]:
    """Canonical frames of a few named households (a case, a page)."""
    placeholders = ", ".join(["%s"] * len(household_numbers))
    return read_tables(where=(f"h.household_number IN ({placeholders})", list(household_numbers)))


def read_tables(
    prefix: str = "", tables: tuple[str, ...] = TABLE_NAMES, where: tuple[str, list] | None = None
) -> dict[str, pl.DataFrame]:
    """The registry (or a region's subtree by code prefix) as canonical frames, sorted by key."""
    out: dict[str, pl.DataFrame] = {}
    spec = {"households": HOUSEHOLDS, "members": MEMBERS, "incomes": INCOMES, "measures": MEASURES}
    for name in tables:
        table = spec[name]
        schema = db_schema(table)
        cols = db_columns(table) + ["extra"]
        dates = {c for c, t in schema.items() if t == pl.Date}
        clause, params = (f" WHERE {where[0]}", where[1]) if where else _region_clause(prefix, "h.village_code")
        if name == "households":
            sql = f"SELECT {select_list('h', cols, dates)} FROM registry_household h{clause}"
        else:
            sql = (
                f"SELECT h.household_number AS household_id, {select_list('t', cols, dates)} "
                f"FROM {DB_TABLE[name]} t JOIN registry_household h ON h.id = t.household_id{clause}"
            )
            schema = {**schema, "household_id": pl.String}
        canonical = from_db_frame(table, normalise_extra(fetch_frame(sql, params, schema)))
        out[name] = canonical.sort(list(table.key)) if canonical.height else canonical
    return out
