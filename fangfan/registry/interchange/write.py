"""Canonical frames (fangfan.common.tables) → interchange files with Chinese headers.

The output is deterministic (rows sorted by each table's key, fixed formats), so
export → import → export gives identical files.

Formulas (CSV/XLSX injection, fangfan.common.safe): the XLSX workbook writes every cell, headers
included, as a text cell with formulas and links off, so `=HYPERLINK(...)` in a name is shown, never
run. The CSV files are exempt from the quote that people's CSV exports get: they are the
machine-readable interchange format (data.md) that fangfan and other systems read back, and a
quote would change the data — a phone "+8613800000000" or a name "-李" would come back with
an apostrophe, and export → import → export would no longer be identical. To look at the data
in Excel, export the .xlsx (tests/registry/test_hostile_import.py checks both)."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from fangfan.common.safe import XLSX_OPTIONS
from fangfan.common.tables import TABLES, Column, Table

MULTI_JOIN = ";"


def _text_expr(col: Column) -> pl.Expr:
    c = pl.col(col.key)
    if col.kind == "code":
        labels = dict(col.codelist.items)
        return c.replace_strict(labels, default=None, return_dtype=pl.String).fill_null("")
    if col.kind == "multi":
        labels = dict(col.codelist.items)
        return (
            c.list.eval(pl.element().replace_strict(labels, default=None, return_dtype=pl.String))
            .list.join(MULTI_JOIN)
            .fill_null("")
        )
    if col.kind == "bool":
        return pl.when(c.is_null()).then(pl.lit("")).when(c).then(pl.lit("是")).otherwise(pl.lit("否"))
    if col.kind == "date":
        return c.dt.strftime("%Y-%m-%d").fill_null("")
    if col.kind == "money":
        sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        a = c.abs()
        return pl.when(c.is_null()).then(pl.lit("")).otherwise(
            pl.concat_str(
                [sign, (a // 100).cast(pl.String), pl.lit("."), (a % 100).cast(pl.String).str.zfill(2)]
            )
        )
    if col.kind in ("int", "year"):
        return c.cast(pl.String).fill_null("")
    return c.cast(pl.String).fill_null("")


def to_text_frame(table: Table, frame: pl.DataFrame, extra_columns: list[str] | None = None) -> pl.DataFrame:
    """Typed canonical frame → all-string frame with Chinese headers, sorted by the table key."""
    sort_keys = [k for k in table.key if k in frame.columns]
    frame = frame.sort(sort_keys) if sort_keys and frame.height else frame
    exprs = [_text_expr(col).alias(col.zh) for col in table.columns if col.key in frame.columns]
    exprs += [pl.col(name).cast(pl.String).fill_null("") for name in (extra_columns or []) if name in frame.columns]
    return frame.select(exprs)


# Derived columns of canonical frames that are not file columns.
_DERIVED = {"birth_date", "sex"}


def _extra_columns(table: Table, frame: pl.DataFrame) -> list[str]:
    """Unknown columns a file brought in (kept, data.md): written back after the known ones."""
    known = set(table.keys) | _DERIVED
    return sorted(c for c in frame.columns if c not in known and not c.startswith("_"))


def write_tables(tables: dict[str, pl.DataFrame], out: Path, fmt: str | None = None) -> list[Path]:
    """Write canonical frames as CSV files in folder `out` (UTF-8, no BOM) or, when `out` ends in
    .xlsx (or fmt == 'xlsx'), one workbook with one sheet per table named in Chinese."""
    out = Path(out)
    fmt = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    ordered = [(name, tables[name]) for name in TABLES if name in tables]
    if fmt == "xlsx":
        import xlsxwriter

        out.parent.mkdir(parents=True, exist_ok=True)
        with xlsxwriter.Workbook(str(out), {"constant_memory": True, **XLSX_OPTIONS}) as wb:
            text_fmt = wb.add_format({"num_format": "@"})
            for name, frame in ordered:
                text = to_text_frame(TABLES[name], frame, _extra_columns(TABLES[name], frame))
                ws = wb.add_worksheet(TABLES[name].zh)
                for c, header in enumerate(text.columns):  # an extra column's header is the file's text
                    ws.write_string(0, c, header)
                for r, row in enumerate(text.iter_rows(), start=1):
                    for c, value in enumerate(row):
                        ws.write_string(r, c, value, text_fmt)
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in ordered:
        path = out / f"{name}.csv"
        to_text_frame(TABLES[name], frame, _extra_columns(TABLES[name], frame)).write_csv(path)
        written.append(path)
    return written
