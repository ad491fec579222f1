"""What every report shares: its result type, exact percentages and yuan, the village → township →
county roll-up. A report is a list of tables; a table is a Polars frame whose columns are already
the Chinese headers of the download, so the page, the XLSX, the CSV, the API and the tests read
the same cells."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

LEVELS = ((6, "county", "县"), (9, "township", "乡镇"), (12, "village", "村"))
CODE, NAME = "区划代码", "名称"


@dataclass
class ReportTable:
    key: str
    title: str
    frame: pl.DataFrame
    note: str = ""

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def rows(self) -> list[tuple]:
        return self.frame.rows()


@dataclass
class Report:
    name: str
    title: str
    place_name: str
    prefix: str
    as_of: dt.date
    tables: list[ReportTable] = field(default_factory=list)
    basis: str = ""  # the data used (income years, period, parameters), printed under the title

    def table(self, key: str) -> ReportTable:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


def pct(n: pl.Expr, d: pl.Expr) -> pl.Expr:
    """n ÷ d as a percentage text with two decimals, rounded half-up, exact (integers only); "—"
    when d is 0."""
    bp = (n.cast(pl.Int64) * 20000 + d.cast(pl.Int64)) // (2 * d.cast(pl.Int64))
    text = (bp // 100).cast(pl.String) + "." + (bp % 100).cast(pl.String).str.zfill(2) + "%"
    return pl.when(d > 0).then(text).otherwise(pl.lit("—"))


def pct_value(n: int, d: int) -> str:
    if d <= 0:
        return "—"
    bp = (n * 20000 + d) // (2 * d)
    return f"{bp // 100}.{bp % 100:02d}%"


def yuan(fen: pl.Expr) -> pl.Expr:
    """Integer fen as yuan text with two decimals (negative amounts keep their sign)."""
    a = fen.abs()
    text = (a // 100).cast(pl.String) + "." + (a % 100).cast(pl.String).str.zfill(2)
    return pl.when(fen.is_null()).then(None).when(fen < 0).then("-" + text).otherwise(text)


def yes_no(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.fill_null(False)).then(pl.lit("是")).otherwise(pl.lit("否"))


def levels_for(prefix: str) -> list[tuple[int, str, str]]:
    """The roll-up levels shown for a region: its own level and those below (a city or province
    sees its counties, townships and villages)."""
    return [lv for lv in LEVELS if lv[0] >= len(prefix)]


def full_code(part: pl.Expr) -> pl.Expr:
    return part.str.pad_end(12, "0")


def rollup(frame: pl.DataFrame, aggs: list[pl.Expr], digits: int, names: dict[str, str],
           regions: pl.Series | None = None) -> pl.DataFrame:
    """Group a frame with `village_code` by the first `digits` digits: 区划代码, 名称, then `aggs`.
    `regions` (12-digit codes) adds the regions on record that have no row, with zero counts."""
    keyed = frame.with_columns(full_code(pl.col("village_code").str.slice(0, digits)).alias(CODE))
    out = keyed.group_by(CODE).agg(aggs)
    if regions is not None and regions.len():
        present = pl.DataFrame({CODE: regions.unique()})
        out = present.join(out, on=CODE, how="left")
        fill = {c: 0 for c, t in out.schema.items() if c != CODE and t.is_integer()}
        out = out.with_columns([pl.col(c).fill_null(v) for c, v in fill.items()])
    out = out.with_columns(pl.col(CODE).replace_strict(names, default="", return_dtype=pl.String).alias(NAME))
    return out.sort(CODE).select(CODE, NAME, *[c for c in out.columns if c not in (CODE, NAME)])


def region_codes(snapshot, level: str) -> pl.Series:
    return snapshot.regions.filter(pl.col("level") == level).get_column("code")
