"""The three-colour view (三色预警; 篇十四 (一), rules.md 'Three-colour warning') for the 县民政局:
the red, orange and yellow lists of a month with the reason of each colour, the counts month by
month, and the transitions between two months.

Read from the stored screening results (ScreeningResult.warning_color): a household's colour in a
month is the colour of its LATEST result of that month (a later result without a colour means
none, whatever an earlier one said). A household with no result in a month counts as none there.
Everything is computed in bulk: one SQL read per request into Polars, then group-bys and joins;
the parameters behind a reason (L, the orange multiplier) are resolved once per (village, date),
not per household.

Scope (roles.md): 县民政局 (low-income reports) and 县乡村振兴局 (all county reports) their county,
乡镇 its own villages, 市/省 below them; villages, departments and administrators none."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import role_of
from fangfan.common.dates import add_months
from fangfan.common.money import format_yuan
from fangfan.lowincome.services import LowIncomeError
from fangfan.regions.scope import code_range_q, code_range_sql, prefix_for

READERS = frozenset({Role.COUNTY_CA, Role.COUNTY_RR, Role.TOWNSHIP, Role.CITY, Role.PROVINCE})
COLOURS = ("red", "orange", "yellow")
STATES = (*COLOURS, "none")
LABEL = {"red": "红色", "orange": "橙色", "yellow": "黄色", "none": "无"}
_SCHEMA = {"hid": pl.Int64, "number": pl.String, "village_code": pl.String, "as_of": pl.Date, "colour": pl.String,
           "pcd": pl.Int64, "elimination": pl.String}


def may_read(actor) -> bool:
    return role_of(actor) in READERS


def scope_prefix(actor, township: str = "") -> str | None:
    """The code prefix the view covers: the actor's scope, narrowed to a township when one is asked
    for (a township outside the scope gives None: nothing). Bad input is a Chinese error."""
    if not may_read(actor):
        return None
    prefix = prefix_for(actor)
    if prefix is None:
        return None
    township = (township or "").strip()
    if not township:
        return prefix
    if not township.isdigit() or len(township) not in (9, 12):
        raise LowIncomeError(f"乡镇代码 {township!r} 无效: 应为 9 位或 12 位数字 (如 341225103 或 341225103000)")
    wanted = township[:9]
    if wanted.startswith(prefix):
        return wanted
    return prefix if prefix.startswith(wanted) else None


def _month(day: dt.date) -> dt.date:
    if not 1900 <= day.year <= 9998:
        raise LowIncomeError(f"月份 {day:%Y-%m} 超出范围 (1900-9998 年)")
    return day.replace(day=1)


def colour_months(*, actor, township: str = "") -> list[dt.date]:
    """The months (first days, newest first) with stored results in scope."""
    from fangfan.screening.models import ScreeningResult

    prefix = scope_prefix(actor, township)
    if prefix is None:
        return []
    return list(ScreeningResult.objects.filter(code_range_q("household__village_id", prefix))
                .dates("as_of", "month", order="DESC"))


def latest_of_months(prefix: str, months: list[dt.date]) -> pl.DataFrame:
    """One row per (household, month) for the given months: the household's latest result of the
    month. Columns: hid, number, village_code, as_of, month, colour ('' = none), pcd (fen), elimination."""
    from fangfan.registry.bulk import fetch_frame

    months = sorted({m.replace(day=1) for m in months})
    if not months:
        return pl.DataFrame(schema={**_SCHEMA, "month": pl.Date})
    where, params = code_range_sql("h.village_code", prefix)
    ranges = " OR ".join(["(r.as_of >= %s AND r.as_of < %s)"] * len(months))
    dates = [d for m in months for d in (m, add_months(m, 1))]
    frame = fetch_frame(
        "SELECT r.household_id AS hid, h.household_number AS number, h.village_code, r.as_of, "
        "r.warning_color AS colour, r.per_capita_dibao_income AS pcd, r.elimination "
        "FROM screening_screeningresult r JOIN registry_household h ON h.id = r.household_id "
        f"WHERE ({ranges})" + (f" AND {where}" if where else ""),
        [*dates, *params], _SCHEMA)
    return (frame.with_columns(pl.col("as_of").dt.truncate("1mo").alias("month"),
                               pl.col("colour").fill_null(""), pl.col("elimination").fill_null(""))
            .sort("as_of", "hid").group_by("hid", "month", maintain_order=True).last())


def _yuan(column: str) -> pl.Expr:
    """fen → 'yuan.fen' as format_yuan writes it, for a whole column (no per-row Python)."""
    c = pl.col(column)
    return (pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
            + (c.abs() // 100).cast(pl.String) + pl.lit(".")
            + (c.abs() % 100).cast(pl.String).str.zfill(2))


def _with_reasons(frame: pl.DataFrame) -> pl.DataFrame:
    """The reason of each colour (rules.md), with the 低保 line and orange multiplier as they applied
    on the result's date in the household's village (resolved once per distinct village and date)."""
    from fangfan.screening.parameters import current_parameters

    params = current_parameters()
    pairs = frame.filter(pl.col("colour").is_in(["red", "orange"])).select("village_code", "as_of").unique()
    rows = []
    for code, on in pairs.iter_rows():
        line = params.get("dibao.line_rural_year", code, on)
        mult = params.get("warning.orange_multiplier", code, on)
        line_fen = None if line is None or line.value is None else int(Decimal(str(line.value)) * 100)
        mult_text = None if mult is None or mult.value is None else f"{Decimal(str(mult.value)).normalize():f}"
        upper = None if line_fen is None or mult_text is None else int(Decimal(mult_text) * line_fen)
        rows.append((code, on, line_fen, mult_text, upper))
    lines = pl.DataFrame(rows, schema={"village_code": pl.String, "as_of": pl.Date, "line": pl.Int64,
                                       "mult": pl.String, "upper": pl.Int64}, orient="row")
    frame = frame.join(lines, on=["village_code", "as_of"], how="left")
    pcd, line, upper = _yuan("pcd"), _yuan("line"), _yuan("upper")
    red = pl.lit("突发严重困难 (M2), 且低保口径人均收入 ") + pcd + pl.lit(" 元 ≥ 低保标准 ") + line + pl.lit(" 元 (尚未达到低保条件)")
    orange = (pl.lit("低保标准 ") + line + pl.lit(" 元 ≤ 低保口径人均收入 ") + pcd + pl.lit(" 元 < ") + pl.col("mult")
              + pl.lit(" × 低保标准 = ") + upper + pl.lit(" 元"))
    reason = (pl.when(pl.col("colour") == "red").then(red.fill_null(pl.lit("突发严重困难 (M2), 且低保口径人均收入不低于低保标准")))
              .when(pl.col("colour") == "orange").then(orange.fill_null(pl.lit("低保口径人均收入在低保标准与橙色预警倍数之间")))
              .when((pl.col("colour") == "yellow") & (pl.col("elimination") != ""))
              .then(pl.lit("监测对象 (风险未消除)"))
              .when(pl.col("colour") == "yellow").then(pl.lit("曾享受低保、特困 (已退出)"))
              .otherwise(pl.lit("")))
    return frame.with_columns(reason.alias("reason")).drop("line", "mult", "upper")


def _names(frame: pl.DataFrame) -> pl.DataFrame:
    """Head, village and township names for the listed households (chunked bulk reads)."""
    from fangfan.regions.models import Region
    from fangfan.registry.models import Member

    hids = frame["hid"].to_list()
    heads: dict[int, str] = {}
    for i in range(0, len(hids), 2000):
        for hid, name in (Member.objects.filter(household_id__in=hids[i:i + 2000], relation="head")
                          .order_by("household_id", "-status", "id").values_list("household_id", "name")):
            heads.setdefault(hid, name)
    codes = sorted(set(frame["village_code"].to_list()) | {c[:9].ljust(12, "0") for c in frame["village_code"].to_list()})
    names: dict[str, str] = {}
    for i in range(0, len(codes), 2000):
        names.update(Region.objects.filter(code__in=codes[i:i + 2000]).values_list("code", "name"))
    head_frame = pl.DataFrame({"hid": list(heads), "head": list(heads.values())},
                              schema={"hid": pl.Int64, "head": pl.String})
    name_frame = pl.DataFrame({"code": list(names), "name": list(names.values())},
                              schema={"code": pl.String, "name": pl.String})
    return (frame.with_columns((pl.col("village_code").str.slice(0, 9) + pl.lit("000")).alias("township_code"))
            .join(head_frame, on="hid", how="left")
            .join(name_frame.rename({"code": "village_code", "name": "village"}), on="village_code", how="left")
            .join(name_frame.rename({"code": "township_code", "name": "township"}), on="township_code", how="left")
            .with_columns(pl.col("head", "village", "township").fill_null("")))


def colour_lists(*, actor, month: dt.date, colour: str = "", township: str = "") -> dict:
    """The month's red/orange/yellow households (each with its reason) and the counts per colour.
    `rows` is a list of dicts ordered by colour (red first), village, household number."""
    if colour and colour not in COLOURS:
        raise LowIncomeError(f"颜色 {colour!r} 无效: 应为 red (红)、orange (橙) 或 yellow (黄)")
    month = _month(month)
    prefix = scope_prefix(actor, township)
    empty = {"month": month, "counts": {c: 0 for c in COLOURS}, "screened": 0, "rows": []}
    if prefix is None:
        return empty
    frame = latest_of_months(prefix, [month])
    counts = dict(frame.filter(pl.col("colour") != "").group_by("colour").len().iter_rows())
    coloured = frame.filter(pl.col("colour").is_in([colour] if colour else list(COLOURS)))
    order = {c: i for i, c in enumerate(COLOURS)}
    coloured = (_names(_with_reasons(coloured))
                .with_columns(pl.col("colour").replace_strict(order, return_dtype=pl.Int8).alias("rank"))
                .sort("rank", "village_code", "number").drop("rank"))
    rows = [{**r, "colour_label": LABEL[r["colour"]], "pcd_yuan": None if r["pcd"] is None else format_yuan(r["pcd"])}
            for r in coloured.select("number", "head", "village_code", "village", "township_code", "township",
                                     "colour", "reason", "as_of", "pcd").iter_rows(named=True)]
    return {"month": month, "counts": {c: int(counts.get(c, 0)) for c in COLOURS}, "screened": frame.height,
            "rows": rows}


def _states(frame: pl.DataFrame, month: dt.date, alias: str) -> pl.DataFrame:
    return (frame.filter(pl.col("month") == month)
            .select("hid", "number", pl.when(pl.col("colour") == "").then(pl.lit("none"))
                    .otherwise(pl.col("colour")).alias(alias)))


def _pairs(frame: pl.DataFrame, first: dt.date, second: dt.date) -> pl.DataFrame:
    """hid, number, from, to for every household with a result in either month (none where missing)."""
    a, b = _states(frame, first, "from"), _states(frame, second, "to")
    return (a.join(b, on="hid", how="full", coalesce=True)
            .with_columns(pl.coalesce("number", "number_right").alias("number"),
                          pl.col("from", "to").fill_null("none"))
            .drop("number_right"))


def colour_transitions(*, actor, first: dt.date, second: dt.date, township: str = "") -> dict:
    """The 4 × 4 matrix of households moving colour → colour from month `first` to month `second`
    (none included), each cell with its count and its household numbers (sorted). none → none is
    counted but not listed: it is every household never flagged in either month."""
    first, second = _month(first), _month(second)
    if first == second:
        raise LowIncomeError("比较的两个月份相同: 请选择两个不同的月份")
    prefix = scope_prefix(actor, township)
    cells = {(f, t): {"from": f, "to": t, "count": 0, "households": [] if (f, t) != ("none", "none") else None}
             for f in STATES for t in STATES}
    if prefix is not None:
        pairs = _pairs(latest_of_months(prefix, [first, second]), first, second)
        grouped = pairs.group_by("from", "to").agg(pl.len().alias("count"), pl.col("number").sort().alias("numbers"))
        for f, t, count, numbers in grouped.iter_rows():
            cell = cells[(f, t)]
            cell["count"] = int(count)
            if cell["households"] is not None:
                cell["households"] = list(numbers)
    return {"from": first, "to": second, "states": STATES, "cells": list(cells.values()),
            "matrix": [[cells[(f, t)]["count"] for t in STATES] for f in STATES]}


def colour_by_month(*, actor, months: list[dt.date], township: str = "") -> list[dict]:
    """Month by month (oldest first): households screened, per colour, and how many changed state
    since the previous month of the list (entered / left each colour)."""
    prefix = scope_prefix(actor, township)
    months = sorted({_month(m) for m in months})
    if prefix is None or not months:
        return []
    frame = latest_of_months(prefix, months)
    counts = {(m, c): n for m, c, n in frame.group_by("month", "colour").len().iter_rows()}
    screened = dict(frame.group_by("month").len().iter_rows())
    out = []
    for i, month in enumerate(months):
        row = {"month": month, "screened": int(screened.get(month, 0)),
               "counts": {c: int(counts.get((month, c), 0)) for c in COLOURS}, "previous": None}
        if i:
            pairs = _pairs(frame, months[i - 1], month).filter(pl.col("from") != pl.col("to"))
            row["previous"] = months[i - 1]
            row["changed"] = pairs.height
            row["entered"] = {c: pairs.filter(pl.col("to") == c).height for c in COLOURS}
            row["left"] = {c: pairs.filter(pl.col("from") == c).height for c in COLOURS}
        out.append(row)
    return out
