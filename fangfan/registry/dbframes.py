"""Canonical frames (fangfan.common.tables) ⇄ database rows of the registry.

One mapping per table, so imports, exports and screening agree on how a file's value is
stored: codes and text as strings ('' for empty), multi-valued codes joined by ';',
money as fen, dates as dates.

Personal data (fangfan.common.pii): a member's ID is stored as its blind index (`id_index`, the
member's key in every frame read from the database) and a cipher written with new rows; a
household's phone as a cipher (`phone_cipher`, read under the name `phone`). Frames read with
`personal=True` (exports) carry the plain numbers; the rules never need them."""
from __future__ import annotations

import json

import polars as pl
from django.conf import settings

from fangfan.common import pii
from fangfan.common.tables import HOUSEHOLDS, INCOMES, MEASURES, MEMBERS, Table
from fangfan.regions.scope import code_range_sql
from fangfan.registry.bulk import child_read_possible, fetch_frame, fetch_frames

DB_JOIN = ";"

# canonical key → database column, per table (only where they differ)
RENAMES = {
    "households": {"household_id": "household_number"},
    "members": {"id_number": "id_index"},
    "incomes": {},
    "measures": {},
}
# Stored encrypted under another name: read as the canonical name (cipher text until opened).
SEALED_COLUMN = {"phone": "phone_cipher"}
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
        if col.kind == "id_number":
            c = _index_expr(c)
        elif col.kind == "multi":
            c = c.list.join(DB_JOIN).fill_null("")
        elif _db_dtype(col.kind) == pl.String:
            c = c.fill_null("")
        exprs.append(c.alias(_db_column(table.name, col.key)))
    if table.name == "members":
        # The plain ID rides along (hidden) for the cipher of the rows that will be inserted.
        exprs += [pl.col("birth_date"), pl.col("sex"), pl.col("id_number").alias(PLAIN_ID)]
    out = frame.select(exprs)
    return out.with_columns(extra_json(frame, extra_columns or []))


PLAIN_ID = "_id_plain"


def _index_expr(column: pl.Expr) -> pl.Expr:
    ring = pii.keyring()
    return column.map_batches(lambda s: pl.Series(s.name, ring.index_all(s.to_list()), dtype=pl.String),
                              return_dtype=pl.String)


def seal(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame of database values about to be written: the hidden plain ID becomes `id_cipher`,
    a plain `phone` becomes `phone_cipher` (only the rows written pay for the encryption)."""
    ring = pii.keyring()
    if PLAIN_ID in frame.columns:
        ciphers = ring.encrypt_all(frame[PLAIN_ID].to_list(), pii.ID_FIELD)
        frame = frame.with_columns(pl.Series("id_cipher", ciphers, dtype=pl.String)).drop(PLAIN_ID)
    for plain, sealed in SEALED_COLUMN.items():
        if plain in frame.columns:
            values = ring.encrypt_all(frame[plain].fill_null("").to_list(), pii.PHONE_FIELD)
            frame = frame.with_columns(pl.Series(plain, values, dtype=pl.String)).rename({plain: sealed})
    return frame


def open_sealed(frame: pl.DataFrame) -> pl.DataFrame:
    """The plain phones of a frame read from the database (ciphers under the name `phone`)."""
    ring = pii.keyring()
    for plain in SEALED_COLUMN:
        if plain in frame.columns:
            values = ring.decrypt_all(frame[plain].fill_null("").to_list(), pii.PHONE_FIELD)
            frame = frame.with_columns(pl.Series(plain, values, dtype=pl.String))
    return frame


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
    def one(c: str) -> str:
        if c == "extra" or c in dates:
            return f"CAST({alias}.{c} AS TEXT) AS {c}"
        if c in SEALED_COLUMN:
            return f"{alias}.{SEALED_COLUMN[c]} AS {c}"
        return f"{alias}.{c}"

    return ", ".join(one(c) for c in cols)


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


def _households_in(prefix: str) -> int:
    clause, params = _region_clause(prefix, "h.village_code")
    return fetch_frame(f"SELECT count(*) AS n FROM registry_household h{clause}", params, {"n": pl.Int64}).item()


def read_tables_for(household_numbers: list[str]) -> dict[str, pl.DataFrame]:
    """Canonical frames of a few named households (a case, a page)."""
    placeholders = ", ".join(["%s"] * len(household_numbers))
    return read_tables(where=(f"h.household_number IN ({placeholders})", list(household_numbers)))


def read_tables(
    prefix: str = "", tables: tuple[str, ...] = TABLE_NAMES, where: tuple[str, list] | None = None,
    personal: bool = False,
) -> dict[str, pl.DataFrame]:
    """The registry (or a region's subtree by code prefix) as canonical frames, sorted by key.
    Members' `id_number` is the blind index and households have no phone, unless `personal`
    (an export: the plain numbers, decrypted)."""
    spec = {"households": HOUSEHOLDS, "members": MEMBERS, "incomes": INCOMES, "measures": MEASURES}
    queries = []
    for name in tables:
        table = spec[name]
        schema = db_schema(table)
        cols = db_columns(table) + ["extra"]
        if not personal:
            cols = [c for c in cols if c not in SEALED_COLUMN]
            schema = {c: t for c, t in schema.items() if c not in SEALED_COLUMN}
        elif name == "members":
            cols.append("id_cipher")
            schema = {**schema, "id_cipher": pl.String}
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
        queries.append((sql, params, schema))
    # A region of many households in a SQLite file: read by child processes (bulk.fetch_frames).
    in_children = where is None and child_read_possible() and _households_in(prefix) >= settings.CHILD_READ_HOUSEHOLDS
    out: dict[str, pl.DataFrame] = {}
    for name, fetched in zip(tables, fetch_frames(queries, in_children=in_children)):
        table = spec[name]
        frame = normalise_extra(fetched)
        if personal:
            frame = open_sealed(frame)
            if name == "members":
                plain = pii.keyring().decrypt_all(frame["id_cipher"].to_list(), pii.ID_FIELD)
                frame = frame.with_columns(pl.Series("id_index", plain, dtype=pl.String)).drop("id_cipher")
        canonical = from_db_frame(table, frame)
        out[name] = canonical.sort(list(table.key)) if canonical.height else canonical
    return out
